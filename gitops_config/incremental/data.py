"""What the on-disk cache may hold: plain data, never code, never a secret.

Entries are msgpack: decoding one builds dicts, lists, strings, numbers and the
few records a caller names, and runs nothing else, so an entry that another
job or a hostile pull request wrote can at worst be a miss. msgpack keeps
apart every pair of values YAML keeps apart (1, 1.0 and True; 0.0 and -0.0;
"1" and 1; null and ""; mapping keys of any scalar type) at C speed, which a
JSON encoding would need a pass in Python for.

The encoder accepts only exact types it knows: a Secret, a SealedSecret or
anything else it was not told about is refused, so nothing derived from a
secret reaches the cache through it, whatever carries it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import msgpack

from gitops_config.yaml_io import Tagged

# Extension types: what msgpack has no type of its own for.
_TUPLE = 1
_RECORD = 2  # [name, *fields]: one of the record classes the caller names
_ENUM = 3  # [name, value]
_BIG_INT = 4  # beyond 64 bits, as decimal text


class Refused(Exception):
    """The value holds something the cache may not keep (a secret, an unknown type)."""


class Damaged(Exception):
    """An entry that does not decode to the data that was asked for: a miss."""


class Kinds:
    """The record and enum classes that one kind of entry may hold, by name."""

    def __init__(self, classes: Iterable[type] = ()) -> None:
        self.by_name: dict[str, type] = {}
        self.fields: dict[type, tuple[str, ...]] = {}
        for cls in classes:
            name = f'{cls.__module__}.{cls.__qualname__}'
            self.by_name[name] = cls
            if dataclasses.is_dataclass(cls):
                self.fields[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
            elif not issubclass(cls, enum.Enum):
                self.fields[cls] = tuple(getattr(cls, '__slots__', ()))
        self.names = {cls: name for name, cls in self.by_name.items()}


PLAIN = Kinds()


def dumps(value: Any, kinds: Kinds = PLAIN) -> bytes:
    """VALUE as an entry; Refused if it holds anything but data of KINDS."""
    try:
        packed: bytes = msgpack.packb(
            value, default=_encoder(kinds), strict_types=True, use_bin_type=True
        )
    except Refused:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise Refused(str(exc)) from None
    return packed


def token(value: Any) -> bytes | None:
    """An exact encoding of VALUE (YAML data), for keys: equal only for values YAML
    cannot tell apart (0.0 and -0.0 differ, as do 1, 1.0 and True, and mappings
    whose keys come in another order), whichever objects hold them. None for
    anything the cache may not hold."""
    try:
        packed: bytes = msgpack.packb(
            value, default=_YAML_ENCODER, strict_types=True, use_bin_type=True
        )
    except (Refused, TypeError, ValueError, OverflowError):
        return None
    return packed


def _encoder(kinds: Kinds) -> Callable[[Any], Any]:
    def default(value: Any) -> Any:
        cls = type(value)
        if cls is tuple:
            return msgpack.ExtType(_TUPLE, dumps(list(value), kinds))
        if cls is int:  # one msgpack cannot hold in 64 bits
            return msgpack.ExtType(_BIG_INT, str(value).encode())
        name = kinds.names.get(cls)
        if name is None:
            raise Refused(f'the cache keeps no {cls.__name__}')
        if isinstance(value, enum.Enum):
            return msgpack.ExtType(_ENUM, dumps([name, value.value], kinds))
        fields = [getattr(value, f) for f in kinds.fields[cls]]
        return msgpack.ExtType(_RECORD, dumps([name, *fields], kinds))

    return default


def loads(blob: bytes, kinds: Kinds = PLAIN, *, tuples: bool = False) -> Any:
    """The data of an entry; Damaged when it is not a well-formed one. TUPLES: every
    sequence as a tuple (for entries that hold no list), at C speed."""
    try:
        return _loads(blob, kinds, tuples)
    except Exception as exc:  # anything malformed, however it fails, is a miss
        raise Damaged(str(exc)) from None


def _loads(blob: bytes, kinds: Kinds, tuples: bool = False) -> Any:
    def ext_hook(code: int, data: bytes) -> Any:
        if code == _BIG_INT:
            if len(data) > 4300:  # Python's own limit on int() of text
                raise ValueError('integer too long')
            return int(data.decode('ascii'))
        inner = _loads(data, kinds, tuples)
        if code == _TUPLE and type(inner) in (list, tuple):
            return tuple(inner)
        if code in (_RECORD, _ENUM) and type(inner) in (list, tuple) and inner:
            cls = kinds.by_name.get(inner[0]) if type(inner[0]) is str else None
            if cls is None:
                raise ValueError(f'not a kind of this entry: {inner[0]!r}')
            if code == _ENUM and issubclass(cls, enum.Enum) and len(inner) == 2:
                return cls(inner[1])
            if code == _RECORD and len(inner) == len(kinds.fields.get(cls, ())) + 1:
                return cls(*inner[1:])
        raise ValueError(f'malformed extension {code}')

    return msgpack.unpackb(
        blob, ext_hook=ext_hook, strict_map_key=False, raw=False, use_list=not tuples
    )


# What YAML data holds besides dicts, lists and scalars: a node with a local tag.
YAML = Kinds([Tagged])
_YAML_ENCODER = _encoder(YAML)
