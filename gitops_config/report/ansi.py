"""Colour for a terminal: text wrapped in ANSI codes, or left as it is.

Whether to colour is decided once, at the command line (cli/output.py), and
passed down as a bool.
"""

from __future__ import annotations

_CODES = {'red': 31, 'green': 32, 'yellow': 33, 'blue': 34, 'magenta': 35, 'cyan': 36, 'grey': 90}


def style(text: str, *, fg: str | None, use: bool, bold: bool = False) -> str:
    """TEXT in colour FG (None: the terminal's own), bold if BOLD; as it is unless USE."""
    if not use:
        return text
    codes = (['1'] if bold else []) + ([str(_CODES[fg])] if fg is not None else [])
    return f'\033[{";".join(codes)}m{text}\033[0m'
