"""Edit one layer file in place: parse KEYPATH, splice the change, write atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitops_config import keypath
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import atomic_write
from gitops_config.fsutil import read_file
from gitops_config.model import Location
from gitops_config.yaml_io import edit


class EncryptedLayerError(GitopsConfigError):
    code = 'encrypted-layer'


def _read(file: Path) -> tuple[str, Any]:
    raw = read_file(file)  # never through a symlink the repository holds
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise GitopsConfigError(f'{file}: not UTF-8 text', location=Location(str(file))) from None
    data = yaml_io.load(text, str(file))
    if isinstance(data, dict) and isinstance(data.get('sops'), dict):
        raise EncryptedLayerError(f'{file} is SOPS-encrypted', location=Location(str(file)),
                                  hint=f'use `gitops-config secrets set {file} KEYPATH VALUE`')
    return text, data


def _concrete(data: Any, steps: tuple[keypath.Step, ...], file: Path) -> keypath.Path:
    """The concrete path: existing prefix resolved (selectors too), the rest as keys."""
    done: list[str | int] = []
    node = data
    for i, step in enumerate(steps):
        try:
            done = list(keypath.resolve(data, steps[:i + 1], where=f'{file}: '))
            node = keypath.get(data, done)
        except keypath.KeyPathError:
            if isinstance(step, keypath.Select) or not isinstance(node, (dict, list, type(None))):
                raise
            return (*done, *(s for s in steps[i:] if not isinstance(s, keypath.Select)))
    return tuple(done)


def set_in_file(file: Path, key_path: str, value: str, *, as_string: bool = False) -> None:
    text, data = _read(file)
    parsed: Any = value if as_string else yaml_io.load(value, '<VALUE>')
    path = _concrete(data or {}, keypath.parse(key_path), file)
    new = edit.set_value(text, path, parsed, where=str(file))
    yaml_io.load(new, str(file))  # never write a file we cannot read back
    atomic_write(file, new.encode())


def unset_in_file(file: Path, key_path: str) -> None:
    text, data = _read(file)
    path = keypath.resolve(data or {}, keypath.parse(key_path), where=f'{file}: ')
    new = edit.delete_value(text, path, where=str(file))
    yaml_io.load(new, str(file))
    atomic_write(file, new.encode())
