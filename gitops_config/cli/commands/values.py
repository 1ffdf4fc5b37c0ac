"""`gitops-config get` and `explain`: read merged values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gitops_config import keypath
from gitops_config import values
from gitops_config import yaml_io
from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.explain import explain as explain_value
from gitops_config.masking import Masked
from gitops_config.masking import mask_value
from gitops_config.pipeline.fingerprint_key import derived_key
from gitops_config.pipeline.fingerprint_key import fingerprint_key
from gitops_config.project import open_project
from gitops_config.redact import Secret
from gitops_config.report.ansi import style


class _Shown:
    """How one command prints values: masked (with the fingerprint key of the keys at
    hand), or, with --decrypt, as they are."""

    def __init__(self, env: str, ref: str | None, *, decrypt: bool = False) -> None:
        source, project = open_project(Path.cwd(), ref)
        # Masked unless --decrypt, so a missing key is no reason to fail: what cannot be
        # decrypted stays sealed.
        run = options.run()
        self.values = values.merge(
            source,
            project,
            env,
            sealed=not decrypt,
            keys=run.keys,
            no_key_hint='drop --decrypt to print the secrets masked',
        )
        self.decrypt = decrypt
        self.key = None if decrypt else fingerprint_key(run) or derived_key(source, project, run)
        self.patterns = tuple(
            str(p) for p in (project.raw.get('secrets') or {}).get('key_patterns') or ()
        )

    def __call__(self, value: Any, name: object) -> Any:
        """VALUE, found under the mapping key NAME, ready to print."""
        if self.decrypt:
            return _revealed(value, Secret)
        return _as_text(mask_value(value, self.key, name=name, patterns=self.patterns), Masked)


def _revealed(value: Any, secret: type[Any]) -> Any:
    if isinstance(value, secret):
        plain = value.reveal()
        return plain.decode() if isinstance(plain, bytes) else plain
    if isinstance(value, dict):
        return {k: _revealed(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v, secret) for v in value]
    return value


def _as_text(value: Any, masked: type[Any]) -> Any:
    """VALUE with every mask as its text, for printing."""
    if isinstance(value, masked):
        return str(value)
    if isinstance(value, dict):
        return {k: _as_text(v, masked) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v, masked) for v in value]
    return value


def _name(path: tuple[Any, ...]) -> str | None:
    return next((s for s in reversed(path) if isinstance(s, str)), None)


@click.command('get')
@click.argument('env')
@click.argument('key_path', metavar='KEYPATH')
@options.ref
@options.output_format('text', 'json', 'yaml')
@click.option(
    '--decrypt', is_flag=True, help='Print secrets in plaintext (decrypted ones need their key).'
)
def get(*, env: str, key_path: str, ref: str | None, output_format: str, decrypt: bool) -> int:
    """Print the merged value of KEYPATH in ENV (a.b.c, a.list[0], a.list[name=x]).

    Secrets, decrypted or found in plaintext by the secrets rules, print as ****
    with a fingerprint, unless --decrypt."""
    shown = _Shown(env, ref, decrypt=decrypt)
    values = shown.values
    path = keypath.resolve(values.data, keypath.parse(key_path), where=f'{env}: ')
    value = shown(keypath.get(values.data, path), _name(path))
    if output_format == 'json':
        click.echo(yaml_io.to_json(value))
    elif output_format == 'yaml' or isinstance(value, (dict, list)):
        click.echo(yaml_io.to_yaml(value), nl=False)
    else:
        click.echo(
            'null'
            if value is None
            else yaml_io.to_json(value).strip('"')
            if isinstance(value, str)
            else yaml_io.to_json(value)
        )
    return exit_codes.OK


@click.command('explain')
@click.argument('env')
@click.argument('key_path', metavar='KEYPATH')
@options.ref
def explain(*, env: str, key_path: str, ref: str | None) -> int:
    """Show KEYPATH's final value in ENV, the file and line that set it, and what it
    overrode."""
    color = options.app().color
    masker = _Shown(env, ref)
    result = explain_value(masker.values, key_path)
    value = masker(result.value, _name(keypath.parse(result.path)))
    shown = (
        yaml_io.to_json(value)
        if not isinstance(value, (dict, list))
        else ('\n' + yaml_io.to_yaml(value).rstrip('\n'))
    )
    click.echo(f'{style(result.path, fg="cyan", use=color, bold=True)} = {shown}')
    click.echo(f'  set in     {style(str(result.location), fg="green", use=color)}')
    for old in result.overridden:
        click.echo(f'  overrides  {style(str(old), fg="grey", use=color)}')
    if result.leaves:
        click.echo('  leaves:')
        for leaf, where in result.leaves:
            click.echo(f'    {leaf}  {style(str(where), fg="grey", use=color)}')
    return exit_codes.OK
