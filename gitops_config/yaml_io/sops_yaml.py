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

from gitops_config.errors import InvalidYamlError
from gitops_config.model import Location

_STR = 'tag:yaml.org,2002:str'
_SEQ = 'tag:yaml.org,2002:seq'
_MAP = 'tag:yaml.org,2002:map'
_DOC_START = re.compile(r'^---(?=[ \t]|$)', re.M)


class Node:
    """A composed node; a plain class, as dataclasses cost import time."""

    __slots__ = ('column', 'kind', 'line', 'plain', 'tag', 'value')

    def __init__(self, kind: str, value: str | list[Node] | list[tuple[Node, Node]],
                 plain: bool, tag: str | None, line: int, column: int) -> None:
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


def compose(text: str, path: str) -> tuple[list[Node], list[RawComment]]:
    """Every document's root node, and every comment with its document index."""
    try:
        roots = list(yaml.compose_all(text, Loader=yaml.CBaseLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, 'problem', None) or str(exc)
        raise InvalidYamlError(f'invalid YAML: {problem}',
                               location=Location(path, line)) from None
    spans: list[tuple[int, int]] = []
    memo: dict[int, Node] = {}
    # An empty document (`---` then nothing) composes to None: a null scalar.
    nodes = [_convert(r, memo, spans) if r is not None else Node('scalar', '', True, None, 0, 0)
             for r in roots]
    starts = [_root_start(r) for r in roots if r is not None]
    return nodes, list(_comments(text, spans, starts)) if '#' in text else []


def _root_start(node: yaml.Node) -> int:
    return int(node.start_mark.index)


def _convert(node: yaml.Node, memo: dict[int, Node], spans: list[tuple[int, int]]) -> Node:
    seen = memo.get(id(node))
    if seen is not None:
        return seen  # an alias: the same node again
    line, col = node.start_mark.line, node.start_mark.column
    if isinstance(node, yaml.ScalarNode):
        spans.append((node.start_mark.index, node.end_mark.index))
        tag = None if node.tag == _STR else node.tag
        out = Node('scalar', node.value, not node.style, tag, line, col)
    elif isinstance(node, yaml.SequenceNode):
        out = Node('seq', [], False, None if node.tag == _SEQ else node.tag, line, col)
        memo[id(node)] = out
        out.value = [_convert(n, memo, spans) for n in node.value]
    else:
        out = Node('map', [], False, None if node.tag == _MAP else node.tag, line, col)
        memo[id(node)] = out
        out.value = [(_convert(k, memo, spans), _convert(v, memo, spans))
                     for k, v in node.value]
    memo[id(node)] = out
    return out


def _comments(
        text: str, spans: list[tuple[int, int]], roots: list[int],
) -> Iterator[RawComment]:
    spans.sort()
    span_starts = [s for s, _ in spans]
    boundaries = [m.start() for m in _DOC_START.finditer(text)
                  if not _inside(m.start(), spans, span_starts)]
    # A leading `---` opens the first document rather than starting a second.
    lead = 1 if boundaries and roots and boundaries[0] < roots[0] else 0
    offset = 0
    for lineno, line in enumerate(text.split('\n')):
        pos = line.find('#')
        while pos != -1:
            absolute = offset + pos
            if (pos == 0 or line[pos - 1] in ' \t') and not _inside(absolute, spans, span_starts):
                doc = bisect.bisect_right(boundaries, absolute) - lead
                yield RawComment(lineno, pos, line[pos + 1:].rstrip(' \t\r'),
                                 bool(line[:pos].strip()), max(doc, 0))
                break
            pos = line.find('#', pos + 1)
        offset += len(line) + 1


def _inside(pos: int, spans: list[tuple[int, int]], starts: list[int]) -> bool:
    # Scalars never overlap, so only the last one starting before pos can hold it.
    i = bisect.bisect_right(starts, pos) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]
