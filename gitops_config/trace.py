"""Which values a template reads, recorded by the sandbox's own hooks.

Templates get the plain dicts and lists of the values. Every container of
them is known by identity (Index), so the sandbox (sandbox/) can tell
where a container it sees lives: reading a child through `a.b` or `a['b']`
records nothing but the walk, while anything that uses a container as a whole
(iterating, printing, measuring, comparing, handing it to a filter or a call)
and every scalar read records that path. The recorded paths, each with a hash
of the value there, are exactly what the output depends on: when they all
hash the same, the output is the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from gitops_config.incremental import data as cache_data
from gitops_config.model import NodePath
from gitops_config.redact import walk_secrets
from gitops_config.taint import NONE
from gitops_config.taint import TAINTED

# What a path held: a scalar exactly (incremental.data.token), a container as the hash of that,
# MISSING when there was nothing.
Token = bytes
MISSING = b'missing'
_ABSENT = object()
_SCALARS = (str, int, float, bool, type(None))
EVERYTHING: NodePath = ()  # a path that holds every other: the output depends on all values


class Recorder:
    """What one render read: whole values, and lookups that found nothing."""

    __slots__ = ('missing', 'whole')

    def __init__(self) -> None:
        self.whole: set[NodePath] = set()
        self.missing: set[NodePath] = set()


class Index:
    """Where each container of one environment's values is (a YAML alias can put one
    at several paths), and how much of a secret it holds (taint.NONE, OPEN, SEALED)."""

    __slots__ = ('levels', 'paths')

    def __init__(self, root: Any) -> None:
        self.paths: dict[int, tuple[NodePath, ...]] = {}
        self.levels: dict[int, int] = {}  # only containers that hold a secret
        self._walk(root, ())

    def _walk(self, node: Any, path: NodePath) -> int:
        key = id(node)
        known = self.paths.get(key)
        # a container met again (an alias) is walked again: its children are there too
        self.paths[key] = (path,) if known is None else (*known, path)
        level = NONE
        children = node.items() if type(node) is dict else enumerate(node)
        for step, child in children:
            kind = type(child)
            if kind is dict or kind is list:
                level |= self._walk(child, (*path, step))
            elif kind in TAINTED:
                level |= child.level
        if level:
            self.levels[key] = level
        return level


class Context(dict[str, Any]):
    """A template's top-level names: looking one up records it (or that it is
    missing), unless it is a container (Index knows it; what is done with it is
    recorded). `env`, `values` and Jinja's globals are not values, and are not
    recorded."""

    def __init__(
        self,
        values: dict[str, Any],
        fixed: Mapping[str, Any],
        rec: Recorder,
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
        value = dict.__getitem__(self, key)
        kind = type(value)
        if kind is not dict and kind is not list:
            self._rec.whole.add((key,))
        return value

    def get(self, key: str, default: Any = None) -> Any:
        if not self.__contains__(key):
            return default
        return self.__getitem__(key)

    def _everything(self) -> None:
        # Jinja copies the context (an include, a block): what is read from the copy,
        # or missing from it, is not seen here
        self._rec.whole.add(EVERYTHING)

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
        self._memo: dict[NodePath, Token | None] = {}
        self._nodes: dict[NodePath, Any] = {}
        self._secrets: list[NodePath] = []
        if secrets:
            self._secrets = [path for path, _ in walk_secrets(data)]  # where they are, once

    def _node(self, path: NodePath) -> Any:
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

    def _holds_secret(self, path: NodePath) -> bool:
        if not self._secrets:
            return False
        n = len(path)
        return any(secret[:n] == path for secret in self._secrets)

    def digest(self, path: NodePath) -> Token | None:
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


def dependencies(rec: Recorder, hasher: Hasher) -> list[tuple[NodePath, Token]] | None:
    """The recorded paths with their hashes; None when any of them holds a secret."""
    deps = []
    for path in sorted(rec.whole | rec.missing, key=repr):
        digest = hasher.digest(path)
        if digest is None:
            return None
        deps.append((path, digest))
    return deps


def still_valid(deps: list[tuple[NodePath, Token]], hasher: Hasher) -> bool:
    digest = hasher.digest
    return all(digest(path) == token for path, token in deps)
