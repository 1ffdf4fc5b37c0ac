"""Text forms sops uses: ENC[...] strings and the bytes each value type hashes to."""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from decimal import Decimal
from typing import NamedTuple

from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import Value

# Go regexp: '.' stops at '\n' and the pattern is not anchored at the end.
ENC_RE = re.compile(r'^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]')


class EncValue(NamedTuple):
    data: bytes
    iv: bytes
    tag: bytes
    type: str

    def text(self) -> str:
        return (
            f'ENC[AES256_GCM,data:{_b64(self.data)},iv:{_b64(self.iv)},'
            f'tag:{_b64(self.tag)},type:{self.type}]'
        )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    # Go's StdEncoding silently skips \r and \n but insists on padding.
    if '\r' in text or '\n' in text:
        text = text.replace('\r', '').replace('\n', '')
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise SopsFormatError(f'invalid base64 in encrypted value: {text[:20]!r}') from None


def parse_enc(text: str) -> EncValue:
    m = ENC_RE.match(text)
    if m is None:
        raise SopsFormatError("Input string does not match sops' data format")
    return EncValue(_unb64(m[1]), _unb64(m[2]), _unb64(m[3]), m[4])


def type_of(value: Value) -> str:
    if isinstance(value, Comment):
        return 'comment'
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'int'
    if isinstance(value, float):
        return 'float'
    if isinstance(value, Timestamp):
        return 'time'
    if isinstance(value, (str, bytes)):
        return 'str'
    raise SopsFormatError(f'cannot encrypt a value of type {type(value).__name__}')


def to_bytes(value: Value) -> bytes:
    """The plaintext bytes sops encrypts and hashes for a value (Go's ToBytes)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode('utf-8', 'surrogateescape')
    if isinstance(value, Comment):
        return value.text.encode('utf-8', 'surrogateescape')
    if isinstance(value, bool):
        return b'True' if value else b'False'
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return format_float_f(value).encode()
    if isinstance(value, Timestamp):
        return value.text.encode()
    raise SopsFormatError(f'cannot encrypt a value of type {type(value).__name__}')


def from_bytes(raw: bytes, type_: str) -> Value:
    """Parse decrypted bytes back into a typed value, as Go's strconv does."""
    text = raw.decode('utf-8', 'surrogateescape')
    try:
        if type_ == 'str':
            return text
        if type_ == 'comment':
            return Comment(text)
        if type_ == 'int':
            if not re.fullmatch(r'[+-]?[0-9]+', text):
                raise ValueError(text)
            return int(text)
        if type_ == 'float':
            return parse_go_float(text)
        if type_ == 'bool':
            return _parse_go_bool(text)
        if type_ == 'time':
            return Timestamp(format_time(*parse_rfc3339(text)))
        if type_ == 'bytes':
            return raw
    except ValueError:
        raise SopsFormatError(f'cannot parse decrypted value as {type_}') from None
    raise SopsFormatError(f'unknown value type {type_!r} in encrypted value')


def _parse_go_bool(text: str) -> bool:
    if text in ('1', 't', 'T', 'TRUE', 'true', 'True'):
        return True
    if text in ('0', 'f', 'F', 'FALSE', 'false', 'False'):
        return False
    raise ValueError(text)


def parse_go_float(text: str) -> float:
    lowered = text.lstrip('+-').lower()
    if lowered in ('inf', 'infinity'):
        return -math.inf if text.startswith('-') else math.inf
    if lowered == 'nan':
        return math.nan
    if not re.fullmatch(r'[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?|[+-]?0[xX].*', text):
        raise ValueError(text)
    return float(text.replace('_', ''))


def format_float_f(value: float) -> str:
    """Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent."""
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return '+Inf' if value > 0 else '-Inf'

    text = format(Decimal(repr(value)), 'f')
    if '.' in text:
        text = text.rstrip('0').rstrip('.')
    return '-0' if text == '-0' else text


def format_float_g(value: float) -> str:
    """Go's strconv.FormatFloat(f, 'g', -1, 64): how go-yaml prints a float."""
    if math.isnan(value) or math.isinf(value) or value == 0:
        return format_float_f(value)
    digits, exp = _shortest(value)
    # Go: with the shortest precision, %e is used when exp < -4 or exp >= 6.
    if exp < -4 or exp >= 6:
        return _exp_form(value, digits, exp)
    return format_float_f(value)


def format_float_json(value: float) -> str:
    """Go encoding/json's float64 text: 'f' unless the exponent is < -6 or >= 21."""
    if math.isnan(value) or math.isinf(value) or value == 0:
        return format_float_f(value)
    digits, exp = _shortest(value)
    if exp < -6 or exp >= 21:
        # Go's encoder then shortens a two-digit negative exponent: e-08 -> e-8
        return _exp_form(value, digits, exp).replace('e-0', 'e-')
    return format_float_f(value)


def _exp_form(value: float, digits: str, exp: int) -> str:
    neg = '-' if value < 0 else ''
    mant = digits[0] + ('.' + digits[1:] if len(digits) > 1 else '')
    sign = '-' if exp < 0 else '+'
    return f'{neg}{mant}e{sign}{abs(exp):02d}'


def _shortest(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of |value| and its decimal exponent."""
    d = Decimal(repr(abs(value))).normalize()
    _, digits_t, exp = d.as_tuple()
    digits = ''.join(map(str, digits_t))
    assert isinstance(exp, int)
    return digits, exp + len(digits) - 1


_RFC3339 = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$',
)


def now_rfc3339() -> str:
    """The time now as sops writes it in `lastmodified` and `created_at`."""
    return datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_rfc3339(text: str) -> tuple[datetime, int]:
    """(datetime to the second, nanoseconds) of an RFC 3339 string."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(text)
    zone = m[8]
    if zone in ('Z', 'z'):
        tz = UTC
    else:
        sign = -1 if zone[0] == '-' else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    when = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), tzinfo=tz)
    nanos = int((m[7] or '.0')[1:].ljust(9, '0')[:9])
    return when, nanos


def format_time(when: datetime, nanos: int = 0) -> str:
    """Go's time.MarshalText: RFC 3339 with trimmed nanoseconds, Z for offset 0."""
    base = when.strftime('%Y-%m-%dT%H:%M:%S')
    frac = f'.{nanos:09d}'.rstrip('0') if nanos else ''
    offset = when.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        zone = 'Z'
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = '-' if minutes < 0 else '+'
        zone = f'{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}'
    return f'{base}{frac}{zone}'


def mac_aad(lastmodified: str) -> str:
    """The MAC's AAD: lastmodified re-formatted as RFC 3339 without fraction."""
    try:
        when, _ = parse_rfc3339(lastmodified)
    except ValueError:
        raise SopsFormatError(f'invalid lastmodified {lastmodified!r}') from None
    return format_time(when)
