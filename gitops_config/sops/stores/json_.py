"""JSON store: Go encoding/json reading (every number a float64) and json.Indent output."""

from __future__ import annotations

import json
import math
from typing import Any
from typing import cast

from gitops_config.sops import format as fmt
from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import Value


def _pairs(pairs: list[tuple[str, Any]]) -> Branch:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise SopsFormatError(f'duplicate key {key!r}')
        seen.add(key)
    return Branch(pairs)


def load(data: bytes, path: str) -> list[Branch]:
    try:
        # sops <= 3.13.1 decodes every JSON number as float64 (type:float)
        value = json.loads(data, object_pairs_hook=_pairs, parse_int=float)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SopsFormatError(f'{path}: invalid JSON: {exc}') from None
    if not isinstance(value, Branch):
        raise SopsFormatError(f'{path}: the top level of a JSON document must be an object')
    return [value]


def _string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    # Go's json.Marshal escapes HTML characters and the JS line separators.
    return (
        out.replace('<', '\\u003c')
        .replace('>', '\\u003e')
        .replace('&', '\\u0026')
        .replace('\u2028', '\\u2028')
        .replace('\u2029', '\\u2029')
    )


def _value(value: Value, depth: int, out: list[str]) -> None:
    pad = '\t' * (depth + 1)
    if isinstance(value, Branch):
        items = [(k, v) for k, v in value if isinstance(k, str)]
        if not items:
            out.append('{}')
            return
        out.append('{\n')
        for i, (k, v) in enumerate(items):
            out.append(f'{pad}{_string(k)}: ')
            _value(v, depth + 1, out)
            out.append(',\n' if i < len(items) - 1 else '\n')
        out.append('\t' * depth + '}')
    elif isinstance(value, list):
        elems = [v for v in cast(list[Value], value) if not isinstance(v, Comment)]
        if not elems:
            out.append('[]')
            return
        out.append('[\n')
        for i, v in enumerate(elems):
            out.append(pad)
            _value(v, depth + 1, out)
            out.append(',\n' if i < len(elems) - 1 else '\n')
        out.append('\t' * depth + ']')
    elif value is None:
        out.append('null')
    elif isinstance(value, bool):
        out.append('true' if value else 'false')
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise SopsFormatError('JSON cannot hold NaN or infinity')
        out.append(fmt.format_float_json(value))
    elif isinstance(value, Timestamp):
        out.append(_string(value.text))
    elif isinstance(value, bytes):
        out.append(_string(value.decode('utf-8', 'replace')))
    elif isinstance(value, str):
        out.append(_string(value))
    else:
        raise SopsFormatError(f'cannot write {type(value).__name__} as JSON')


def emit(docs: list[Branch]) -> bytes:
    out: list[str] = []
    _value(docs[0], 0, out)
    return (''.join(out) + '\n').encode()
