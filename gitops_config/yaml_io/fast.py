"""The read path: libyaml's events built straight into Python, with go-yaml v3's
scalar semantics.

sops (and so the MAC of every encrypted file) reads YAML with go-yaml v3, so
we resolve plain scalars the way it does: YAML 1.2 booleans (`yes` and `on`
are strings), Go's ParseInt(s, 0, 64) for integers (`0777` is octal, `0b101`
is binary, `1_000` is 1000), timestamps kept as strings for schema formats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any
from typing import TypeGuard

import yaml

from gitops_config import constants as C
from gitops_config.errors import InvalidYamlError
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.yaml_io.libyaml import CParser

_STR = 'tag:yaml.org,2002:str'
_INT = 'tag:yaml.org,2002:int'
_FLOAT = 'tag:yaml.org,2002:float'
_BOOL = 'tag:yaml.org,2002:bool'
_NULL = 'tag:yaml.org,2002:null'
_MERGE = 'tag:yaml.org,2002:merge'
_TIMESTAMP = 'tag:yaml.org,2002:timestamp'
_BINARY = 'tag:yaml.org,2002:binary'
_CORE = 'tag:yaml.org,2002:'

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


def _explicit(tag: str, value: str, style: str | None) -> Any:
    """A scalar with a tag of its own: `!!int 3`, `!!str 3`, `!secret x`."""
    if tag in ('!', _STR, _TIMESTAMP, _BINARY):  # `!` alone: not resolved, a string
        return value
    if tag in (_INT, _FLOAT, _BOOL, _NULL):
        return value if style else resolve_plain(value)[1]
    if tag.startswith(_CORE):
        # another core tag, e.g. !!merge: what the text means, if it means that tag
        resolved_tag, typed = resolve_plain(value)
        return typed if resolved_tag == tag else value
    # Local tags (`!delete`, `!secret`...) are kept as Tagged for the caller.
    return Tagged(tag, value)


def _local(tag: str | None) -> TypeGuard[str]:
    """Whether TAG is a local one (`!delete`), not a core or an absent one."""
    return tag is not None and tag != '!' and not tag.startswith(_CORE)


def _collection(tag: str | None, value: Any) -> Any:
    return Tagged(tag, value) if _local(tag) else value


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


class BadYaml(yaml.YAMLError):
    def __init__(self, message: str, mark: Any, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


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
            raise BadYaml(
                f'aliases expand to more than {_mib(self.limit)} of values (an alias bomb?)',
                mark,
                hint=_LIMIT_HINT,
            )


_LIMIT_HINT = 'aliases and nesting are limited so that hostile YAML cannot exhaust memory'


def _mib(size: int) -> str:
    return f'{size / (1024 * 1024):.0f} MiB'


def _too_deep(mark: Any) -> BadYaml:
    return BadYaml(
        f'mappings and lists nested deeper than {C.YAML_MAX_DEPTH} levels', mark, hint=_LIMIT_HINT
    )


def _undefined(alias: Any) -> yaml.YAMLError:
    return yaml.composer.ComposerError(None, None, 'found undefined alias', alias.start_mark)


Get = Callable[[], Any]  # the next event

_Scalar = yaml.ScalarEvent
_SequenceStart = yaml.SequenceStartEvent
_SequenceEnd = yaml.SequenceEndEvent
_MappingStart = yaml.MappingStartEvent
_MappingEnd = yaml.MappingEndEvent
_Alias = yaml.AliasEvent
_DocumentEnd = yaml.DocumentEndEvent


class _Recording:
    """One document's events, kept so that an alias can build its anchor's again.

    Reading them checks each alias has an anchor before it (as go-yaml v3 does, an
    anchor defined again names a new node from there on) and counts the document's
    nodes, which sizes the alias budget.
    """

    __slots__ = ('events', 'nodes', 'targets')

    def __init__(self, get: Get) -> None:
        self.events: list[Any] = []
        self.targets: dict[int, list[int]] = {}  # id(alias) -> its node's events
        self.nodes = 0
        anchors: dict[str, list[int]] = {}
        open_: list[list[int] | None] = []  # the anchor of each collection not closed
        events = self.events
        event = get()
        while type(event) is not _DocumentEnd:
            kind = type(event)
            at = len(events)
            events.append(event)
            if kind is _Alias:
                target = anchors.get(event.anchor)
                if target is None:
                    raise _undefined(event)
                self.targets[id(event)] = target
            elif kind is _SequenceEnd or kind is _MappingEnd:
                span = open_.pop()
                if span is not None:
                    span[1] = at + 1
            else:
                self.nodes += 1
                # defined from here on: an alias inside it is one to itself
                span = None if event.anchor is None else [at, at + 1]
                if span is not None:
                    anchors[event.anchor] = span
                if kind is not _Scalar:
                    open_.append(span)
            event = get()

    def replay(self, alias: Any) -> Get:
        """The events of ALIAS's anchor, again."""
        start, end = self.targets[id(alias)]
        return map(self.events.__getitem__, range(start, end)).__next__


class _Builder:
    """Builds one document from libyaml's events into plain Python.

    POSITIONS, when given, receives the (line, column) of every node by its path.
    RECORDING, when the stream has anchors, holds the document's events: an alias
    builds its anchor's events again, within BUDGET, so that an alias bomb fails
    fast. Errors come in the order PyYAML's composer gives them, as they always
    have: the syntax of the whole document first.
    """

    __slots__ = ('budget', 'positions', 'recording')

    def __init__(
        self,
        positions: dict[NodePath, tuple[int, int]] | None,
        recording: _Recording | None = None,
        budget: _Budget | None = None,
    ) -> None:
        self.positions = positions
        self.recording = recording
        self.budget = budget

    def document(self, get: Get) -> Any:
        """The document whose events GET gives, up to and including its end."""
        if self.recording is not None:
            get = iter(self.recording.events).__next__
            return self.node(get, get(), (), 0, None)
        try:
            value = self.node(get, get(), (), 0, None)
        except BadYaml:
            _finish(get)  # a syntax error or a bad alias further down comes first
            raise
        get()  # the document's end
        return value

    def node(self, get: Get, event: Any, path: NodePath, depth: int, mark: Any) -> Any:
        """EVENT's node (the rest of it from GET) as plain Python. PATH is where it
        is (kept only for positions), DEPTH how many collections enclose it, MARK
        where its key starts, if it has one: a mapping entry is reported at its key,
        the line an editor should jump to."""
        kind = type(event)
        if kind is _Alias:
            get, event = self._follow(event)
            kind = type(event)
        if self.budget is not None:
            self.budget.spend(len(event.value) if kind is _Scalar else 0, event.start_mark)
        positions = self.positions
        if positions is not None:
            where = mark or event.start_mark
            positions[path] = (where.line + 1, where.column + 1)
        if kind is _Scalar:
            tag = event.tag
            if tag is None:
                return resolve_plain(event.value)[1] if event.implicit[0] else event.value
            return _explicit(tag, event.value, event.style)
        if depth >= C.YAML_MAX_DEPTH:
            raise _too_deep(event.start_mark)
        if kind is _SequenceStart:
            items: list[Any] = []
            item = get()
            while type(item) is not _SequenceEnd:
                items.append(
                    self.node(
                        get,
                        item,
                        (*path, len(items)) if positions is not None else path,
                        depth + 1,
                        None,
                    )
                )
                item = get()
            return _collection(event.tag, items)
        return _collection(event.tag, self._mapping(get, path, depth))

    def _mapping(self, get: Get, path: NodePath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        # every key's event, for the line of a duplicate's first (only with positions:
        # a build without them starts again with them when it meets a duplicate)
        keys: list[Any] | None = [] if self.positions is not None else None
        key = get()
        while type(key) is not _MappingEnd:
            if type(key) is _Alias:
                key = self._follow(key)[1]
            if type(key) is not _Scalar:
                raise BadYaml('a mapping key must be a scalar', key.start_mark)
            name = key.value
            if (name == '<<' or key.tag is not None) and _merges(key):
                self._merge_into(merged, get, get(), path, depth)
                key = get()
                continue
            if keys is not None:
                if name in result:
                    first = next(k for k in keys if k.value == name)
                    raise BadYaml(
                        f'duplicate key {name!r} (first at line {first.start_mark.line + 1})',
                        key.start_mark,
                    )
                keys.append(key)
            elif name in result:
                raise _NeedsPositions
            if self.budget is not None:
                self.budget.spend(len(name), key.start_mark)
            result[name] = self.node(
                get,
                get(),
                (*path, name) if self.positions is not None else path,
                depth + 1,
                key.start_mark,
            )
            key = get()
        for name, value in merged.items():
            result.setdefault(name, value)
        return result

    def _merge_into(
        self, merged: dict[str, Any], get: Get, event: Any, path: NodePath, depth: int
    ) -> None:
        """Merge key (<<) values: a mapping, or a list of them. Each is built at the
        mapping's own path, as the values it gives land there."""
        if type(event) is _Alias:
            get, event = self._follow(event)
        if type(event) is not _SequenceStart:
            self._merge_one(merged, get, event, path, depth)
            return
        source = get()
        while type(source) is not _SequenceEnd:
            inner, first = self._follow(source) if type(source) is _Alias else (get, source)
            self._merge_one(merged, inner, first, path, depth)
            source = get()

    def _merge_one(
        self, merged: dict[str, Any], get: Get, event: Any, path: NodePath, depth: int
    ) -> None:
        if type(event) is not _MappingStart or _local(event.tag):
            raise BadYaml('a merge key (<<) needs a mapping or a list of them', event.start_mark)
        # one level deeper, though its values land at PATH: a mapping that merges
        # itself would otherwise recurse without end
        for name, value in self.node(get, event, path, depth + 1, None).items():
            merged.setdefault(name, value)

    def _follow(self, alias: Any) -> tuple[Get, Any]:
        """The events of ALIAS's anchor, again, and the first of them."""
        if self.recording is None:  # the stream has no anchor
            raise _undefined(alias)
        get = self.recording.replay(alias)
        return get, get()


def _merges(key: Any) -> bool:
    """Whether KEY is a merge key: a plain `<<`, or one tagged !!merge."""
    if key.tag is None:
        return key.value == '<<' and key.implicit[0]  # type: ignore[no-any-return]
    return key.tag == _MERGE  # type: ignore[no-any-return]


class _NeedsPositions(Exception):
    """A duplicate key met without positions: its error names the first one's line."""


def _finish(get: Get) -> None:
    """Read the rest of a document (after an error in it) for an error PyYAML's
    composer would have raised first."""
    event = get()
    while type(event) is not _DocumentEnd:
        if type(event) is _Alias:
            raise _undefined(event)
        event = get()


def invalid_yaml(path: str, exc: yaml.YAMLError) -> InvalidYamlError:
    """A parser's or a builder's error as the user sees it."""
    mark = getattr(exc, 'problem_mark', None) or getattr(exc, 'mark', None)
    message = getattr(exc, 'message', None) or getattr(exc, 'problem', None) or str(exc)
    context = getattr(exc, 'context', None)
    if context and not isinstance(exc, BadYaml):
        message = f'{context}, {message}'
    loc = Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path)
    return InvalidYamlError(
        f'invalid YAML: {message}',
        location=loc,
        hint=getattr(exc, 'hint', None) or 'fix the YAML syntax at that position',
    )


def _documents(
    text: str | bytes,
    path: str,
    *,
    with_positions: bool,
) -> list[tuple[Any, dict[NodePath, tuple[int, int]]]]:
    """Every document of TEXT, with its positions (empty unless WITH_POSITIONS)."""
    try:
        return _build(text, path, with_positions=with_positions)
    except _NeedsPositions:
        return _build(text, path, with_positions=True)


def _build(
    text: str | bytes,
    path: str,
    *,
    with_positions: bool,
) -> list[tuple[Any, dict[NodePath, tuple[int, int]]]]:
    # Without an anchor there can be no alias: nothing to record, nothing to count.
    has_anchor = ('&' in text) if isinstance(text, str) else (b'&' in text)
    budget = _Budget(len(text)) if has_anchor else None
    found = []
    try:
        parser = CParser(text)
        get = parser.get_event
        try:
            get()  # the stream's start
            while type(get()) is not yaml.StreamEndEvent:  # a document's start
                positions: dict[NodePath, tuple[int, int]] = {}
                recording = None
                if budget is not None:
                    recording = _Recording(get)
                    budget.nodes += C.ALIAS_EXPANSION_FACTOR * recording.nodes
                builder = _Builder(positions if with_positions else None, recording, budget)
                found.append((builder.document(get), positions))
        finally:
            parser.dispose()
    except yaml.YAMLError as exc:
        raise invalid_yaml(path, exc) from None
    except UnicodeDecodeError as exc:
        raise InvalidYamlError(f'not UTF-8 text: {exc.reason}', location=Location(path)) from None
    return found


def load(text: str | bytes, path: str) -> Any:
    """One YAML document as plain Python (None for an empty file)."""
    docs = load_all(text, path)
    if len(docs) > 1:
        raise InvalidYamlError(
            f'expected one YAML document, found {len(docs)}',
            location=Location(path),
            hint='split the documents or remove the extra `---`',
        )
    return docs[0] if docs else None


def load_all(text: str | bytes, path: str) -> list[Any]:
    return [doc for doc, _ in _documents(text, path, with_positions=False)]


def load_all_located(
    text: str | bytes,
    path: str,
) -> list[tuple[Any, dict[NodePath, tuple[int, int]]]]:
    """Every document with the (line, column) of each node, keyed by its path."""
    return _documents(text, path, with_positions=True)
