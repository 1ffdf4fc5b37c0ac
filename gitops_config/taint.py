"""Values computed from secrets, as templates see them.

A secret reaches a template as its plaintext, so that filters and methods
work on the real value, but in a type that marks it: a `Tainted` string (a
`str` for every purpose of a template), a tainted number, a tainted container.
The sandbox (sandbox/) taints again everything computed from one, and a
string remembers, through concatenation, which of its characters came from a
secret (its spans); rendering turns every rendered leaf holding such a
character into a Secret (rendered_secrets.py). A sealed secret (no key) takes
part as a placeholder and its descendants stay sealed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import ItemsView
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import KeysView
from collections.abc import ValuesView
from dataclasses import dataclass
from typing import Any

from gitops_config.redact import MASK
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret

# A secret shorter than this would mask unrelated text ("1", "true") in messages.
MIN_SECRET_LENGTH = 4

# How much of a secret a value holds: nothing, an open secret, a sealed one (bits).
NONE, OPEN, SEALED = 0, 1, 3

Span = tuple[int, int, bool]  # [start, end) of secret-derived characters; sealed


class Tainted(str):
    """Text computed from a secret. Its spans say which characters are."""

    # str subclasses cannot have __slots__: these live in the instance's __dict__
    spans: tuple[Span, ...]
    source: bool  # the secret itself, not computed from it

    def __new__(
        cls,
        text: str,
        spans: tuple[Span, ...] | None = None,
        *,
        sealed: bool = False,
        source: bool = False,
    ) -> Tainted:
        self = str.__new__(cls, text)
        self.spans = spans if spans is not None else ((0, len(text), sealed),)
        self.source = source
        return self

    def __str__(self) -> Tainted:  # str(x) in a template keeps the mark
        return self

    @property
    def level(self) -> int:
        return SEALED if any(sealed for _, _, sealed in self.spans) else OPEN


class _TaintedNumber:
    """What tainted ints and floats share: printing them gives tainted text."""

    sealed: bool
    source: bool

    def _mark(self, *, sealed: bool, source: bool) -> None:
        self.sealed = sealed
        self.source = source

    @property
    def level(self) -> int:
        return SEALED if self.sealed else OPEN

    def __str__(self) -> Tainted:
        return Tainted(repr(self), sealed=self.sealed)


class TaintedInt(_TaintedNumber, int):
    boolean: bool  # a secret that is true or false (bool cannot be subclassed)

    def __new__(
        cls, value: int, *, sealed: bool = False, source: bool = False, boolean: bool = False
    ) -> TaintedInt:
        self = int.__new__(cls, value)
        self._mark(sealed=sealed, source=source)
        self.boolean = boolean
        return self

    def __repr__(self) -> str:
        return repr(bool(int(self))) if self.boolean else int.__repr__(self)


class TaintedFloat(_TaintedNumber, float):
    def __new__(
        cls,
        value: float,
        *,
        sealed: bool = False,
        source: bool = False,
    ) -> TaintedFloat:
        self = float.__new__(cls, value)
        self._mark(sealed=sealed, source=source)
        return self

    def __repr__(self) -> str:
        return float.__repr__(self)


class _Shaped:
    """A container whose shape (length, keys, order) was computed from a secret."""

    sealed: bool

    @property
    def level(self) -> int:
        return SEALED if self.sealed else OPEN


class TaintedList(_Shaped, list[Any]):
    pass


class TaintedTuple(_Shaped, tuple[Any, ...]):
    pass


class TaintedDict(_Shaped, dict[Any, Any]):
    pass


class TaintedIter(_Shaped):
    """An iterator computed from a secret: every item it gives is tainted."""

    def __init__(self, items: Iterable[Any], sealed: bool) -> None:
        self._items = iter(items)
        self.sealed = sealed

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return derive(next(self._items), self.level)


class Held:
    """An iterator over data that holds secrets (moved, not computed from them): the
    items keep their own marks; LEVEL says what a consumer of the whole must assume."""

    def __init__(self, items: Iterable[Any], level: int) -> None:
        self._items = iter(items)
        self.level = level

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._items)


# Jinja names a value's type in its messages ("'str object' has no attribute 'x'"):
# a user reads the same words as for the plain value. (Pickling one now fails
# loudly, as nothing tainted may leave the process that renders.)
for _tainted, _plain in (
    (Tainted, str),
    (TaintedInt, int),
    (TaintedFloat, float),
    (TaintedList, list),
    (TaintedTuple, tuple),
    (TaintedDict, dict),
):
    _tainted.__module__ = 'builtins'
    _tainted.__name__ = _plain.__name__

SCALARS = (Tainted, TaintedInt, TaintedFloat)
SHAPED = (TaintedList, TaintedTuple, TaintedDict, TaintedIter)
# A value of one of these types is itself tainted (not merely holding tainted items).
TAINTED = frozenset({*SCALARS, *SHAPED})


def derive(value: Any, level: int, keep: Iterable[Any] = ()) -> Any:
    """VALUE, computed from secrets of LEVEL, as a tainted value; an input in KEEP
    that comes back unchanged keeps its own marks."""
    sealed = level == SEALED
    kind = type(value)
    if kind in TAINTED and any(value is k for k in keep):
        return value
    if isinstance(value, str):
        if isinstance(value, Tainted):
            sealed = sealed or value.level == SEALED
        for k in keep:  # the same text as an input: the same characters are secret
            if type(k) is Tainted and str.__eq__(k, value):
                return Tainted(value, k.spans if not sealed else None, sealed=sealed)
        return Tainted(value, sealed=sealed)
    if kind is bool or (kind is TaintedInt and value.boolean):
        raise SecretFlow('gives true or false')
    if isinstance(value, int):
        return TaintedInt(value, sealed=sealed)
    if isinstance(value, float):
        return TaintedFloat(value, sealed=sealed)
    found: _Shaped
    if isinstance(value, dict):
        found = TaintedDict((derive(k, level), derive(v, level)) for k, v in value.items())
    elif isinstance(value, tuple):
        found = TaintedTuple(derive(v, level) for v in value)
    elif isinstance(value, (list, range, set, frozenset, KeysView, ValuesView, ItemsView)):
        found = TaintedList(derive(v, level) for v in value)
    elif isinstance(value, (Iterator, TaintedIter, Held)):
        return TaintedIter(value, sealed)
    elif value is None:
        raise SecretFlow('gives nothing (None)')
    else:
        raise SecretFlow(f'gives a {type(value).__name__}, which cannot carry a secret')
    found.sealed = sealed
    return found


class SecretFlow(Exception):
    """Raised inside the sandbox where a secret would become plain: names what."""


def join_text(parts: Iterable[str]) -> str:
    """The parts joined; Tainted when any part is, with each part's spans in place."""
    parts = list(parts)
    text = ''.join(parts)
    spans: list[Span] = []
    offset = 0
    for part in parts:
        if type(part) is Tainted:
            spans.extend((offset + s, offset + e, sealed) for s, e, sealed in part.spans)
        offset += len(part)
    return Tainted(text, tuple(spans)) if spans else text


SEALED_PREFIX = 'SEALED-SECRET-'


def sealed_placeholder(secret: SealedSecret) -> str:
    digest = hashlib.sha256(secret.ciphertext.encode()).hexdigest()[:16]
    return f'{SEALED_PREFIX}{digest}'


@dataclass(frozen=True, slots=True)
class Taint:
    """The plaintexts of an environment's secrets (and their base64): what error
    messages are scrubbed of, whatever else masked them first."""

    needles: tuple[tuple[str, Secret | SealedSecret], ...]

    def scrub(self, text: str) -> str:
        for needle, _ in self.needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def find(self, text: str) -> Secret | SealedSecret | None:
        for needle, secret in self.needles:
            if needle in text:
                return secret
        return None


def reveal(node: Any, needles: list[tuple[str, Secret | SealedSecret]]) -> Any:
    """NODE with every secret as the tainted value a template sees (a sealed one as a
    placeholder); a subtree without secrets is returned as it is, not copied."""
    if isinstance(node, Secret):
        plain = node.reveal()
        _needle(plain if isinstance(plain, str) else str(plain), node, needles)
        return _tainted_source(plain, sealed=False)
    if isinstance(node, SealedSecret):
        text = sealed_placeholder(node)
        _needle(text, node, needles)
        return Tainted(text, sealed=True, source=True)
    if isinstance(node, dict):
        revealed = {k: reveal(v, needles) for k, v in node.items()}
        return node if all(revealed[k] is v for k, v in node.items()) else revealed
    if isinstance(node, list):
        items = [reveal(v, needles) for v in node]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    return node


def _tainted_source(plain: object, *, sealed: bool) -> Any:
    if isinstance(plain, bool):
        return TaintedInt(plain, sealed=sealed, source=True, boolean=True)
    if isinstance(plain, int):
        return TaintedInt(plain, sealed=sealed, source=True)
    if isinstance(plain, float):
        return TaintedFloat(plain, sealed=sealed, source=True)
    text = plain.decode('utf-8', 'replace') if isinstance(plain, bytes) else str(plain)
    return Tainted(text, sealed=sealed, source=True)


def _needle(
    text: str, secret: Secret | SealedSecret, needles: list[tuple[str, Secret | SealedSecret]]
) -> None:
    if len(text) >= MIN_SECRET_LENGTH:
        needles.append((text, secret))
        needles.append((base64.b64encode(text.encode()).decode(), secret))


def bytes_tainted(raw: bytes, taint: Taint | None) -> bool:
    """Whether a file copied as it is holds a secret's plaintext."""
    if taint is None:
        return False
    try:
        return taint.find(raw.decode()) is not None
    except UnicodeDecodeError:
        return False
