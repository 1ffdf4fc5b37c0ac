"""The node-graph builder yaml_io used before it built from events alone: the oracle.

PyYAML's composer makes the node graph, and this builds it into Python, as
gitops_config.yaml_io did until one builder replaced three. The builder there
must agree with this on every text (except where a fix says otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from gitops_config import constants as C
from gitops_config.yaml_io import fast

Path = tuple[str | int, ...]
_STR = 'tag:yaml.org,2002:str'
_MERGE = 'tag:yaml.org,2002:merge'
_MAP = 'tag:yaml.org,2002:map'
_SEQ = 'tag:yaml.org,2002:seq'


class _Resolver:
    """Replaces PyYAML's YAML 1.1 implicit resolvers with go-yaml v3's rules."""

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                assert value is not None
                return fast.resolve_plain(value)[0]
            return _STR
        if kind is yaml.SequenceNode:
            return _SEQ
        return _MAP


class _Loader(_Resolver, yaml.CSafeLoader):
    pass


class _Builder:
    """Turns a composed node graph into plain Python, optionally with positions.

    Aliases are expanded within a budget (None: the stream has none) so that an
    alias bomb fails fast.
    """

    def __init__(
        self, budget: fast._Budget | None, positions: dict[Path, tuple[int, int]] | None
    ) -> None:
        self.budget = budget
        self.positions = positions

    def build(self, node: yaml.Node, path: Path, mark: Any = None) -> Any:
        """NODE as plain Python; MARK is where its key starts, if it has one (a
        mapping entry is reported at its key: the line an editor should jump to)."""
        if self.budget is not None:
            self.budget.spend(
                len(node.value) if isinstance(node, yaml.ScalarNode) else 0, node.start_mark
            )
        if self.positions is not None:
            mark = mark or node.start_mark
            self.positions[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return fast._explicit(node.tag, node.value, node.style)
        if len(path) >= C.YAML_MAX_DEPTH:
            raise fast._too_deep(node.start_mark)
        if isinstance(node, yaml.SequenceNode):
            items = [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            if node.tag not in (_SEQ,) and not node.tag.startswith('tag:yaml.org,2002:'):
                return fast.Tagged(node.tag, items)
            return items
        assert isinstance(node, yaml.MappingNode)
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                self._merge_into(merged, value_node, path)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise fast.BadYaml('a mapping key must be a scalar', key_node.start_mark)
            key = key_node.value
            if key in seen:
                raise fast.BadYaml(
                    f'duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})',
                    key_node.start_mark,
                )
            seen[key] = key_node
            if self.budget is not None:
                self.budget.spend(len(key), key_node.start_mark)
            result[key] = self.build(value_node, (*path, key), key_node.start_mark)
        if merged:
            for key, value in merged.items():
                result.setdefault(key, value)
        if node.tag not in (_MAP,) and not node.tag.startswith('tag:yaml.org,2002:'):
            return fast.Tagged(node.tag, result)
        return result

    def _merge_into(self, merged: dict[str, Any], node: yaml.Node, path: Path) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise fast.BadYaml(
                    'a merge key (<<) needs a mapping or a list of them', source.start_mark
                )
            value = self.build(source, path)
            for key, item in value.items():
                merged.setdefault(key, item)


def _count_nodes(root: yaml.Node) -> int:
    """The nodes of ROOT's graph, each once (a loop: nesting may be deep)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo += (key, value)
    return len(seen)


def _composed(
    text: str | bytes,
    *,
    with_positions: bool,
) -> Iterator[tuple[Any, dict[Path, tuple[int, int]]]]:
    """Every document built from PyYAML's node graph: aliases (within a budget, so
    that an alias bomb fails fast) and merge keys."""
    loader = _Loader(text)
    # Without an anchor there can be no alias, and nothing to count.
    has_anchor = ('&' in text) if isinstance(text, str) else (b'&' in text)
    budget = fast._Budget(len(text)) if has_anchor else None
    try:
        while loader.check_node():
            node = loader.get_node()
            positions: dict[Path, tuple[int, int]] = {}
            if node is None:
                yield None, positions
                continue
            if budget is not None:
                budget.nodes += C.ALIAS_EXPANSION_FACTOR * _count_nodes(node)
            builder = _Builder(budget, positions if with_positions else None)
            yield builder.build(node, ()), positions
    finally:
        loader.dispose()


def documents(
    text: str,
    path: str,
    *,
    with_positions: bool,
) -> list[tuple[Any, dict[Path, tuple[int, int]]]]:
    try:
        return list(_composed(text, with_positions=with_positions))
    except yaml.YAMLError as exc:
        raise fast.invalid_yaml(path, exc) from None
