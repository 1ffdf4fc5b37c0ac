"""Did you mean: the known name closest to a misspelt one, for an error's hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[object]) -> str | None:
    """ "did you mean 'x'?" for the name of KNOWN closest to NAME; None when none is close."""
    close = difflib.get_close_matches(name, [str(k) for k in known], n=1)
    return f'did you mean {close[0]!r}?' if close else None
