"""Where a finding is: the node's file:line, and the input line that produced it.

The renderer keeps no node-level source map, so a rendered value is traced
back to the merged-values leaf that holds it (or the template line writing its
key): that is the line a user must edit.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from gitops_config import keypath
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.source import Source
from gitops_config.values import Values


class Origins:
    """Which value layer line set a rendered value, found by value and key name.

    The renderer keeps no node-level source map, so a rendered scalar is traced
    to the merged-values leaf holding the same value (preferring the same key
    name); failing that, to the template line that writes the key.
    """

    def __init__(self, values: Values, source: Source) -> None:
        self._values = values
        self._source = source
        self._index: dict[tuple[str, Any], list[tuple[NodePath, Location]]] | None = None
        self._templates: dict[str, list[str]] = {}

    def _build(self) -> dict[tuple[str, Any], list[tuple[NodePath, Location]]]:
        index: dict[tuple[str, Any], list[tuple[NodePath, Location]]] = {}
        for path, prov in self._values.provenance.items():
            try:
                value = keypath.get(self._values.data, path)
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(value, (str, int, float)):
                index.setdefault((type(value).__name__, value), []).append((path, prov.location))
        return index

    def find(self, path: NodePath, value: Any, template: str | None) -> Location | None:
        last = next((p for p in reversed(path) if isinstance(p, str)), None)
        if isinstance(value, (str, int, float)):
            if self._index is None:
                self._index = self._build()
            found = self._index.get((type(value).__name__, value), [])
            named = [loc for p, loc in found if last is not None and last in p]
            # true/false are too common to trace by value alone: only with the key name.
            unnamed = [] if isinstance(value, bool) else [loc for _, loc in found]
            for candidates in (named, unnamed):
                if len(set(candidates)) == 1:
                    return candidates[0]
        elif isinstance(value, (dict, list)) and value:
            # A mapping or list: the values node that equals it, at the same depth.
            for p, prov in self._values.provenance.items():
                if len(p) == len(path) and p[-1:] == path[-1:] and self._value(p) == value:
                    return prov.location
        return self._template_line(template, [p for p in path if isinstance(p, str)])

    def _value(self, path: NodePath) -> Any:
        try:
            return keypath.get(self._values.data, path)
        except (KeyError, IndexError, TypeError):
            return None

    def _template_line(self, template: str | None, keys: Sequence[str]) -> Location | None:
        """The line of TEMPLATE that writes the node at KEYS: the line writing its key;
        failing that (a key the template computes, or a mapping it dumps whole), the first
        expression below the line writing its nearest parent key; failing that, the
        template's first expression."""
        if template is None:
            return None
        lines = self._templates.get(template)
        if lines is None:
            try:
                lines = self._source.read(template).decode(errors='replace').splitlines()
            except GitopsConfigError:
                lines = []
            self._templates[template] = lines
        start = 0
        for depth in range(len(keys), 0, -1):
            found = _key_line(lines, keys[depth - 1])
            if found is None:
                continue
            if depth == len(keys):
                return Location(template, *found)
            start = found[0]  # the parent's line: its content comes from below it
            break
        for number, line in enumerate(lines[start:], start=start + 1):
            if '{{' in line:
                return Location(template, number, line.index('{{') + 1)
        return Location(template, 1, 1) if lines else Location(template)


def _key_line(lines: Sequence[str], key: str) -> tuple[int, int] | None:
    """(line, column) of the first line of LINES that writes KEY as a mapping key."""
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip(' -')
        if stripped.startswith((f'{key}:', f'"{key}":', f"'{key}':")):
            return number, len(line) - len(stripped) + 1
    return None


Positions = Sequence[dict[NodePath, tuple[int, int]]]


class Doc:
    """One file's documents, and their node positions for locating findings.

    POSITIONS is called on the first finding only: parsing for positions costs as
    much as the parse itself, and most files have no finding.
    """

    def __init__(
        self,
        file: str,
        documents: Sequence[Any] | Callable[[], Sequence[Any] | None],
        positions: Callable[[], Positions],
        origins: Origins | None = None,
        template: str | None = None,
    ) -> None:
        self.file = file
        # a callable: the file was not checked (known clean); read only if a rule points here
        self._documents: list[Any] | Callable[[], Sequence[Any] | None] = (
            documents if callable(documents) else list(documents)
        )
        self._positions = positions
        self._located: list[dict[NodePath, tuple[int, int]]] | None = None
        self.origins = origins
        self.template = template

    @property
    def documents(self) -> list[Any]:
        if callable(self._documents):
            self._documents = list(self._documents() or ())
        return self._documents

    def locate(self, index: int, path: NodePath) -> Location:
        if self._located is None:
            self._located = list(self._positions())
        positions = self._located[index] if index < len(self._located) else {}
        for cut in range(len(path), -1, -1):
            found = positions.get(path[:cut])
            if found is not None:
                return Location(self.file, found[0], found[1])
        return Location(self.file, 1, 1)

    def resolve(self, index: int, raw: NodePath | str | None) -> NodePath | None:
        if raw is None or index >= len(self.documents):
            return None
        if isinstance(raw, tuple):
            return raw
        try:
            return keypath.resolve(self.documents[index], keypath.parse(raw))
        except GitopsConfigError:
            return None

    def origin(self, index: int, path: NodePath) -> Location | None:
        if self.origins is None or index >= len(self.documents):
            return None
        try:
            value = keypath.get(self.documents[index], path)
        except (KeyError, IndexError, TypeError):
            value = None
        return self.origins.find(path, value, self.template)
