"""Three-way merge of decrypted trees, for the git merge driver."""

from __future__ import annotations

import copy

from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Value


class Conflict(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def merge(base: Value, ours: Value, theirs: Value, path: str = '') -> Value:
    """Merge by key: a side that left a value as it was in base yields to the other."""
    if ours == theirs:
        return copy.deepcopy(ours)
    if ours == base:
        return copy.deepcopy(theirs)
    if theirs == base:
        return copy.deepcopy(ours)
    if isinstance(ours, Branch) and isinstance(theirs, Branch):
        return _merge_branch(base if isinstance(base, Branch) else Branch(), ours, theirs, path)
    raise Conflict(path or '/')


_MISSING = object()


def _merge_branch(base: Branch, ours: Branch, theirs: Branch, path: str) -> Branch:
    base_map = {k: v for k, v in base if isinstance(k, str)}
    their_map = {k: v for k, v in theirs if isinstance(k, str)}
    out = Branch()
    for key, value in ours:
        if not isinstance(key, str):
            out.append((key, value))  # comments follow our side
            continue
        b = base_map.get(key, _MISSING)
        t = their_map.get(key, _MISSING)
        here = f'{path}.{key}' if path else key
        if t is _MISSING:
            if b is _MISSING:
                out.append((key, value))  # we added it
            elif b != value:
                raise Conflict(here)  # they deleted what we changed
            continue  # they deleted it
        if b is _MISSING:
            if t != value:
                raise Conflict(here)  # both added it, differently
            out.append((key, value))
            continue
        out.append((key, merge(b, value, t, here)))  # type: ignore[arg-type]  # b, t: not _MISSING here
    ours_keys = {k for k, _ in ours if isinstance(k, str)}
    for key, value in theirs:
        if isinstance(key, str) and key not in ours_keys:
            b = base_map.get(key, _MISSING)
            if b is _MISSING:
                out.append((key, value))  # they added it
            elif b != value:
                raise Conflict(f'{path}.{key}' if path else key)  # we deleted, they changed
    return out
