"""Which values of a rendered file hold text computed from a secret.

A template's output knows which of its characters came from a secret (the
spans of a taint.Tainted). Each such character must lie inside one value of
the parsed file: that value becomes a Secret, which is written SOPS-encrypted
and masked in every report. A character anywhere else (a mapping key, a
comment, YAML syntax, a value with a tag or an anchor, a value repeated
through an alias) would be written in plain text, so rendering stops there.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Any

from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.taint import Tainted
from gitops_config.yaml_io import Tagged
from gitops_config.yaml_io.spans import Scalar
from gitops_config.yaml_io.spans import layout


class Misplaced(Exception):
    """Secret-derived text at OFFSET of the output where no value can carry it."""

    def __init__(self, offset: int, what: str) -> None:
        super().__init__(what)
        self.offset = offset
        self.what = what


def mark(text: Tainted, documents: list[Any]) -> bool:
    """Turn each value of DOCUMENTS (parsed from TEXT) that holds secret-derived text
    into a Secret, in place; whether there was any. Raises Misplaced."""
    found = layout(text)
    starts = [s.start for s in found.scalars]
    touched: dict[tuple[int, tuple[Any, ...]], tuple[Scalar, bool]] = {}
    for start, end, sealed in text.spans:
        if start == end:  # an empty value computed from a secret: the value holding it
            node = _holder(found.scalars, starts, start, text)
            if node is not None and not node.key:
                _touch(touched, node, sealed)
            continue
        at = start
        while at < end:
            node = _at(found.scalars, starts, at)
            if node is None:
                raise Misplaced(at, 'is not inside a value (a comment, or YAML syntax)')
            if node.key:
                raise Misplaced(at, 'is a mapping key')
            if node.decorated:
                raise Misplaced(at, 'is a value with a YAML tag or anchor')
            _touch(touched, node, sealed)
            at = node.end
    for anchor, at in found.aliases:
        begin, stop = found.anchored[anchor]
        if any(
            (s < stop and begin < e) or (s == e and begin <= s <= stop) for s, e, _ in text.spans
        ):
            raise Misplaced(at, f'is repeated through the YAML alias *{anchor}')
    for node, sealed in touched.values():
        _replace(documents, node, text[node.start : node.end], sealed)
    return bool(touched)


def _at(scalars: list[Scalar], starts: list[int], offset: int) -> Scalar | None:
    i = bisect.bisect_right(starts, offset) - 1
    if i >= 0 and scalars[i].start <= offset < scalars[i].end:
        return scalars[i]
    return None


def _holder(
    scalars: list[Scalar],
    starts: list[int],
    offset: int,
    text: str,
) -> Scalar | None:
    """The scalar an empty piece of text at OFFSET is part of: one around it, or an
    empty one (`v: ` is null where the colon ends) with only blanks in between."""
    i = bisect.bisect_right(starts, offset) - 1
    if i < 0:
        return None
    node = scalars[i]
    if node.start <= offset <= node.end or (
        node.start == node.end and not text[node.end : offset].strip(' \t')
    ):
        return node
    return None


def _touch(
    touched: dict[tuple[int, tuple[Any, ...]], tuple[Scalar, bool]], node: Scalar, sealed: bool
) -> None:
    key = (node.doc, node.path)
    before = touched.get(key)
    touched[key] = (node, sealed or (before is not None and before[1]))


def _replace(documents: list[Any], node: Scalar, source: str, sealed: bool) -> None:
    """The value at NODE's path becomes a Secret (a SealedSecret if a sealed secret
    went into it: its plaintext is not known)."""
    parent: Any = documents
    steps: tuple[Any, ...] = (node.doc, *node.path)
    try:
        for step in steps[:-1]:
            parent = parent[step]
            if isinstance(parent, Tagged):
                parent = parent.value
        value = parent[steps[-1]]
    except (LookupError, TypeError):  # a merge key (<<) moved it: cannot tell where
        raise Misplaced(node.start, 'is in a mapping built by a merge key (<<)') from None
    if value is None:  # sops leaves null unencrypted: null would tell it is empty
        raise Misplaced(
            node.start,
            'is empty (null), which cannot be encrypted; quote it ("...") for an empty string',
        )
    if sealed:
        digest = hashlib.sha256(source.encode()).hexdigest()
        parent[steps[-1]] = SealedSecret(f'rendered:{digest}')
    else:
        parent[steps[-1]] = Secret(value)
