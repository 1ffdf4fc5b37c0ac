"""Text built from values that hold secrets, knowing which characters are secret.

`to_json`, `tojson`, `to_yaml` and `indent` are how templates put a block of
values into a file. Tainting their whole result would make every key of the
block secret-derived (an error); instead each tainted leaf's own text is a
span of the result, and the rest is as plain as the values it came from. A
container whose shape was computed from a secret has no such leaves: then the
whole result is tainted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from gitops_config import yaml_io
from gitops_config.taint import SCALARS
from gitops_config.taint import SEALED
from gitops_config.taint import SHAPED
from gitops_config.taint import SecretFlow
from gitops_config.taint import Span
from gitops_config.taint import Tainted
from gitops_config.taint import TaintedInt
from gitops_config.taint import join_text
from gitops_config.yaml_io.spans import layout


class _Shaped(Exception):
    """The value holds a container whose very shape is secret."""


def plain(value: Any) -> Any:
    """A tainted scalar as the plain value it stands for."""
    if isinstance(value, str):
        return str.__str__(value)
    if type(value) is TaintedInt:
        return bool(value) if value.boolean else int(value)
    return float(value)


def _strip(
    node: Any, leaf: Callable[[Any, tuple[int, ...]], Any], slots: tuple[int, ...] = ()
) -> Any:
    """NODE with each tainted scalar replaced by what LEAF makes of it."""
    kind = type(node)
    if kind in SCALARS:
        return leaf(node, slots)
    if kind in SHAPED:
        raise _Shaped
    if isinstance(node, dict):
        if any(type(k) in SCALARS for k in node):
            raise SecretFlow('a secret-derived mapping key')
        return {k: _strip(v, leaf, (*slots, i)) for i, (k, v) in enumerate(node.items())}
    if isinstance(node, (list, tuple)):
        return [_strip(v, leaf, (*slots, i)) for i, v in enumerate(node)]
    return node


def _whole(value: Any, render: Callable[[Any], str]) -> Tainted:
    def deep(node: Any) -> Any:
        if type(node) in SCALARS:
            return plain(node)
        if isinstance(node, dict):
            return {deep(k): deep(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [deep(v) for v in node]
        return node

    return Tainted(render(deep(value)), sealed=_sealed(value))


def _sealed(node: Any) -> bool:
    if type(node) in SCALARS or type(node) in SHAPED:
        return bool(node.level == SEALED)
    if isinstance(node, dict):
        return any(_sealed(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_sealed(v) for v in node)
    return False


def dumps(value: Any, render: Callable[[Any], str]) -> str:
    """RENDER(VALUE) for a JSON RENDER: every tainted leaf's JSON text is a span.

    Each leaf is dumped in place as a unique placeholder string, then the
    placeholder's JSON text is replaced by the leaf's own: JSON writes a
    scalar the same wherever it stands.
    """
    nonce = secrets.token_hex(8)  # no value can know it, so none can equal a placeholder
    leaves: list[Any] = []

    def leaf(node: Any, slots: tuple[int, ...]) -> str:
        leaves.append(node)
        return f'\ue000{nonce}:{len(leaves) - 1}\ue001'

    try:
        stripped = _strip(value, leaf)
    except _Shaped:
        return _whole(value, render)
    found = render(stripped)
    parts: list[str] = []
    rest = found
    for i, node in enumerate(leaves):
        marker = render(f'\ue000{nonce}:{i}\ue001')
        before, _, rest = rest.partition(marker)
        parts += [before, Tainted(render(plain(node)), sealed=node.level == SEALED)]
    parts.append(rest)
    return join_text(parts)


def to_yaml(value: Any, indent: int) -> str:
    """`to_yaml` of VALUE: every tainted leaf's scalar, as the YAML text has it, is a span."""
    leaves: dict[tuple[int, ...], bool] = {}

    def leaf(node: Any, slots: tuple[int, ...]) -> Any:
        leaves[slots] = node.level == SEALED
        return plain(node)

    def render(data: Any) -> str:
        return yaml_io.to_yaml(data, indent=indent).rstrip('\n')

    try:
        stripped = _strip(value, leaf)
    except _Shaped:
        return _whole(value, render)
    found = render(stripped)
    spans = tuple(
        (s.start, s.end, leaves[s.slots])
        for s in layout(found).scalars
        if not s.key and s.slots in leaves
    )
    if len(spans) != len(leaves):  # each leaf is one scalar of the text, or all is secret
        return Tainted(found, sealed=any(leaves.values()))
    return Tainted(found, spans) if spans else found


def indent(s: Tainted, out: str, width: Any, *, first: bool, blank: bool) -> Tainted:
    """S's spans carried over to OUT, Jinja's `indent` of S (a line's indentation lies
    inside a span that runs over the line break before it)."""
    pad = len(width) if isinstance(width, str) else max(int(width), 0)
    chunks = (s + '\n').splitlines(keepends=True)
    lines = (s + '\n').splitlines()
    starts: list[tuple[int, int, int]] = []  # (where it starts in S, in OUT, its length)
    at_in, at_out = 0, pad if first else 0
    for i, (chunk, line) in enumerate(zip(chunks, lines, strict=True)):
        if i:
            at_out += 1 + (pad if blank or line else 0)
        starts.append((at_in, at_out, len(line)))
        at_in += len(chunk)
        at_out += len(line)

    def where(offset: int, *, end: bool) -> int:
        for begin, placed, length in reversed(starts):
            if begin <= offset:
                return placed + min(offset - begin, length) + (1 if end else 0)
        return 0

    spans: list[Span] = []
    for start, stop, sealed in s.spans:
        first_at = where(start, end=False)
        last_at = where(stop - 1, end=True) if stop > start else first_at
        spans.append((min(first_at, len(out)), min(last_at, len(out)), sealed))
    return Tainted(out, tuple(spans))
