"""Colour is decided once, here, and passed down as a bool."""

from __future__ import annotations

import os
import sys
from typing import Literal

ColorMode = Literal['auto', 'always', 'never']


def use_color(mode: ColorMode, stream: object = None) -> bool:
    if mode == 'always':
        return True
    if mode == 'never' or os.environ.get('NO_COLOR'):
        return False
    if os.environ.get('TERM') == 'dumb':
        return False
    target = stream if stream is not None else sys.stdout
    isatty = getattr(target, 'isatty', None)
    return bool(isatty and isatty())


def style(text: str, *, fg: str, use: bool, bold: bool = False) -> str:
    if not use:
        return text
    codes = {'red': 31, 'green': 32, 'yellow': 33, 'blue': 34, 'magenta': 35, 'cyan': 36,
             'grey': 90}
    prefix = f'\033[{"1;" if bold else ""}{codes[fg]}m'
    return f'{prefix}{text}\033[0m'
