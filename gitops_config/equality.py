"""Equality of YAML-shaped values as YAML tells them apart: the diff engine's strict
pass and the check after an edit compare with the same rules."""

from __future__ import annotations

import math
from typing import Any

from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret


def same(a: Any, b: Any) -> bool:
    """A equals B as YAML tells values apart: 1, 1.0, true and "1" all differ.

    A plain value equals a secret on the right holding it (what `secrets set` writes
    reads back as one), never the reverse: a secret read back as plain text changed.
    """
    if a is b:
        return True
    if isinstance(b, Secret) and not isinstance(a, (Secret, SealedSecret, dict, list)):
        return Secret(a) == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return same_scalar(a, b)


def same_scalar(a: Any, b: Any) -> bool:
    """A == B for two scalars of one type: NaN is NaN, and 0.0 and -0.0 differ."""
    if type(a) is float:
        return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (
            math.isnan(a) and math.isnan(b)
        )
    return bool(a == b)
