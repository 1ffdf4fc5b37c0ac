"""How a change reaches a layer file's bytes: spliced into plain YAML (comments and
layout kept), or re-encrypted into a SOPS file (every other value keeps its ciphertext)."""

from __future__ import annotations

from typing import Any
from typing import Protocol

from gitops_config import sops
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.layer_edit.plan import REMOVE
from gitops_config.layer_edit.plan import CannotEditError
from gitops_config.layer_edit.plan import Change
from gitops_config.layer_edit.value import has_tag
from gitops_config.model import Location
from gitops_config.sops import ops
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.yaml_io import edit


class EncryptedLayerError(GitopsConfigError):
    code = 'encrypted-layer'


class LayerFormat(Protocol):
    encrypted: bool

    def read(self, data: bytes, where: str, keys: KeyRing) -> Any:
        """The file's data (opened with KEYS), or an error when the file is not of this
        format."""

    def apply(self, data: bytes, change: Change, where: str, keys: KeyRing) -> bytes: ...

    def reveal(self, value: Any) -> Any:
        """A leaf's plain value, for `set` to keep its type."""


class PlainYaml:
    encrypted = False

    def read(self, data: bytes, where: str, keys: KeyRing) -> Any:
        if sops.is_encrypted(data):
            raise EncryptedLayerError(
                'the file is SOPS-encrypted',
                location=Location(where),
                hint=f'use `gitops-config secrets set {where} KEYPATH VALUE`',
            )
        return yaml_io.load(_text(data, where), where)

    def apply(self, data: bytes, change: Change, where: str, keys: KeyRing) -> bytes:
        text = _text(data, where)
        if change.value is REMOVE:
            new = edit.delete_value(text, change.path, where=where)
        else:
            new = edit.set_value(text, change.path, change.value, where=where)
        yaml_io.load(new, where)  # never write a file we cannot read back
        return new.encode()

    def reveal(self, value: Any) -> Any:
        return value


class Sops:
    encrypted = True

    def read(self, data: bytes, where: str, keys: KeyRing) -> Any:
        if not sops.is_encrypted(data):
            raise sops.NotEncryptedError(
                f'{where}: sops metadata not found',
                hint=f'use `gitops-config set {where} KEYPATH VALUE`,'
                ' or encrypt it with `secrets encrypt -i`',
            )
        return sops.open_values(data, where, sealed=False, ring=keys)

    def apply(self, data: bytes, change: Change, where: str, keys: KeyRing) -> bytes:
        if change.value is REMOVE or has_tag(change.value):
            raise CannotEditError(
                f'{where}: an encrypted layer holds values only; this edit '
                'needs a `!delete` or a removal',
                hint='edit the file with `gitops-config secrets edit`',
            )
        return ops.set_at(data, where, change.path, change.value, ring=keys)

    def reveal(self, value: Any) -> Any:
        return ops.revealed(value)


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise GitopsConfigError(f'{where}: not UTF-8 text', location=Location(where)) from None
