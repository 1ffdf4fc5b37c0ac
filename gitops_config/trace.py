"""Which values a template reads, recorded by the sandbox's own hooks.

Templates get the plain dicts and lists of the values. Every container of
them is known by identity (Index), so the sandbox (sandbox/) can tell
where a container it sees lives: reading a child through `a.b` or `a['b']`
records nothing but the walk, while anything that uses a container as a whole
(iterating, printing, measuring, comparing, handing it to a filter or a call)
and every scalar read records that path. The recorded paths are exactly what
the output depends on (incremental/dependencies.py hashes them for the cache).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from gitops_config.model import NodePath
from gitops_config.taint import NONE
from gitops_config.taint import TAINTED

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
