"""What one environment's exact inputs rendered to, kept as one cache entry.

A snapshot maps each template to the SHA-256 of its output and the value paths
its trace read (trace.py). It is keyed by the blob SHAs of every input of the
environment (pipeline/rendering.inputs), so it is trusted without verification, and
reading it costs one file however many templates there are. Two uses:

- an environment whose inputs are exactly a snapshot's reuses every entry: its
  files are rendered only if something needs their content (pipeline/rendering.py);
- between two revisions, a template with the same blob whose read paths meet no
  value that changed renders the same on both sides: pipeline/sides.py renders it on
  neither.

A template whose output or reads touch a secret has no entry (no hash of a
plaintext goes to disk): it is rendered every time, as is one that failed.
"""

from __future__ import annotations

import contextlib
import marshal
import math
import sys
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config.incremental import data
from gitops_config.incremental.store import Store
from gitops_config.incremental.store import key as store_key
from gitops_config.model import NodePath
from gitops_config.render import RenderedFile
from gitops_config.render import Template
from gitops_config.shard import Shard


@dataclass(frozen=True, slots=True)
class Entry:
    blob: str  # the template's blob SHA
    output: str  # the output path, relative to the environment's folder
    digest: str  # SHA-256 of the output, hex
    reads: tuple[NodePath, ...]  # the value paths the output depends on


Snapshot = dict[str, Entry]  # template path -> entry


def key(env: str, inputs: Mapping[str, str], *, sealed: bool, shard: Shard | None) -> str:
    """The snapshot of ENV with INPUTS (path -> blob SHA): equal keys, equal outputs."""
    share = f'{shard.index}/{shard.total}' if shard is not None else ''
    return store_key(
        'snapshot', env, 'sealed' if sealed else 'open', share, repr(sorted(inputs.items()))
    )


def load(store: Store, digest: str) -> Snapshot | None:
    blob = store.get('snapshot', digest)
    if blob is None:
        return None
    try:
        found = {row[0]: Entry(*row[1:]) for row in data.loads(blob, tuples=True)}
        if not all(
            type(t) is type(e.blob) is type(e.output) is type(e.digest) is str
            and type(e.reads) is tuple
            for t, e in found.items()
        ):
            return None
        hash(tuple(e.reads for e in found.values()))  # paths of strings and numbers only
    except (data.Damaged, TypeError, ValueError):  # damaged or forged: a miss
        return None
    return found


def save(store: Store, digest: str, snapshot: Snapshot) -> None:
    rows = [
        [t, e.blob, e.output, e.digest, [list(p) for p in e.reads]]
        for t, e in sorted(snapshot.items())
    ]
    with contextlib.suppress(data.Refused):
        store.put('snapshot', digest, data.dumps(rows))


def entries(templates: Sequence[Template], files: Iterable[object]) -> Snapshot:
    """The entries of FILES, rendered from TEMPLATES in order (an error in its
    template's place has none, nor has a file whose reads or output are secret)."""
    found: Snapshot = {}
    for template, file in zip(templates, files, strict=True):
        if (
            isinstance(file, RenderedFile)
            and file.reads is not None
            and not file.has_secrets
            and template.blob
        ):
            found[template.path] = Entry(
                template.blob, file.path, file.digest, tuple(_interned(path) for path in file.reads)
            )
    return found


def _interned(path: NodePath) -> NodePath:
    # shared strings are kept once in memory: a snapshot of thousands of templates stays small
    return tuple(sys.intern(part) if type(part) is str else part for part in path)


def changed_paths(old: Any, new: Any) -> list[NodePath]:
    """The highest paths at which OLD and NEW differ (a list that changed length,
    a mapping whose keys changed order: the container itself)."""
    found: list[NodePath] = []
    _walk(old, new, (), found)
    return found


_MISSING = object()


def _same(a: Any, b: Any) -> bool | None:
    """Whether A and B are equal, types and key order included, at C speed; None
    when they hold something marshal does not know (a secret, a date)."""
    try:
        return marshal.dumps(a, 2) == marshal.dumps(b, 2)  # version 2: no shared refs
    except ValueError:
        return None


def _walk(a: Any, b: Any, path: NodePath, found: list[NodePath]) -> None:
    if a is b:
        return
    if type(a) is not type(b):
        found.append(path)
        return
    if isinstance(a, (dict, list)):
        same = _same(a, b)
        if same:
            return
        if isinstance(a, dict):
            if same is None or list(a) != list(b):
                keys = list(a)
                if [k for k in keys if k in b] != [k for k in b if k in a]:
                    found.append(path)  # the shared keys are in another order
                    return
                found.extend((*path, k) for k in a.keys() ^ b.keys())
            for k, x in a.items():
                y = b.get(k, _MISSING)
                if y is not _MISSING:
                    _walk(x, y, (*path, k), found)
            return
        if len(a) != len(b):
            found.append(path)
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, (*path, i), found)
        return
    # scalars of one type (a Secret compares its plaintext); 0.0 == -0.0, not in YAML
    if a != b or (type(a) is float and math.copysign(1.0, a) != math.copysign(1.0, b)):
        found.append(path)


def unaffected(
    snapshot: Snapshot,
    blobs: Mapping[str, str],
    changed: Iterable[NodePath],
) -> set[str]:
    """The templates of SNAPSHOT that render the same where the values differ from its
    by CHANGED and the templates have BLOBS: same blob, and no read path that is
    inside, or holds, a changed one."""
    changed = list(changed)
    if () in changed:
        return set()  # the values as a whole changed
    holders = {path[:n] for path in changed for n in range(len(path) + 1)}
    by_depth: dict[int, set[NodePath]] = {}
    for path in changed:
        by_depth.setdefault(len(path), set()).add(path)
    depths = sorted(by_depth.items())
    # Where every changed path has two steps or more, a read that meets one shares its
    # first two ('services', 'api'): most reads of a large project are ruled out so.
    heads = {path[:2] for path in changed} if all(len(p) >= 2 for p in changed) else None

    def meets(read: NodePath) -> bool:
        if heads is not None and len(read) >= 2 and read[:2] not in heads:
            return False
        # READ holds a changed path, or a changed path holds READ
        return read in holders or any(read[:n] in paths for n, paths in depths if n < len(read))

    return {
        template
        for template, entry in snapshot.items()
        if blobs.get(template) == entry.blob
        and not (changed and any(meets(read) for read in entry.reads))
    }
