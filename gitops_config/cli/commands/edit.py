"""`gitops-config set` and `unset`: edit one layer file in place, minimally."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_config.cli import exit_codes


@click.command('set')
@click.argument('file', type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument('key_path', metavar='KEYPATH')
@click.argument('value')
@click.option('--string', 'as_string', is_flag=True, help='Take VALUE as a string, not YAML.')
def set_(*, file: Path, key_path: str, value: str, as_string: bool) -> int:
    """Set KEYPATH to VALUE in FILE. VALUE is parsed as YAML (`--string` to keep it a
    string); comments, quoting, key order and line endings stay as they were."""
    from gitops_config import layer_edit

    layer_edit.set_in_file(file, key_path, value, as_string=as_string)
    click.echo(f'{file}: set {key_path}', err=True)
    return exit_codes.OK


@click.command('unset')
@click.argument('file', type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument('key_path', metavar='KEYPATH')
def unset(*, file: Path, key_path: str) -> int:
    """Remove KEYPATH from FILE, leaving every other line as it was."""
    from gitops_config import layer_edit

    layer_edit.unset_in_file(file, key_path)
    click.echo(f'{file}: removed {key_path}', err=True)
    return exit_codes.OK
