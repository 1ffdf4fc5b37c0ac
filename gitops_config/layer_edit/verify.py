"""The check after an edit: every environment's merged values changed at the target
only, and the target holds the new value wherever no later layer decides it."""

from __future__ import annotations

from typing import Any

from gitops_config import keypath
from gitops_config.equality import same
from gitops_config.model import NodePath


def first_difference(
    before: Any, after: Any, skip: NodePath | None, path: NodePath = ()
) -> NodePath | None:
    """The first path where BEFORE and AFTER differ, leaving out the node at SKIP (and,
    where SKIP is a list item, that item: it may be gone, or back to its base)."""
    if skip is not None and path == skip:
        return None
    on_way = skip is not None and len(skip) > len(path) and skip[: len(path)] == path
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            child = (*path, key)
            if key not in before or key not in after:
                if child != skip:
                    return child
                continue
            found = first_difference(before[key], after[key], skip, child)
            if found is not None:
                return found
        return None
    if isinstance(before, list) and isinstance(after, list):
        if on_way and skip is not None and len(skip) == len(path) + 1:
            gone = skip[-1]
            assert isinstance(gone, int)
            before = before[:gone] + before[gone + 1 :]
            if len(after) == len(before) + 1:
                after = after[:gone] + after[gone + 1 :]
            skip = None
        if len(before) != len(after):
            return path
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            found = first_difference(old, new, skip, (*path, i))
            if found is not None:
                return found
        return None
    return None if same(before, after) else path


def value_at(data: Any, path: NodePath) -> tuple[bool, Any]:
    """(True, the node at PATH) or (False, None) when DATA holds nothing there."""
    try:
        return True, keypath.get(data, path)
    except (KeyError, IndexError, TypeError):
        return False, None
