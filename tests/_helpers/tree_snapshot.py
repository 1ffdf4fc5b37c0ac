"""A folder tree's exact state, to prove a command left it alone.

A snapshot holds every path below a root with its kind, permission bits and content
(a file's bytes, a symlink's target; symlinks are recorded, never followed). Hostile
tests take one before and after the attack and compare:

    with untouched(repo.path, home, allow=[repo.path / 'rendered' / 'dev']):
        run_cli('render', ...)
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # 'file', 'dir', 'link' or 'other' (fifo, socket, device)
    mode: int  # the permission bits
    content: bytes = b''  # a file's bytes; a symlink's target


Snapshot = dict[str, Entry]  # POSIX path relative to the root -> its entry


def snapshot(root: Path, *, allow: Iterable[Path] = ()) -> Snapshot:
    """Every path below ROOT (ROOT itself as '.'), except those at or below ALLOW."""
    skip = {os.path.abspath(a) for a in allow}
    found: Snapshot = {}
    _walk(os.path.abspath(root), '.', skip, found)
    return found


def _walk(full: str, rel: str, skip: set[str], found: Snapshot) -> None:
    if full in skip:
        return
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        found[rel] = Entry('link', mode, os.fsencode(os.readlink(full)))
    elif stat.S_ISREG(st.st_mode):
        with open(full, 'rb') as f:
            found[rel] = Entry('file', mode, f.read())
    elif stat.S_ISDIR(st.st_mode):
        found[rel] = Entry('dir', mode)
        for name in sorted(os.listdir(full)):
            _walk(os.path.join(full, name), name if rel == '.' else f'{rel}/{name}', skip, found)
    else:
        found[rel] = Entry('other', mode)


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per path that appeared, disappeared or changed, sorted."""
    lines = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None:
            lines.append(f'+ {path} ({new.kind if new else "?"})')
        elif new is None:
            lines.append(f'- {path} ({old.kind})')
        elif old.kind != new.kind:
            lines.append(f'~ {path}: {old.kind} -> {new.kind}')
        elif old.mode != new.mode:
            lines.append(f'~ {path}: mode {old.mode:o} -> {new.mode:o}')
        else:
            lines.append(f'~ {path}: content changed')
    return lines


def assert_same(before: Snapshot, after: Snapshot, root: Path | str = '') -> None:
    changed = differences(before, after)
    if changed:
        shown = '\n  '.join(changed[:30])
        more = f'\n  ... and {len(changed) - 30} more' if len(changed) > 30 else ''
        raise AssertionError(f'{root or "the tree"} changed:\n  {shown}{more}')


@contextlib.contextmanager
def untouched(*roots: Path, allow: Iterable[Path] = ()) -> Iterator[None]:
    """Fail unless every tree below ROOTS is byte-identical afterwards, except the
    paths at or below ALLOW (say, the one output folder a command may write)."""
    allowed = list(allow)
    before = [snapshot(r, allow=allowed) for r in roots]
    yield
    for root, old in zip(roots, before, strict=True):
        assert_same(old, snapshot(root, allow=allowed), root)
