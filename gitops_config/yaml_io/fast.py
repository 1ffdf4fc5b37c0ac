"""The fast read path: libyaml's C parser with go-yaml v3's scalar semantics.

sops (and so the MAC of every encrypted file) reads YAML with go-yaml v3, so
we resolve plain scalars the way it does: YAML 1.2 booleans (`yes` and `on`
are strings), Go's ParseInt(s, 0, 64) for integers (`0777` is octal, `0b101`
is binary, `1_000` is 1000), timestamps kept as strings for schema formats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml._yaml import CParser

from gitops_config import constants as C
from gitops_config.errors import InvalidYamlError
from gitops_config.model import Location

Path = tuple[str | int, ...]

_STR = 'tag:yaml.org,2002:str'
_INT = 'tag:yaml.org,2002:int'
_FLOAT = 'tag:yaml.org,2002:float'
_BOOL = 'tag:yaml.org,2002:bool'
_NULL = 'tag:yaml.org,2002:null'
_MERGE = 'tag:yaml.org,2002:merge'
_MAP = 'tag:yaml.org,2002:map'
_SEQ = 'tag:yaml.org,2002:seq'
_TIMESTAMP = 'tag:yaml.org,2002:timestamp'

_SPECIAL: dict[str, tuple[str, Any]] = {}
for _words, _tag, _val in (
        (('true', 'True', 'TRUE'), _BOOL, True),
        (('false', 'False', 'FALSE'), _BOOL, False),
        (('', '~', 'null', 'Null', 'NULL'), _NULL, None),
        (('.nan', '.NaN', '.NAN'), _FLOAT, math.nan),
        (('.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'), _FLOAT, math.inf),
        (('-.inf', '-.Inf', '-.INF'), _FLOAT, -math.inf),
        (('<<',), _MERGE, None),
):
    for _w in _words:
        _SPECIAL[_w] = (_tag, _val)

_YAML_STYLE_FLOAT = re.compile(r'^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$')
_GO_INT = re.compile(
    r'^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$',
)
_TIMESTAMP_RE = re.compile(
    r'^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}'
    r'(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?'
    r'(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?)?$',
)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


def _parse_go_int(plain: str) -> int | None:
    """strconv.ParseInt(plain, 0, 64) then ParseUint, as go-yaml v3 tries them."""
    if not _GO_INT.fullmatch(plain):
        return None
    sign = -1 if plain.startswith('-') else 1
    body = plain.lstrip('+-')
    lower = body.lower()
    if lower.startswith('0x'):
        value = int(body[2:], 16)
    elif lower.startswith('0o'):
        value = int(body[2:], 8)
    elif lower.startswith('0b'):
        value = int(body[2:], 2)
    elif len(body) > 1 and body.startswith('0'):
        value = int(body[1:], 8)
    else:
        value = int(body)
    value *= sign
    if -_INT64_MAX - 1 <= value <= _UINT64_MAX:
        return value
    return None


def resolve_plain(text: str) -> tuple[str, Any]:
    """The tag and value go-yaml v3 gives a plain (unquoted) scalar."""
    special = _SPECIAL.get(text)
    if special is not None:
        return special
    if not text:
        return _NULL, None
    first = text[0]
    if first.isdigit() or first in '+-.':
        if first.isdigit() and _TIMESTAMP_RE.fullmatch(text):
            return _TIMESTAMP, text
        plain = text.replace('_', '')
        as_int = _parse_go_int(plain)
        if as_int is not None:
            return _INT, as_int
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = float(plain)
            # Go's ParseFloat fails beyond float64's range (`1e400`): go-yaml, and so
            # sops, keep the text as a string
            if not math.isinf(value):
                return _FLOAT, value
    return _STR, text


class _Resolver:
    """Replaces PyYAML's YAML 1.1 implicit resolvers with go-yaml v3's rules."""

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                assert value is not None
                return resolve_plain(value)[0]
            return _STR
        if kind is yaml.SequenceNode:
            return _SEQ
        return _MAP


class _Loader(_Resolver, yaml.CSafeLoader):
    pass


class BadYaml(yaml.YAMLError):
    def __init__(self, message: str, mark: Any, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


def _scalar(node: yaml.ScalarNode) -> Any:
    return _typed(node.tag, node.value, node.style)


def _typed(tag: str, value: str, style: str | None) -> Any:
    if tag in (_STR, _TIMESTAMP):
        return value
    if tag in (_INT, _FLOAT, _BOOL, _NULL):
        return resolve_plain(value)[1] if not style else value
    if tag == 'tag:yaml.org,2002:binary':
        return value
    if tag.startswith('tag:yaml.org,2002:'):
        # an explicit core tag on a quoted scalar, e.g. !!int "3"
        resolved_tag, typed = resolve_plain(value)
        return typed if resolved_tag == tag else value
    # Local tags (`!delete`, `!secret`...) are kept as Tagged for the caller.
    return Tagged(tag, value)


class Tagged:
    """A node with a local tag such as `!delete`; callers decide what it means."""

    __slots__ = ('tag', 'value')

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value

    def __repr__(self) -> str:
        return f'Tagged({self.tag!r}, {self.value!r})'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tagged) and (self.tag, self.value) == (other.tag, other.value)

    def __hash__(self) -> int:
        return hash(self.tag)


class _Budget:
    """What a stream's aliases may still expand to: nodes, and bytes of keys and
    scalars; shared by its documents, so that many small bombs are one big one."""

    __slots__ = ('bytes', 'limit', 'nodes')

    def __init__(self, size: int) -> None:
        self.nodes = C.ALIAS_EXPANSION_FLOOR
        self.limit = self.bytes = max(C.ALIAS_BYTES_FLOOR, C.ALIAS_BYTES_FACTOR * size)

    def spend(self, size: int, mark: Any) -> None:
        self.nodes -= 1
        self.bytes -= size
        if self.nodes < 0:
            raise BadYaml('aliases expand to too many nodes (an alias bomb?)', mark)
        if self.bytes < 0:
            raise BadYaml(f'aliases expand to more than {_mib(self.limit)} of values '
                          '(an alias bomb?)', mark, hint=_LIMIT_HINT)


_LIMIT_HINT = 'aliases and nesting are limited so that hostile YAML cannot exhaust memory'


def _mib(size: int) -> str:
    return f'{size / (1024 * 1024):.0f} MiB'


def _too_deep(mark: Any) -> BadYaml:
    return BadYaml(f'mappings and lists nested deeper than {C.YAML_MAX_DEPTH} levels', mark,
                   hint=_LIMIT_HINT)


class _Builder:
    """Turns a composed node graph into plain Python, optionally with positions.

    Aliases are expanded within a budget (None: the stream has none) so that an
    alias bomb fails fast.
    """

    def __init__(self, budget: _Budget | None,
                 positions: dict[Path, tuple[int, int]] | None) -> None:
        self.budget = budget
        self.positions = positions

    def build(self, node: yaml.Node, path: Path, mark: Any = None) -> Any:
        """NODE as plain Python; MARK is where its key starts, if it has one (a
        mapping entry is reported at its key: the line an editor should jump to)."""
        if self.budget is not None:
            self.budget.spend(len(node.value) if isinstance(node, yaml.ScalarNode) else 0,
                              node.start_mark)
        if self.positions is not None:
            mark = mark or node.start_mark
            self.positions[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if len(path) >= C.YAML_MAX_DEPTH:
            raise _too_deep(node.start_mark)
        if isinstance(node, yaml.SequenceNode):
            items = [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            if node.tag not in (_SEQ,) and not node.tag.startswith('tag:yaml.org,2002:'):
                return Tagged(node.tag, items)
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
                raise BadYaml('a mapping key must be a scalar', key_node.start_mark)
            key = key_node.value
            if key in seen:
                raise BadYaml(
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
            return Tagged(node.tag, result)
        return result

    def _merge_into(self, merged: dict[str, Any], node: yaml.Node, path: Path) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise BadYaml('a merge key (<<) needs a mapping or a list of them',
                              source.start_mark)
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


def _error(path: str, exc: yaml.YAMLError) -> InvalidYamlError:
    mark = getattr(exc, 'problem_mark', None) or getattr(exc, 'mark', None)
    message = getattr(exc, 'message', None) or getattr(exc, 'problem', None) or str(exc)
    context = getattr(exc, 'context', None)
    if context and not isinstance(exc, BadYaml):
        message = f'{context}, {message}'
    loc = Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path)
    return InvalidYamlError(
        f'invalid YAML: {message}', location=loc,
        hint=getattr(exc, 'hint', None) or 'fix the YAML syntax at that position',
    )


class _NeedsComposer(Exception):
    """An alias or a merge key: the node graph, not the event stream, builds these."""


def _from_events(text: str | bytes, *, with_positions: bool,
                 ) -> list[tuple[Any, dict[Path, tuple[int, int]]]]:
    """Every document built straight from libyaml's events, skipping PyYAML's node
    graph (which costs five times the parse). Raises _NeedsComposer at an alias or
    a merge key."""
    parser = CParser(text)
    get = parser.get_event
    try:
        get()  # the stream's start
        found = []
        while type(get()) is not yaml.StreamEndEvent:  # a document's start
            positions: dict[Path, tuple[int, int]] = {}
            value = (_event_value(get, get(), (), None, positions) if with_positions
                     else _event_plain(get, get(), 0))
            get()  # the document's end
            found.append((value, positions))
        return found
    finally:
        parser.dispose()


def _event_value(get: Any, event: Any, path: Path, mark: Any,
                 positions: dict[Path, tuple[int, int]] | None) -> Any:
    """EVENT's node as plain Python, as _Builder.build makes it (MARK: where its key
    starts, if it has one)."""
    if positions is not None:
        where = mark or event.start_mark
        positions[path] = (where.line + 1, where.column + 1)
    kind = type(event)
    if kind is yaml.ScalarEvent:
        tag = event.tag
        if tag is None or tag == '!':
            tag = resolve_plain(event.value)[0] if event.implicit[0] else _STR
        return _typed(tag, event.value, event.style)
    if len(path) >= C.YAML_MAX_DEPTH:
        raise _too_deep(event.start_mark)
    if kind is yaml.SequenceStartEvent:
        items: list[Any] = []
        item = get()
        while type(item) is not yaml.SequenceEndEvent:
            items.append(_event_value(get, item, (*path, len(items)), None, positions))
            item = get()
        return _collection(event.tag, _SEQ, items)
    if kind is yaml.MappingStartEvent:
        result: dict[str, Any] = {}
        lines: dict[str, int] = {}
        at: Any
        key: Any = get()
        while type(key) is not yaml.MappingEndEvent:
            if type(key) is not yaml.ScalarEvent:
                if type(key) is yaml.AliasEvent:
                    raise _NeedsComposer
                raise BadYaml('a mapping key must be a scalar', key.start_mark)
            name, at = key.value, key.start_mark
            if key.tag == _MERGE or (key.tag is None and key.implicit[0] and name == '<<'):
                raise _NeedsComposer
            if name in lines:
                raise BadYaml(f'duplicate key {name!r} (first at line {lines[name] + 1})', at)
            lines[name] = at.line
            result[name] = _event_value(get, get(), (*path, name), at, positions)
            key = get()
        return _collection(event.tag, _MAP, result)
    raise _NeedsComposer  # an alias


_ScalarEvent = yaml.ScalarEvent
_SequenceStart = yaml.SequenceStartEvent
_SequenceEnd = yaml.SequenceEndEvent
_MappingStart = yaml.MappingStartEvent
_MappingEnd = yaml.MappingEndEvent
_PLAIN_TAGS = (_STR, _TIMESTAMP)


def _event_plain(get: Any, event: Any, depth: int) -> Any:
    """_event_value without positions, for the hot path (every rendered file): no
    node paths are built, and a plain scalar is resolved once. DEPTH: how many
    collections enclose EVENT."""
    kind = type(event)
    if kind is _ScalarEvent:
        tag = event.tag
        if tag is None or tag == '!':
            if not event.implicit[0]:
                return event.value
            tag, typed = resolve_plain(event.value)
            return event.value if tag in _PLAIN_TAGS or event.style else typed
        return _typed(tag, event.value, event.style)
    if depth >= C.YAML_MAX_DEPTH:
        raise _too_deep(event.start_mark)
    if kind is _SequenceStart:
        items: list[Any] = []
        item = get()
        while type(item) is not _SequenceEnd:
            items.append(_event_plain(get, item, depth + 1))
            item = get()
        return _collection(event.tag, _SEQ, items)
    if kind is _MappingStart:
        result: dict[str, Any] = {}
        key: Any = get()
        while type(key) is not _MappingEnd:
            if type(key) is not _ScalarEvent:
                if type(key) is yaml.AliasEvent:
                    raise _NeedsComposer
                raise BadYaml('a mapping key must be a scalar', key.start_mark)
            name = key.value
            if key.tag == _MERGE or (key.tag is None and key.implicit[0] and name == '<<'):
                raise _NeedsComposer
            if name in result:
                raise _NeedsComposer  # the composer names both lines of a duplicate key
            result[name] = _event_plain(get, get(), depth + 1)
            key = get()
        return _collection(event.tag, _MAP, result)
    raise _NeedsComposer  # an alias


def _collection(tag: str | None, plain: str, value: Any) -> Any:
    if tag is None or tag == '!' or tag == plain or tag.startswith('tag:yaml.org,2002:'):
        return value
    return Tagged(tag, value)


def _documents(
        text: str | bytes, path: str, *, with_positions: bool,
) -> list[tuple[Any, dict[Path, tuple[int, int]]]]:
    try:
        try:
            return _from_events(text, with_positions=with_positions)
        except (_NeedsComposer, BadYaml):
            # BadYaml too: the composer reads a whole document first, so it reports a
            # syntax error further down before a duplicate key (as it always has)
            return list(_composed(text, with_positions=with_positions))
    except yaml.YAMLError as exc:
        raise _error(path, exc) from None
    except UnicodeDecodeError as exc:
        raise InvalidYamlError(f'not UTF-8 text: {exc.reason}', location=Location(path)) from None


def _composed(text: str | bytes, *, with_positions: bool,
              ) -> Iterator[tuple[Any, dict[Path, tuple[int, int]]]]:
    """Every document built from PyYAML's node graph: aliases (within a budget, so
    that an alias bomb fails fast) and merge keys."""
    loader = _Loader(text)
    # Without an anchor there can be no alias, and nothing to count.
    has_anchor = ('&' in text) if isinstance(text, str) else (b'&' in text)
    budget = _Budget(len(text)) if has_anchor else None
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


def load(text: str | bytes, path: str) -> Any:
    """One YAML document as plain Python (None for an empty file)."""
    docs = load_all(text, path)
    if len(docs) > 1:
        raise InvalidYamlError(
            f'expected one YAML document, found {len(docs)}', location=Location(path),
            hint='split the documents or remove the extra `---`',
        )
    return docs[0] if docs else None


def load_all(text: str | bytes, path: str) -> list[Any]:
    return [doc for doc, _ in _documents(text, path, with_positions=False)]


def load_all_located(text: str | bytes, path: str) -> list[tuple[Any, dict[Path, tuple[int, int]]]]:
    """Every document with the (line, column) of each node, keyed by its path."""
    return _documents(text, path, with_positions=True)
