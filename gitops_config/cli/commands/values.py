"""`gitops-config get` and `explain`: read merged values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.cli.output import style


def _values(env: str, ref: str | None) -> Any:
    """ENV's merged values. Secrets are only ever shown masked here, so a missing
    key is no reason to fail: what cannot be decrypted stays sealed."""
    from gitops_config import values
    from gitops_config.workspace import open_project

    source, project = open_project(Path.cwd(), ref)
    return values.merge(source, project, env, sealed=True)


def _masked(value: Any) -> Any:
    """VALUE with every secret shown as its mask, for printing."""
    from gitops_config.redact import SealedSecret
    from gitops_config.redact import Secret

    if isinstance(value, (Secret, SealedSecret)):
        return str(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


@click.command('get')
@click.argument('env')
@click.argument('key_path', metavar='KEYPATH')
@options.ref
@options.output_format('text', 'json', 'yaml')
def get(*, env: str, key_path: str, ref: str | None, output_format: str) -> int:
    """Print the merged value of KEYPATH in ENV (a.b.c, a.list[0], a.list[name=x]).
    Secrets print as ****."""
    from gitops_config import keypath
    from gitops_config import yaml_io

    values = _values(env, ref)
    path = keypath.resolve(values.data, keypath.parse(key_path), where=f'{env}: ')
    value = _masked(keypath.get(values.data, path))
    if output_format == 'json':
        click.echo(yaml_io.to_json(value))
    elif output_format == 'yaml' or isinstance(value, (dict, list)):
        click.echo(yaml_io.to_yaml(value), nl=False)
    else:
        click.echo('null' if value is None else yaml_io.to_json(value).strip('"')
                   if isinstance(value, str) else yaml_io.to_json(value))
    return exit_codes.OK


@click.command('explain')
@click.argument('env')
@click.argument('key_path', metavar='KEYPATH')
@options.ref
def explain(*, env: str, key_path: str, ref: str | None) -> int:
    """Show KEYPATH's final value in ENV, the file and line that set it, and what it
    overrode."""
    from gitops_config import yaml_io
    from gitops_config.explain import explain as explain_value

    color = options.app().color
    result = explain_value(_values(env, ref), key_path)
    value = _masked(result.value)
    shown = yaml_io.to_json(value) if not isinstance(value, (dict, list)) else (
        '\n' + yaml_io.to_yaml(value).rstrip('\n'))
    click.echo(f'{style(result.path, fg="cyan", use=color, bold=True)} = {shown}')
    click.echo(f'  set in     {style(str(result.location), fg="green", use=color)}')
    for old in result.overridden:
        click.echo(f'  overrides  {style(str(old), fg="grey", use=color)}')
    if result.leaves:
        click.echo('  leaves:')
        for leaf, where in result.leaves:
            click.echo(f'    {leaf}  {style(str(where), fg="grey", use=color)}')
    return exit_codes.OK
