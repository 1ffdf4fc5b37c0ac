"""VALUE on the command line, typed as the value it replaces: `1.10` over a string is
the string "1.10", not the float 1.1; a new key reads VALUE as YAML."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import Literal

from gitops_config import yaml_io
from gitops_config.errors import UsageError
from gitops_config.redact import SealedSecret

Mode = Literal['auto', 'string', 'yaml']


def typed(
    text: str, old: Any, mode: Mode, *, missing: Any, reveal: Callable[[Any], Any] = lambda v: v
) -> Any:
    """TEXT as the value to store over OLD (MISSING when there is none). REVEAL turns an
    encrypted OLD into its plain value, whose type alone is looked at."""
    if mode == 'string':
        return text
    if mode == 'auto' and old is not missing and not isinstance(old, SealedSecret):
        old = reveal(old)
        if isinstance(old, str):
            return text
    parsed = yaml_io.load(text, '<VALUE>')
    if has_tag(parsed):
        raise UsageError(
            f'VALUE {text!r} holds a YAML tag',
            hint='to remove a key, use `gitops-config unset FILE KEYPATH`',
        )
    if mode == 'yaml' or old is missing or old is None or isinstance(old, SealedSecret):
        return parsed
    if _kind(parsed) != _kind(old):
        raise UsageError(
            f'VALUE {text!r} reads as {_kind(parsed)}, where the value it replaces is {_kind(old)}',
            hint='add --string to store it as a string'
            if isinstance(parsed, str)
            else f'add --yaml to store it as {_kind(parsed)}, or --string as a string',
        )
    return parsed


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, list):
        return 'a list'
    return 'null' if value is None else type(value).__name__


def has_tag(value: Any) -> bool:
    """Whether VALUE holds a tagged node (`!delete`) anywhere."""
    if isinstance(value, yaml_io.Tagged):
        return True
    if isinstance(value, dict):
        return any(has_tag(v) for v in value.values())
    if isinstance(value, list):
        return any(has_tag(v) for v in value)
    return False
