"""sops tree -> YAML text exactly as sops's go-yaml v3 encoder writes it (indent 4),
but for integral floats, which keep their `.0` (`scalar`)."""

from __future__ import annotations

import math
import re
from typing import cast

from gitops_config.sops import format as fmt
from gitops_config.sops.stores.yaml_load import go_timestamp
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import Value
from gitops_config.yaml_io import resolve_plain

INDENT = 4
# YAML 1.1 booleans: go-yaml quotes them so that old readers keep them strings
_OLD_BOOLS = frozenset(
    (
        'y',
        'Y',
        'yes',
        'Yes',
        'YES',
        'n',
        'N',
        'no',
        'No',
        'NO',
        'on',
        'On',
        'ON',
        'off',
        'Off',
        'OFF',
    )
)
# Strings that go-yaml certainly writes plain: no indicator first, no `: ` or ` #`,
# no leading/trailing space, printable ASCII only (ENC[...] values are such strings).
_SIMPLE = re.compile(r'[A-Za-z0-9_/+=(](?:[A-Za-z0-9_./+=@(),\[\]-]|:(?=[^ ])| (?=[^ #]))*')
_BASE60 = re.compile(r'^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$')
_BREAKS = '\r\n\x85\u2028\u2029'
_BREAK = re.compile('[\r\n\x85\u2028\u2029]')
_UNICODE_BREAK = re.compile('[\x85\u2028\u2029]')
_ESCAPES = {
    '\0': '\\0',
    '\a': '\\a',
    '\b': '\\b',
    '\t': '\\t',
    '\n': '\\n',
    '\v': '\\v',
    '\f': '\\f',
    '\r': '\\r',
    '\x1b': '\\e',
    '"': '\\"',
    '\\': '\\\\',
    '\x85': '\\N',
    '\xa0': '\\_',
    '\u2028': '\\L',
    '\u2029': '\\P',
}


def emit(docs: list[Branch]) -> str:
    parts = []
    for doc in docs:
        lines: list[str] = []
        if doc:
            _mapping(doc, 0, lines)
        else:
            lines.append('{}')
        parts.append('\n'.join(lines) + '\n')
    return '---\n'.join(parts)


def _printable(ch: str) -> bool:
    # go-yaml's is_printable: no NEL (0x85) and nothing outside the BMP (its UTF-8
    # check stops at 3-byte sequences), so those get escaped in double quotes
    o = ord(ch)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    )


def _needs_quotes(s: str) -> bool:
    """go-yaml's encoder: a string that would read back as another type is quoted."""
    if _BREAK.search(s):
        return False  # no other type has line breaks; written as a block or quoted
    return _resolves_other(s)


def _resolves_other(s: str) -> bool:
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
        if ch in _BREAKS:
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
    plain = not (
        block_ind
        or special
        or line_breaks
        or leading_space
        or trailing_space
        or leading_break
        or trailing_break
        or space_break
        or break_space
    )
    single = not (special or space_break or break_space)
    block = not (special or space_break or trailing_space)
    return plain, single, block


def _double(s: str) -> str:
    out = []
    for ch in s:
        if _printable(ch) and ch not in '"\\\n\r\u2028\u2029':  # breaks are escaped too
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        else:
            o = ord(ch)
            out.append(
                f'\\x{o:02X}' if o <= 0xFF else f'\\u{o:04X}' if o <= 0xFFFF else f'\\U{o:08X}'
            )
    return '"' + ''.join(out) + '"'


def string(s: str, *, key: bool = False, hint_ok: bool = True) -> str | list[str]:
    """One line of scalar text, or the lines of a literal block (header first)."""
    if s == '<<':
        return '!!merge <<'  # go-yaml tags it rather than quoting it, key or value
    if _SIMPLE.fullmatch(s) and not _resolves_other(s):
        return s
    if _needs_quotes(s) or _UNICODE_BREAK.search(s):
        # Unicode line breaks: only the double-quoted escapes survive a round trip
        return _double(s)
    plain, single, block = _analyze(s)
    if '\n' in s and not key:
        # A literal block that needs an indentation digit is only readable where the
        # content is 4 in from its parent; go-yaml writes an unreadable one elsewhere
        # (sops cannot load its own output), so we quote it there instead.
        if block and (hint_ok or s[0] not in ' \n'):
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


def scalar(value: Value, *, hint_ok: bool = True) -> str | list[str]:
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
        text = fmt.format_float_g(value)
        # go-yaml prints an integral float like an int (`0`, `-0`, `1`), which reads
        # back as one: a plain leaf beside a secret would change type (a plain -0.0
        # fail the MAC, as sops's own files do), a decrypted one become an int at the
        # next edit. With its `.0` it stays a float, for sops too.
        return text + '.0' if text.lstrip('-').isdigit() else text
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, bytes):
        return string(value.decode('utf-8', 'replace'), hint_ok=hint_ok)
    assert isinstance(value, str)
    return string(value, hint_ok=hint_ok)


def _put(prefix: str, text: str | list[str], indent: int, lines: list[str]) -> None:
    """One scalar after `prefix`; a literal block's lines go at `indent`."""
    if isinstance(text, str):
        lines.append(prefix + text)
        return
    lines.append(prefix + text[0])
    pad = ' ' * indent
    lines.extend(pad + t if t else '' for t in text[1:])


def _nested(indent: int) -> int:
    """go-yaml v3's indent for a block under a mapping key: the next multiple of 4."""
    return INDENT * ((indent + INDENT) // INDENT)


def _mapping(branch: Branch, indent: int, lines: list[str], first: str = '') -> None:
    """Write a mapping whose keys sit at column `indent` (the first after `first`)."""
    child = _nested(indent)
    for i, (key, value) in enumerate(branch):
        lead = first if i == 0 and first else ' ' * indent
        if isinstance(key, Comment):
            lines.append(lead + '#' + key.text)
            continue
        if (len(key) > 32 and len(key.encode()) > 128) or _BREAK.search(key):
            _complex_entry(key, value, indent, lines, lead)
            continue
        k = string(key, key=True)
        assert isinstance(k, str)
        _value(value, f'{lead}{k}:', child, lines, hint_ok=child == indent + INDENT)


def _value(
    value: Value, prefix: str, child: int, lines: list[str], *, hint_ok: bool = True
) -> None:
    """The value of a mapping entry written as `prefix` (`key:`); blocks go at `child`."""
    if isinstance(value, Branch):
        if not value:
            lines.append(prefix + ' {}')
        else:
            lines.append(prefix)
            _mapping(value, child, lines)
    elif isinstance(value, list):
        if not value:
            lines.append(prefix + ' []')
        else:
            lines.append(prefix)
            _sequence(cast(list[Value], value), child, lines)
    elif isinstance(value, Comment):
        lines.append(prefix + ' #' + value.text)
    else:
        _put(prefix + ' ', scalar(value, hint_ok=hint_ok), child, lines)


def _complex_entry(key: str, value: Value, indent: int, lines: list[str], lead: str) -> None:
    """go-yaml's `? key` form, for keys longer than 128 bytes or with line breaks."""
    child = _nested(indent)
    _put(lead + '? ', string(key, hint_ok=child == indent + INDENT), child, lines)
    colon = ' ' * indent + ':'
    # a block value starts on the `:` line, padded out to its own indentation
    first = colon + ' ' * (child - indent - 1)
    if isinstance(value, Branch) and value:
        _mapping(value, child, lines, first=first)
    elif isinstance(value, list) and value:
        _sequence(cast(list[Value], value), child, lines, first=first)
    else:
        _value(value, colon, child, lines, hint_ok=child == indent + INDENT)


def _sequence(items: list[Value], indent: int, lines: list[str], first: str = '') -> None:
    """Write a sequence whose dashes sit at `indent`; an item's block is 2 further in."""
    for i, item in enumerate(items):
        lead = first if i == 0 and first else ' ' * indent
        if isinstance(item, Comment):
            lines.append(lead + '#' + item.text)
        elif isinstance(item, Branch):
            if not item:
                lines.append(lead + '- {}')
            else:
                _mapping(item, indent + 2, lines, first=lead + '- ')
        elif isinstance(item, list):
            if not item:
                lines.append(lead + '- []')
            else:
                _sequence(cast(list[Value], item), indent + 2, lines, first=lead + '- ')
        else:
            _put(lead + '- ', scalar(item, hint_ok=False), indent + 2, lines)
