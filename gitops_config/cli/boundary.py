"""The one place that turns exceptions into messages and exit codes."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator

import click

from gitops_config.cli import exit_codes
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import LibyamlMissingError


class Exit(Exception):
    """Carries a command's exit code out through click."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def mask_text(text: str) -> str:
    try:
        # only on the way out: masking loads PyYAML, which --help and the common path skip
        from gitops_config import masking
    except LibyamlMissingError:
        return text  # masking never loaded, so no secret was ever read to mask
    return masking.mask_text(text)


def format_error(exc: GitopsConfigError) -> str:
    line = f'error: {exc.code}: {mask_text(exc.one_line())}'
    if exc.hint:
        line += f'\n  hint: {mask_text(exc.hint)}'
    return line


@contextlib.contextmanager
def error_boundary(*, debug: bool) -> Iterator[None]:
    """Every exception as one line and its exit code; DEBUG adds the traceback above
    the line and changes nothing else."""
    try:
        yield
    except (click.exceptions.Exit, click.ClickException, click.Abort, Exit):
        raise
    except GitopsConfigError as exc:
        _traceback(debug)
        click.echo(format_error(exc), err=True)
        raise Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _traceback(debug)
        click.echo('interrupted', err=True)
        raise Exit(exit_codes.INTERRUPTED) from None
    except BrokenPipeError:
        raise Exit(exit_codes.OK) from None
    except Exception as exc:
        _traceback(debug)
        click.echo(
            f'error: internal-error: {type(exc).__name__}: {mask_text(str(exc))}\n'
            '  hint: this is a bug in gitops-config; rerun with --debug for the traceback '
            'and report it',
            err=True,
        )
        raise Exit(exit_codes.INTERNAL) from None


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)
