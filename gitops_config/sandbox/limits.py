"""Caps on what one template operation may build, checked before it is built.

A template from a pull request could ask for `10 ** 10 ** 9` or `'a' * 10 ** 9`:
the sandbox refuses such an operation at once, naming it, instead of letting a
worker run out of time or memory (the render's wall-clock and memory limits
are the backstop for everything else).
"""

from __future__ import annotations

import re
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

MAX_INT_BITS = 10_000  # about 3,000 decimal digits
MAX_TEXT = 10_000_000  # characters in one string
MAX_ITEMS = 1_000_000  # items in one list
MAX_RANGE = 100_000  # items in one range() (Jinja's own sandbox cap)
# A format width or precision this long would pad to more than MAX_TEXT.
_HUGE_FIELD = re.compile(r'\d{8,}')


class TemplateLimit(TemplateRuntimeError):
    """An operation would build more than a cap allows."""


def _too_big(what: str, size: int, limit: int, unit: str) -> TemplateLimit:
    return TemplateLimit(f'{what} would make {size:,} {unit} (the limit is {limit:,})')


def check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == '**':
        if _int(left) and _int(right) and right > 0 and abs(left) > 1:
            bits = right * left.bit_length()
            if bits > MAX_INT_BITS:
                raise TemplateLimit(
                    f'`**` would make a number of about {bits:,} bits '
                    f'(the limit is {MAX_INT_BITS:,})'
                )
    elif operator == '*':
        if _int(left) and _int(right):
            bits = left.bit_length() + right.bit_length()
            if bits > MAX_INT_BITS:
                raise TemplateLimit(
                    f'`*` would make a number of about {bits:,} bits '
                    f'(the limit is {MAX_INT_BITS:,})'
                )
        elif _int(right):
            check_repeat(left, right)
        elif _int(left):
            check_repeat(right, left)
    elif (
        operator == '+'
        and isinstance(left, (str, list, tuple))
        and isinstance(right, (str, list, tuple))
    ):
        check_size('`+`', left, len(left) + len(right))
    elif operator == '%' and isinstance(left, str):
        check_format(left)


def check_repeat(sequence: Any, times: int) -> None:
    if isinstance(sequence, (str, list, tuple)):
        check_size('`*`', sequence, len(sequence) * max(times, 0))


def check_size(what: str, sample: Any, size: int) -> None:
    if isinstance(sample, str):
        if size > MAX_TEXT:
            raise _too_big(what, size, MAX_TEXT, 'characters')
    elif size > MAX_ITEMS:
        raise _too_big(what, size, MAX_ITEMS, 'items')


def check_text(what: str, size: int) -> None:
    if size > MAX_TEXT:
        raise _too_big(what, size, MAX_TEXT, 'characters')


def check_format(spec: str) -> None:
    if _HUGE_FIELD.search(spec):
        raise TemplateLimit(f'a format field wider than {MAX_TEXT:,} characters')


def check_replace(what: str, text: Any, old: Any, new: Any) -> None:
    """TEXT.replace(OLD, NEW): each occurrence may grow it by what NEW adds."""
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        grows = len(new) - len(old)
        if grows > 0:
            check_text(what, len(text) + grows * (len(text) // max(len(old), 1) + 1))


def check_width(what: str, width: Any) -> None:
    """A filter or method argument that pads or repeats to WIDTH."""
    if _int(width) and width > MAX_TEXT:
        raise _too_big(what, width, MAX_TEXT, 'characters')


def safe_range(*args: int) -> range:
    """range(), refusing more than MAX_RANGE items."""
    found = range(*args)
    try:
        size = len(found)
    except OverflowError:  # more than a machine word counts
        size = MAX_RANGE + 1 if not found else abs((found.stop - found.start) // found.step)
    if size > MAX_RANGE:
        raise _too_big('range()', size, MAX_RANGE, 'items')
    return found


def _int(value: Any) -> bool:
    return isinstance(value, int)
