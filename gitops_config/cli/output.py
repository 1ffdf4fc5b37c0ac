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
