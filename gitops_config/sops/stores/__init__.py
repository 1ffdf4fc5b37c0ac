"""One store per file format; each turns bytes into sops trees and back.

A store is chosen by extension, as sops does: .yaml/.yml, .json, .env, .ini,
and anything else is binary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import NamedTuple
from typing import cast

from gitops_config.sops.errors import NotEncryptedError
from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.stores import dotenv
from gitops_config.sops.stores import ini
from gitops_config.sops.stores import json_
from gitops_config.sops.stores import yaml_emit
from gitops_config.sops.stores import yaml_load
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import Value


class Store(NamedTuple):
    name: str
    load: Callable[[bytes, str], list[Branch]]
    emit: Callable[[list[Branch]], bytes]
    flat_metadata: str | None = None  # prefix of flattened metadata keys (dotenv, ini)


def _yaml_load(data: bytes, path: str) -> list[Branch]:
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise SopsFormatError(f'{path}: is not UTF-8 text') from None
    return yaml_load.load(text, path)


def _yaml_emit(docs: list[Branch]) -> bytes:
    return yaml_emit.emit(docs).encode('utf-8', 'surrogateescape')


def _json_load(data: bytes, path: str) -> list[Branch]:
    return json_.load(data, path)


def _json_emit(docs: list[Branch]) -> bytes:
    return json_.emit(docs)


def _dotenv_load(data: bytes, path: str) -> list[Branch]:
    return dotenv.load(data, path)


def _dotenv_emit(docs: list[Branch]) -> bytes:
    return dotenv.emit(docs)


def _ini_load(data: bytes, path: str) -> list[Branch]:
    return ini.load(data, path)


def _ini_emit(docs: list[Branch]) -> bytes:
    return ini.emit(docs)


def _binary_load(data: bytes, path: str) -> list[Branch]:
    return [Branch([('data', data)])]


def _binary_emit(docs: list[Branch]) -> bytes:
    value = docs[0].get('data')
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode('utf-8', 'surrogateescape')
    raise SopsFormatError('binary file without a string "data" value')


YAML = Store('yaml', _yaml_load, _yaml_emit)
JSON = Store('json', _json_load, _json_emit)
DOTENV = Store('dotenv', _dotenv_load, _dotenv_emit, 'sops_')
INI = Store('ini', _ini_load, _ini_emit, 'sops')
BINARY = Store('binary', _binary_load, _binary_emit)


def for_path(path: str) -> Store:
    lower = path.lower()
    if lower.endswith(('.yaml', '.yml')):
        return YAML
    if lower.endswith('.json'):
        return JSON
    if lower.endswith('.env'):
        return DOTENV
    if lower.endswith('.ini'):
        return INI
    return BINARY


def to_plain(value: Value) -> Any:
    """A Branch tree as plain dicts (metadata only; comments dropped)."""
    if isinstance(value, Branch):
        return {k: to_plain(v) for k, v in value if isinstance(k, str)}
    if isinstance(value, list):
        return [to_plain(v) for v in cast(list[Value], value) if not isinstance(v, Comment)]
    if isinstance(value, Timestamp):
        return value.text
    return value


def from_plain(value: Any) -> Value:
    if isinstance(value, dict):
        return Branch((k, from_plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    return value  # type: ignore[no-any-return]  # scalars pass through


def split_encrypted(store: Store, data: bytes, path: str) -> tuple[list[Branch], Any]:
    """Parse an encrypted file into its documents and its raw `sops` metadata."""
    docs = (JSON if store is BINARY else store).load(data, path)
    if store.flat_metadata is not None:
        return _split_flat(store, docs, path)
    meta = docs[0].get('sops') if docs else None
    if meta is None:
        raise NotEncryptedError(
            f'{path}: sops metadata not found', hint='the file is not encrypted with sops'
        )
    for doc in docs:
        doc[:] = [(k, v) for k, v in doc if k != 'sops']
    return docs, to_plain(meta)


def _split_flat(store: Store, docs: list[Branch], path: str) -> tuple[list[Branch], Any]:
    doc = docs[0]
    flat: dict[str, str] = {}
    if store is DOTENV:
        keep = []
        for k, v in doc:
            if isinstance(k, str) and k.startswith('sops_'):
                flat[k[5:]] = str(v)
            else:
                keep.append((k, v))
        doc[:] = keep
    else:
        section = doc.get('sops')
        if isinstance(section, Branch):
            flat = {k: str(v).replace('\\n', '\n') for k, v in section if isinstance(k, str)}
        doc[:] = [(k, v) for k, v in doc if k != 'sops']
    if not flat:
        raise NotEncryptedError(
            f'{path}: sops metadata not found', hint='the file is not encrypted with sops'
        )
    return docs, unflatten(flat)


def unflatten(flat: dict[str, str]) -> Any:
    root: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.replace('__list_', '\0L').replace('__map_', '\0M').split('\0')
        node: Any = root
        path = [('M', parts[0])] + [(p[0], p[1:]) for p in parts[1:]]
        for i, (kind, name) in enumerate(path):
            last = i == len(path) - 1
            nxt = path[i + 1][0] if not last else None
            fresh: Any = value if last else ([] if nxt == 'L' else {})
            if kind == 'M':
                if last:
                    node[name] = fresh
                node = node.setdefault(name, fresh)
            else:
                index = int(name)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None:
                    node[index] = fresh
                node = node[index]
    return root


def flatten(meta: dict[str, Any], prefix: str = '') -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in meta.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            out.update(flatten(value, f'{name}__map_'))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out.update(flatten(item, f'{name}__list_{i}__map_'))
                else:
                    out[f'{name}__list_{i}'] = _flat_text(item)
        else:
            out[name] = _flat_text(value)
    return out


def _flat_text(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def join_encrypted(store: Store, docs: list[Branch], meta: dict[str, Any]) -> bytes:
    if store is BINARY:
        docs = [Branch([*docs[0], ('sops', from_plain(meta))])]
        return JSON.emit(docs)
    if store is DOTENV:
        flat = flatten(meta)
        doc = Branch([*docs[0], *((f'sops_{k}', v) for k, v in flat.items())])
        return store.emit([doc])
    if store is INI:
        flat = {k: v.replace('\n', '\\n') for k, v in sorted(flatten(meta).items())}
        doc = Branch([*docs[0], ('sops', Branch(flat.items()))])
        return store.emit([doc])
    return store.emit([Branch([*d, ('sops', from_plain(meta))]) for d in docs])
