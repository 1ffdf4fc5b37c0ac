"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from gitops_config import shard as shard_mod
from gitops_config.cli.main import App
from gitops_config.errors import UsageError
from gitops_config.run import Run

F = TypeVar('F', bound=Callable[..., object])


def app() -> App:
    found = click.get_current_context().find_object(App)
    if found is None:  # a command invoked on its own (a test): a run of the environment
        found = App(color=False, debug=False, run=Run.from_environment())
    return found


def run() -> Run:
    """The command's run: its cache, keys and clock (see gitops_config.run)."""
    return app().run


def environments(func: F) -> F:
    return click.option(
        '--env',
        '-e',
        'envs',
        multiple=True,
        metavar='ENV',
        help='Only this environment (repeatable); default: all.',
    )(func)


def ref(func: F) -> F:
    return click.option(
        '--ref',
        'ref',
        metavar='REV',
        default=None,
        help='Read the repository at this commit, from git objects (no checkout).',
    )(func)


def output_format(*choices: str, default: str = 'text') -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            '--format',
            '-f',
            'output_format',
            type=click.Choice(list(choices)),
            default=default,
            show_default=True,
            help='Output format.',
        )(func)

    return decorate


def jobs(func: F) -> F:
    return click.option(
        '--jobs',
        '-j',
        'jobs',
        type=click.IntRange(min=1),
        default=None,
        metavar='N',
        help='Worker processes (default: one per core); results are identical for any N.',
    )(func)


def shard(func: F) -> F:
    def convert(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
        if value is None:
            return None

        try:
            return shard_mod.parse(value)
        except UsageError as exc:
            raise click.BadParameter(f'{exc.message} ({exc.hint})') from None

    return click.option(
        '--shard',
        'shard',
        metavar='I/N',
        default=None,
        callback=convert,
        help='Do a deterministic 1/N of the work (CI matrix job I of N).',
    )(func)
