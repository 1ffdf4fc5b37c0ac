"""The `gitops-config` group: global options, lazy subcommands, one error boundary."""

from __future__ import annotations

import gc
import importlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from gitops_config import __version__
from gitops_config.cli import examples
from gitops_config.cli import exit_codes
from gitops_config.cli.boundary import Exit
from gitops_config.cli.boundary import error_boundary
from gitops_config.cli.output import ColorMode
from gitops_config.cli.output import use_color

if TYPE_CHECKING:
    from gitops_config.run import Run

# name -> (module:attribute, one-line help). The help lives here so that
# `gitops-config --help` lists every command without importing any of them.
COMMANDS: dict[str, tuple[str, str]] = {
    'render': (
        'gitops_config.cli.commands.render:render',
        'Render templates for each environment.',
    ),
    'get': ('gitops_config.cli.commands.values:get', 'Print the merged value at KEYPATH.'),
    'explain': (
        'gitops_config.cli.commands.values:explain',
        'Show where a merged value came from and what it overrode.',
    ),
    'set': ('gitops_config.cli.commands.edit:set_', 'Set KEYPATH in one layer file, in place.'),
    'unset': (
        'gitops_config.cli.commands.edit:unset',
        'Remove KEYPATH from one layer file, in place.',
    ),
    'init': ('gitops_config.cli.commands.init:init', 'Scaffold a new config repository.'),
    'secrets': (
        'gitops_config.cli.commands.secrets:secrets',
        'Encrypt, decrypt, edit and rotate SOPS secrets.',
    ),
    'validate': (
        'gitops_config.cli.commands.validate:validate',
        'Check values and rendered files against schemas and policies.',
    ),
    'policy': ('gitops_config.cli.commands.policy:policy', 'Work with policy rule files.'),
    'hook': ('gitops_config.cli.commands.hook:hook', 'Entry points for pre-commit hooks.'),
    'diff': (
        'gitops_config.cli.commands.diff:diff',
        'Semantic diff of the rendered result of two revisions.',
    ),
    'history': (
        'gitops_config.cli.commands.history:history',
        'Each commit that changed the rendered value of a key.',
    ),
    'promote': (
        'gitops_config.cli.commands.promote:promote',
        'Promote changes from one environment to the next.',
    ),
    'status': (
        'gitops_config.cli.commands.promote:status',
        'What is waiting to be promoted between environments.',
    ),
    'drift': (
        'gitops_config.cli.commands.drift:drift',
        'Compare desired state with the live state.',
    ),
    'mark-deployed': (
        'gitops_config.cli.commands.drift:mark_deployed',
        'Record the commit deployed to an environment.',
    ),
    'action': (
        'gitops_config.cli.commands.action:action',
        'Steps of the GitHub Action (PR comment, job summary).',
    ),
    'report': ('gitops_config.cli.commands.report:report', 'Combine sharded JSON reports.'),
    'cache': ('gitops_config.cli.commands.cache:cache', 'Inspect or clear the on-disk cache.'),
}


@dataclass(frozen=True, slots=True)
class App:
    """Global options, decided once and handed to every command, with the command's run
    (gitops_config.run): the cache, keys and clock its work depends on."""

    color: bool
    debug: bool
    run: Run


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(':')
        module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attr)
        examples.attach(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section('Commands'):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        # Runs before the group's callback has made the App: read the parsed flag.
        debug = bool(ctx.params.get('debug'))
        try:
            with error_boundary(debug=debug):
                rv = super().invoke(ctx)
        except Exit as exc:
            ctx.exit(exc.code)
        ctx.exit(rv if isinstance(rv, int) else exit_codes.OK)


@click.group(
    cls=LazyGroup,
    epilog=f'{examples.block("")}\n\n{exit_codes.HELP}',
    context_settings={'help_option_names': ['-h', '--help']},
)
@click.version_option(__version__, prog_name='gitops-config')
@click.option(
    '-C',
    'directory',
    type=click.Path(file_okay=False, exists=True),
    help='Run as if started in DIR (like git -C).',
)
@click.option(
    '--color',
    type=click.Choice(['auto', 'always', 'never']),
    default='auto',
    show_default=True,
    help='Colour output; NO_COLOR is honoured.',
)
@click.option(
    '--debug',
    is_flag=True,
    help='Also show the traceback of an error (the exit code stays the same).',
)
@click.option(
    '--no-cache',
    is_flag=True,
    help='Neither read nor write the on-disk cache (GITOPS_CONFIG_NO_CACHE=1).',
)
@click.pass_context
def cli(
    ctx: click.Context, *, directory: str | None, color: ColorMode, debug: bool, no_cache: bool
) -> None:
    """Configuration as code in Git: render, validate, encrypt and diff."""
    if directory is not None:
        os.chdir(directory)
    logging.basicConfig(format='warning: %(message)s', level=logging.WARNING)
    # lazy: PyYAML loads only when cli() runs (start-up)
    from gitops_config.masking import MaskingFilter

    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
    # imported here: `--help` needs no run (the cache and key modules cost its start-up)
    from gitops_config.run import Run

    ctx.obj = App(color=use_color(color), debug=debug, run=Run.from_environment(cache=not no_cache))
    ctx.call_on_close(ctx.obj.run.finish)  # what the run kept, written once it is over
    # click.echo strips colour codes whenever stdout is not a terminal; --color always
    # (e.g. piped into `less -R`) must keep them
    ctx.color = ctx.obj.color


def main(argv: Sequence[str] | None = None) -> int:
    # One run holds every environment's values, files and documents at once: the
    # cycle collector would walk that whole graph again and again (a third of the
    # time of a large diff) to find the little it could free before we exit anyway.
    # Forked workers inherit the setting, so they do not touch (copy) every page.
    collecting = gc.isenabled()
    gc.disable()
    try:
        rv = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name='gitops-config',
            standalone_mode=False,
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo('interrupted', err=True)
        return exit_codes.INTERRUPTED
    finally:
        if collecting:
            gc.enable()
    return rv if isinstance(rv, int) else exit_codes.OK
