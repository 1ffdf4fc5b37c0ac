"""Which values a template reads: read-only views that record every access.

A template reaches values only through its context. Containers in the context
are wrapped in views: reading a child through `a.b` or `a['b']` records
nothing but the walk, while anything that uses a container as a whole
(iterating, printing, measuring, comparing, handing it to a filter) and every
scalar read records that path. The recorded paths, each with a hash of the
value there, are exactly what the output depends on: when they all hash the
same, the output is the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from gitops_config import cache_data
from gitops_config.redact import walk_secrets

Path = tuple[str | int, ...]
# What a path held: a scalar exactly (cache_data.token), a container as the hash of that,
# MISSING when there was nothing.
Token = bytes
MISSING = b'missing'
_ABSENT = object()
_SCALARS = (str, int, float, bool, type(None))


class Recorder:
    """What one render read: whole values, and lookups that found nothing."""

    __slots__ = ('missing', 'whole')

    def __init__(self) -> None:
        self.whole: set[Path] = set()
        self.missing: set[Path] = set()


def wrap(value: Any, path: Path, rec: Recorder) -> Any:
    if isinstance(value, dict):
        return TrackedMap(value, path, rec)
    if isinstance(value, list):
        return TrackedList(value, path, rec)
    rec.whole.add(path)
    return value


def unwrap(value: Any) -> Any:
    """The plain value behind a view (recording that it is used whole)."""
    if isinstance(value, _View):
        return value._whole()
    return value


def deep_unwrap(value: Any) -> Any:
    """VALUE with every view inside it replaced by its plain value, as filters that
    serialise (to_yaml, to_json) need."""
    if isinstance(value, _View):
        return unwrap(value)
    if isinstance(value, dict):
        return {k: deep_unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [deep_unwrap(v) for v in value]
    return value


class _View:
    """What both views share: any use of the container as a whole is recorded."""

    __slots__ = ('_data', '_path', '_rec')
    _data: Any

    def __init__(self, data: Any, path: Path, rec: Recorder) -> None:
        self._data = data
        self._path = path
        self._rec = rec

    def _whole(self) -> Any:
        self._rec.whole.add(self._path)
        return self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())

    def __contains__(self, item: object) -> bool:
        return item in self._whole()

    def __eq__(self, other: object) -> bool:
        return bool(self._whole() == unwrap(other))

    __hash__ = None  # type: ignore[assignment]  # like the dict or list it stands for

    def __str__(self) -> str:
        return str(self._whole())

    def __repr__(self) -> str:
        return repr(self._whole())


class TrackedMap(_View, Mapping[Any, Any]):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        try:
            value = self._data[key]
        except (KeyError, TypeError):
            self._rec.missing.add((*self._path, key))
            raise
        return wrap(value, (*self._path, key), self._rec)


class TrackedList(_View, Sequence[Any]):
    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int) and not isinstance(index, bool) and (
                0 <= index < len(self._data)):
            return wrap(self._data[index], (*self._path, index), self._rec)
        # x[-1], an index out of range and slices all depend on the length
        return self._whole()[index]


class Context(dict[str, Any]):
    """A template's top-level names: looking one up records it (or that it is
    missing); containers come back as views. `env`, `values` and Jinja's globals
    are not values, and are not recorded."""

    def __init__(self, values: dict[str, Any], fixed: Mapping[str, Any], rec: Recorder,
                 ) -> None:
        super().__init__(values)
        self._fixed = fixed
        self._rec = rec

    def __contains__(self, key: object) -> bool:
        if key in self._fixed or dict.__contains__(self, key):
            return True
        if isinstance(key, str):
            self._rec.missing.add((key,))
        return False

    def __getitem__(self, key: str) -> Any:
        if key in self._fixed:
            return self._fixed[key]
        return wrap(dict.__getitem__(self, key), (key,), self._rec)

    def get(self, key: str, default: Any = None) -> Any:
        if not self.__contains__(key):
            return default
        return self.__getitem__(key)

    def _everything(self) -> None:
        self._rec.whole.update((k,) for k in dict.keys(self))

    def keys(self) -> Any:
        self._everything()
        return [*dict.keys(self), *self._fixed]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def items(self) -> Any:
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> Any:
        return [self[k] for k in self.keys()]


class Hasher:
    """Hashes of the values at paths of one environment's (unrevealed) values."""

    def __init__(self, data: Any, *, secrets: bool = True) -> None:
        """SECRETS=False promises that DATA holds no secret (no encrypted layer)."""
        self._data = data
        self._memo: dict[Path, Token | None] = {}
        self._nodes: dict[Path, Any] = {}
        self._secrets: list[Path] = []
        if secrets:
            self._secrets = [path for path, _ in walk_secrets(data)]  # where they are, once

    def _node(self, path: Path) -> Any:
        """The value at PATH, found from its parent's (paths share long prefixes)."""
        try:
            return self._nodes[path]
        except KeyError:
            pass
        if not path:
            return self._data
        parent = self._node(path[:-1])
        try:
            node = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            node = _ABSENT
        self._nodes[path] = node
        return node

    def _holds_secret(self, path: Path) -> bool:
        if not self._secrets:
            return False
        n = len(path)
        return any(secret[:n] == path for secret in self._secrets)

    def digest(self, path: Path) -> Token | None:
        """What the path holds, MISSING when nothing is there, None when it holds a
        secret (a secret's plaintext, or a hash of it, never goes to the cache)."""
        try:
            return self._memo[path]
        except KeyError:
            pass
        node = self._node(path)
        if node is _ABSENT:
            self._memo[path] = MISSING
            return MISSING
        result: Token | None
        if isinstance(node, _SCALARS):
            result = cache_data.token(node)  # 1, 1.0 and True, 0.0 and -0.0 differ in YAML
        elif self._holds_secret(path):
            result = None
        else:
            exact = cache_data.token(node)
            result = hashlib.sha256(exact).digest() if exact is not None else None
        self._memo[path] = result
        return result



def dependencies(rec: Recorder, hasher: Hasher) -> list[tuple[Path, Token]] | None:
    """The recorded paths with their hashes; None when any of them holds a secret."""
    deps = []
    for path in sorted(rec.whole | rec.missing, key=repr):
        digest = hasher.digest(path)
        if digest is None:
            return None
        deps.append((path, digest))
    return deps


def still_valid(deps: list[tuple[Path, Token]], hasher: Hasher) -> bool:
    digest = hasher.digest
    return all(digest(path) == token for path, token in deps)


# Jinja names an object's type in its messages ("'list object' has no attribute
# 'append'"); a user should read the same words as for the plain value.
for _view, _plain in ((TrackedMap, dict), (TrackedList, list)):
    _view.__module__ = 'builtins'
    _view.__name__ = _view.__qualname__ = _plain.__name__
