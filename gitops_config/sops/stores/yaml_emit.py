"""sops tree -> YAML text exactly as sops's go-yaml v3 encoder writes it (indent 4)."""

from __future__ import annotations

import math
import re
from typing import cast

from gitops_config.sops import format as fmt
from gitops_config.sops.stores.yaml_load import go_timestamp
from gitops_config.sops.tree import Branch, Comment, Timestamp, Value
from gitops_config.yaml_io import resolve_plain

INDENT = 4
# YAML 1.1 booleans: go-yaml quotes them so that old readers keep them strings
_OLD_BOOLS = frozenset((
    'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO',
    'on', 'On', 'ON', 'off', 'Off', 'OFF',
))
_BASE60 = re.compile(r'^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$')
_ESCAPES = {
    '\0': '\\0', '\a': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v',
    '\f': '\\f', '\r': '\\r', '\x1b': '\\e', '"': '\\"', '\\': '\\\\', '\x85': '\\N',
    '\xa0': '\\_', '\u2028': '\\L', '\u2029': '\\P',
}


def emit(docs: list[Branch]) -> str:
    parts = []
    for doc in docs:
        lines: list[str] = []
        if doc:
            _mapping(doc, 0, 0, lines)
        else:
            lines.append('{}')
        parts.append('\n'.join(lines) + '\n')
    return '---\n'.join(parts)


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (o == 0x0A or 0x20 <= o <= 0x7E or o == 0x85 or 0xA0 <= o <= 0xD7FF
            or (0xE000 <= o <= 0xFFFD and o != 0xFEFF) or 0x10000 <= o <= 0x10FFFF)


def _needs_quotes(s: str) -> bool:
    """go-yaml's encoder: a string that would read back as another type is quoted."""
    if s in _OLD_BOOLS or _BASE60.match(s):
        return True
    if s[:1].isdigit() and go_timestamp(s) is not None:
        return True
    tag = resolve_plain(s)[0]
    return not tag.endswith(':str')


def _analyze(s: str) -> tuple[bool, bool, bool]:
    """(plain allowed, single quotes allowed, block allowed), after go-yaml's analyzer."""
    if not s:
        return False, True, False
    block_ind = s.startswith(('---', '...'))
    special = leading_space = trailing_space = space_break = break_space = False
    line_breaks = False
    prev_ws = True
    n = len(s)
    for i, ch in enumerate(s):
        nxt_ws = i + 1 >= n or s[i + 1] in ' \t\r\n\x85\u2028\u2029'
        if i == 0:
            if ch in '#,[]{}&*!|>\'"%@`' or (ch in '?:-' and nxt_ws):
                block_ind = True
        elif (ch == ':' and nxt_ws) or (ch == '#' and prev_ws):
            block_ind = True
        if not _printable(ch) or ch == '\ufeff':
            special = True
        if ch in '\n\x85\u2028\u2029':
            line_breaks = True
        if ch == ' ':
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if i + 1 < n and s[i + 1] == '\n':
                space_break = True
        elif ch == '\n' and i + 1 < n and s[i + 1] == ' ':
            break_space = True
        prev_ws = ch in ' \t\r\n\x85\u2028\u2029'
    leading_break = s[0] == '\n'
    trailing_break = s[-1] == '\n'
    plain = not (block_ind or special or line_breaks or leading_space or trailing_space
                 or leading_break or trailing_break or space_break or break_space)
    single = not (special or space_break or break_space)
    block = not (special or space_break or trailing_space)
    return plain, single, block


def _double(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not _printable(ch) or ch == '\ufeff':
            o = ord(ch)
            out.append(f'\\x{o:02X}' if o <= 0xFF else
                       f'\\u{o:04X}' if o <= 0xFFFF else f'\\U{o:08X}')
        else:
            out.append(ch)
    return '"' + ''.join(out) + '"'


def string(s: str, *, key: bool = False) -> str | list[str]:
    """One line of scalar text, or the lines of a literal block (header first)."""
    if _needs_quotes(s):
        return _double(s)
    plain, single, block = _analyze(s)
    if '\n' in s and not key:
        if block:
            return _literal(s)
        return _double(s)
    if plain:
        return s
    if single and '\n' not in s:
        return "'" + s.replace("'", "''") + "'"
    return _double(s)


def _literal(s: str) -> list[str]:
    header = '|'
    if s[0] in ' \n':
        header += str(INDENT)
    if not s.endswith('\n'):
        header += '-'
    elif s == '\n' or s.endswith('\n\n'):
        header += '+'
    body = s[:-1] if s.endswith('\n') else s
    return [header, *body.split('\n')]


def scalar(value: Value) -> str | list[str]:
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return '.nan'
        if math.isinf(value):
            return '.inf' if value > 0 else '-.inf'
        return fmt.format_float_g(value)
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, bytes):
        return string(value.decode('utf-8', 'replace'))
    assert isinstance(value, str)
    return string(value)


def _put(prefix: str, text: str | list[str], base: int, lines: list[str]) -> None:
    if isinstance(text, str):
        lines.append(prefix + text)
        return
    lines.append(prefix + text[0])
    pad = ' ' * (base + INDENT)
    lines.extend(pad + t if t else '' for t in text[1:])


def _mapping(branch: Branch, base: int, col: int, lines: list[str], first: str = '') -> None:
    """Write a mapping whose keys start at `col`; its children indent from `base`."""
    for i, (key, value) in enumerate(branch):
        lead = first if i == 0 and first else ' ' * col
        if isinstance(key, Comment):
            lines.append(lead + '#' + key.text)
            continue
        # go-yaml writes a literal `<<` key (sops keeps merge keys unexpanded) with its tag
        k = '!!merge <<' if key == '<<' else string(key, key=True)
        assert isinstance(k, str)
        prefix = f'{lead}{k}:'
        if isinstance(value, Branch):
            if not value:
                lines.append(prefix + ' {}')
            else:
                lines.append(prefix)
                _mapping(value, base + INDENT, base + INDENT, lines)
        elif isinstance(value, list):
            if not value:
                lines.append(prefix + ' []')
            else:
                lines.append(prefix)
                _sequence(cast(list[Value], value), base + INDENT, lines)
        elif isinstance(value, Comment):
            lines.append(prefix + ' #' + value.text)
        else:
            _put(prefix + ' ', scalar(value), base, lines)


def _sequence(items: list[Value], dash: int, lines: list[str], first: str = '') -> None:
    for i, item in enumerate(items):
        lead = first if i == 0 and first else ' ' * dash
        if isinstance(item, Comment):
            lines.append(lead + '#' + item.text)
        elif isinstance(item, Branch):
            if not item:
                lines.append(lead + '- {}')
            else:
                _mapping(item, dash, dash + 2, lines, first=lead + '- ')
        elif isinstance(item, list):
            if not item:
                lines.append(lead + '- []')
            else:
                _sequence(cast(list[Value], item), dash + 2, lines, first=lead + '- ')
        else:
            _put(lead + '- ', scalar(item), dash, lines)
