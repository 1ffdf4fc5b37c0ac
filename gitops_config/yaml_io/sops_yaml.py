"""YAML text for the sops YAML store: nodes with positions, plus the comments.

libyaml drops comments, so they are found by scanning the text for `#` that
is not inside any scalar; the sops store then places them the way go-yaml v3
attaches head/line/foot comments. This module only parses; the sops store
types values with go-yaml v3's rules (`fast.resolve_plain`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import NamedTuple

import yaml

from gitops_config import constants as C
from gitops_config.errors import InvalidYamlError
from gitops_config.model import Location
from gitops_config.yaml_io.libyaml import CBaseLoader

_STR = 'tag:yaml.org,2002:str'
_SEQ = 'tag:yaml.org,2002:seq'
_MAP = 'tag:yaml.org,2002:map'
_DOC_START = re.compile(r'^---(?=[ \t]|$)', re.M)


class Node:
    """A composed node; a plain class, as dataclasses cost import time."""

    __slots__ = ('column', 'kind', 'line', 'plain', 'tag', 'value')

    def __init__(
        self,
        kind: str,
        value: str | list[Node] | list[tuple[Node, Node]],
        plain: bool,
        tag: str | None,
        line: int,
        column: int,
    ) -> None:
        self.kind = kind  # 'scalar' | 'map' | 'seq'
        self.value = value
        self.plain = plain  # an unquoted, non-block scalar: its type comes from its text
        self.tag = tag  # an explicit, non-default tag
        self.line = line  # 0-based
        self.column = column


class RawComment(NamedTuple):
    line: int
    column: int
    text: str  # without the '#'
    inline: bool  # something precedes it on its line
    doc: int
    blank_before: bool  # the line above is empty: go-yaml then attaches it forwards


class _Loader(CBaseLoader):
    """libyaml's composer, with PyYAML's (Python, per node) resolver skipped: plain
    scalars are typed later with go-yaml's rules."""

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


def compose(text: str, path: str) -> tuple[list[Node], list[RawComment]]:
    """Every document's root node, and every comment with its document index."""
    try:
        roots = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, 'problem', None) or str(exc)
        raise InvalidYamlError(f'invalid YAML: {problem}', location=Location(path, line)) from None
    has_comments = '#' in text
    converter = _Converter(path, with_spans=has_comments)
    # An empty document (`---` then nothing) composes to None: a null scalar.
    nodes = [
        converter.convert(r) if r is not None else Node('scalar', '', True, None, 0, 0)
        for r in roots
    ]
    if not has_comments:
        return nodes, []
    starts = [int(r.start_mark.index) for r in roots if r is not None]
    return nodes, list(_comments(text, converter.spans, starts))


class _Converter:
    def __init__(self, path: str, *, with_spans: bool) -> None:
        self.path = path
        self.memo: dict[int, Node] = {}  # collections already seen: aliases reuse them
        self.spans: list[tuple[int, int]] = []
        self.with_spans = with_spans

    def convert(self, node: yaml.Node, depth: int = 0) -> Node:
        """NODE as a Node; DEPTH: how many collections enclose it."""
        start = node.start_mark
        if isinstance(node, yaml.ScalarNode):
            if self.with_spans:
                self.spans.append((start.index, node.end_mark.index))
            tag = None if node.tag == _STR else node.tag
            return Node('scalar', node.value, not node.style, tag, start.line, start.column)
        seen = self.memo.get(id(node))
        if seen is not None:
            return seen  # an alias: the same node again
        if depth >= C.YAML_MAX_DEPTH:
            raise InvalidYamlError(
                f'invalid YAML: mappings and lists nested deeper than {C.YAML_MAX_DEPTH} levels',
                location=Location(self.path, start.line + 1, start.column + 1),
                hint='nesting is limited so that hostile YAML cannot exhaust the stack',
            )
        convert = self.convert
        inner = depth + 1
        if isinstance(node, yaml.SequenceNode):
            out = Node(
                'seq', [], False, None if node.tag == _SEQ else node.tag, start.line, start.column
            )
            self.memo[id(node)] = out
            out.value = [convert(n, inner) for n in node.value]
        else:
            out = Node(
                'map', [], False, None if node.tag == _MAP else node.tag, start.line, start.column
            )
            self.memo[id(node)] = out
            out.value = [(convert(k, inner), convert(v, inner)) for k, v in node.value]
        return out


def _comments(
    text: str,
    spans: list[tuple[int, int]],
    roots: list[int],
) -> Iterator[RawComment]:
    spans.sort()
    span_starts = [s for s, _ in spans]
    boundaries = [
        m.start() for m in _DOC_START.finditer(text) if not _inside(m.start(), spans, span_starts)
    ]
    # A leading `---` opens the first document rather than starting a second.
    lead = 1 if boundaries and roots and boundaries[0] < roots[0] else 0
    offset = 0
    previous = ''
    for lineno, line in enumerate(text.split('\n')):
        pos = line.find('#')
        while pos != -1:
            absolute = offset + pos
            if (pos == 0 or line[pos - 1] in ' \t') and not _inside(absolute, spans, span_starts):
                doc = bisect.bisect_right(boundaries, absolute) - lead
                yield RawComment(
                    lineno,
                    pos,
                    line[pos + 1 :].rstrip(' \t\r'),
                    bool(line[:pos].strip()),
                    max(doc, 0),
                    lineno > 0 and not previous.strip(),
                )
                break
            pos = line.find('#', pos + 1)
        offset += len(line) + 1
        previous = line


def _inside(pos: int, spans: list[tuple[int, int]], starts: list[int]) -> bool:
    # Scalars never overlap, so only the last one starting before pos can hold it.
    i = bisect.bisect_right(starts, pos) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]
