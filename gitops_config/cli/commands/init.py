"""`gitops-config init [DIR]`."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_config.cli import exit_codes
from gitops_config.scaffold import init as scaffold


@click.command('init')
@click.argument('directory', type=click.Path(file_okay=False, path_type=Path), default='.')
def init(*, directory: Path) -> int:
    """Scaffold a config repository in DIRECTORY: project file, one layer per
    environment, one template, .gitignore."""
    for path in scaffold(directory):
        click.echo(path.as_posix())
    click.echo(f'next: cd {directory} && gitops-config render', err=True)
    return exit_codes.OK
