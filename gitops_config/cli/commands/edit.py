"""`gitops-config set` and `unset`: edit one layer file in place, minimally."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

import click

from gitops_config import keypath
from gitops_config import yaml_io
from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.errors import UsageError
from gitops_config.masking import mask_value

if TYPE_CHECKING:
    from gitops_config.layer_edit import Result
    from gitops_config.layer_edit.value import Mode

F = TypeVar('F', bound=Callable[..., Any])


def value_options(command: F) -> F:
    """--string and --yaml: how VALUE is read (shared with `secrets set`)."""
    command = click.option(
        '--yaml',
        'as_yaml',
        is_flag=True,
        help='Read VALUE as YAML whatever it replaces (may change its type).',
    )(command)
    return click.option(
        '--string', 'as_string', is_flag=True, help='Take VALUE as a string whatever it replaces.'
    )(command)


def value_mode(*, as_string: bool, as_yaml: bool) -> Mode:
    if as_string and as_yaml:
        raise UsageError('choose one of --string and --yaml')
    return 'string' if as_string else 'yaml' if as_yaml else 'auto'


@click.command('set')
@click.argument('file', type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument('key_path', metavar='KEYPATH')
@click.argument('value')
@value_options
def set_(*, file: Path, key_path: str, value: str, as_string: bool, as_yaml: bool) -> int:
    """Set KEYPATH to VALUE in the layer FILE, and nothing else.

    KEYPATH names what `get` names in the environments that read FILE. VALUE keeps the
    type of the value it replaces (a new key reads it as YAML). Comments, quoting, key
    order and line endings stay as they were. Examples:

    \b
      gitops-config set values/prod.yaml app.replicas 4
      gitops-config set values/staging.yaml \\
        'model_list[model_info.id=openai-gpt-4o].litellm_params.rpm' 77
    """
    # lazy: filelock loads only when set_() runs (start-up)
    from gitops_config import layer_edit

    result = layer_edit.set_value(
        file,
        key_path,
        value,
        mode=value_mode(as_string=as_string, as_yaml=as_yaml),
        keys=options.run().keys,
    )
    report(result)
    return exit_codes.OK


@click.command('unset')
@click.argument('file', type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument('key_path', metavar='KEYPATH')
def unset(*, file: Path, key_path: str) -> int:
    """Remove FILE's own KEYPATH, so the layers below decide it again; where only a
    layer below sets it, write `!delete`. Prints what each environment gets now.

    \b
      gitops-config unset values/prod.yaml app.replicas
    """
    # lazy: filelock loads only when unset() runs (start-up)
    from gitops_config import layer_edit

    report(layer_edit.unset_value(file, key_path, keys=options.run().keys))
    return exit_codes.OK


def report(result: Result, *, secret: bool = False) -> None:
    """What the edit did, and where a later layer decides the value instead (stderr)."""
    # lazy: filelock loads only when report() runs (start-up)
    from gitops_config.layer_edit import MISSING

    file, key = result.file, result.key_path
    changed = [e.env for e in result.envs if e.state == 'changed']
    envs = f' (in {", ".join(changed)})' if changed and result.action == 'set' else ''
    if result.action == 'set':
        click.echo(
            f'{file}: set {key} = {"****" if secret else _shown(result.value, key)}{envs}', err=True
        )
    elif result.action == 'removed':
        click.echo(f'{file}: removed {key}', err=True)
    else:
        click.echo(f'{file}: deleted {key} (wrote !delete: a layer below sets it)', err=True)
    if not result.layer and result.in_project:
        click.echo(
            f'note: no environment reads {file} as a layer: edited as plain YAML, '
            'without checking the merged values',
            err=True,
        )
    for env in result.envs:
        if env.state == 'hidden':
            click.echo(
                f'warning: {env.env}: {env.by} replaces what holds {env.path}, so '
                f'{env.env} does not see this edit',
                err=True,
            )
        elif env.state == 'overridden':
            keeps = 'no value' if env.now is MISSING else _shown(env.now, key)
            click.echo(
                f'warning: {env.env}: {env.by} sets {env.path} after {file}; '
                f'{env.env} keeps {keeps}',
                err=True,
            )
        elif result.action != 'set':
            now = (
                'no longer set'
                if env.now is MISSING
                else (f'now {_shown(env.now, key)} (from {env.origin})')
            )
            click.echo(f'  {env.env}: {env.path} is {now}', err=True)


def _shown(value: Any, key_path: str) -> str:
    """VALUE on one line, every secret in it masked (a plaintext one too, by the name it
    is set under)."""
    name = next((s for s in reversed(keypath.parse(key_path)) if isinstance(s, str)), None)
    text = yaml_io.to_json(mask_value(value, None, name=name), indent=None)
    return text if len(text) <= 60 else text[:56] + ' ...' + text[-1]
