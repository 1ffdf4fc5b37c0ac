"""What a template's output depends on, as a kept output's trace holds it.

The sandbox records which value paths a render read (trace.Recorder); here each
of those paths gets a hash of the value there. When they all hash the same, the
output is the same (renders.py reuses it). A path that holds a secret has no
hash: a secret's plaintext, or a hash of it, never goes to the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from gitops_config.incremental import data
from gitops_config.model import NodePath
from gitops_config.render import Prepared
from gitops_config.taint import TAINTED
from gitops_config.trace import Recorder

# What a path held: a scalar exactly (data.token), a container as the hash of that,
# MISSING when there was nothing.
Token = bytes
MISSING = b'missing'
_ABSENT = object()
_SCALARS = (str, int, float, bool, type(None))
Dependencies = list[tuple[NodePath, Token]]


class Hasher:
    """Hashes of the values at paths of one prepared environment's values (as the
    templates see them: a secret as its tainted value, which has no hash)."""

    def __init__(self, prepared: Prepared) -> None:
        self._data = prepared.revealed
        self._memo: dict[NodePath, Token | None] = {}
        self._nodes: dict[NodePath, Any] = {}
        # where the secrets are, found once; none to look for where the values hold none
        self._secrets = list(_secret_paths(self._data, ())) if prepared.secrets else []

    def _node(self, path: NodePath) -> Any:
        """The value at PATH, found from its parent's (paths share long prefixes)."""
        try:
            return self._nodes[path]
        except KeyError:
            pass
        if not path:
            return self._data
        parent = self._node(path[:-1])
        if type(parent) in TAINTED:  # a secret has no parts (Secret has no items)
            node = _ABSENT
        else:
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
        secret."""
        try:
            return self._memo[path]
        except KeyError:
            pass
        node = self._node(path)
        if node is _ABSENT:
            self._memo[path] = MISSING
            return MISSING
        result: Token | None
        if type(node) in TAINTED:
            result = None
        elif isinstance(node, _SCALARS):
            result = data.token(node)  # 1, 1.0 and True, 0.0 and -0.0 differ in YAML
        elif self._holds_secret(path):
            result = None
        else:
            exact = data.token(node)
            result = hashlib.sha256(exact).digest() if exact is not None else None
        self._memo[path] = result
        return result


def _secret_paths(node: Any, path: NodePath) -> Iterator[NodePath]:
    kind = type(node)
    if kind in TAINTED:
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _secret_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _secret_paths(value, (*path, i))


def dependencies(rec: Recorder, hasher: Hasher) -> Dependencies | None:
    """The recorded paths with their hashes; None when any of them holds a secret."""
    deps = []
    for path in sorted(rec.whole | rec.missing, key=repr):
        digest = hasher.digest(path)
        if digest is None:
            return None
        deps.append((path, digest))
    return deps


def still_valid(deps: Dependencies, hasher: Hasher) -> bool:
    digest = hasher.digest
    return all(digest(path) == token for path, token in deps)
