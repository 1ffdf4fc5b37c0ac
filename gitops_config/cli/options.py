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
    ctx = click.get_current_context()
    found = ctx.find_object(App)
    if found is None:  # a command invoked on its own (a test): a run of the environment
        found = ctx.obj = App(color=False, debug=False, run=Run.from_environment())
        ctx.call_on_close(found.run.finish)
    return found


def run() -> Run:
    """The command's run: its cache, shard, keys and clock (see gitops_config.run)."""
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
    """--jobs N, which goes into the command's run (options.run().jobs), as --shard does."""

    def into_run(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
        if value is not None:
            run().jobs = value

    return click.option(
        '--jobs',
        '-j',
        'jobs',
        type=click.IntRange(min=1),
        default=None,
        expose_value=False,
        callback=into_run,
        metavar='N',
        help='Worker processes (default: one per core); results are identical for any N.',
    )(func)


def shard(func: F) -> F:
    """--shard I/N, which goes into the command's run (options.run().shard), not into
    its arguments: everything below the command takes its share from the run."""

    def into_run(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is None:
            return
        try:
            # the group made the run before this command's options were parsed
            run().shard = shard_mod.parse(value)
        except UsageError as exc:
            raise click.BadParameter(f'{exc.message} ({exc.hint})') from None

    return click.option(
        '--shard',
        'shard',
        metavar='I/N',
        default=None,
        expose_value=False,
        callback=into_run,
        help='Do a deterministic 1/N of the work (CI matrix job I of N).',
    )(func)
