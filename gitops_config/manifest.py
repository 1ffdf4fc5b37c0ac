"""What `render` wrote in an output folder: the only files a later render may remove.

`render` removes a file no template produces any more only when an earlier render
of that environment wrote it, so no project file, no committed folder and no
symlink can make it delete anything else. The list is kept in the output folder
(committed beside the rendered files, so a fresh clone knows it) and, as a
fallback for when that copy is missing, in the cache. Its bytes depend only on
the list of rendered paths: every render of the same templates writes the same file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gitops_config.fsutil import plain_path
from gitops_config.incremental.store import key

if TYPE_CHECKING:
    from gitops_config.incremental.reuse import Reuse

# No .yaml/.json suffix: Argo CD, Flux and `kubectl apply -f` read those from the folder.
NAME = '.gitops-config-manifest'
_HEADER = (
    '# Written by `gitops-config render`: the files it rendered into this folder.\n'
    '# A later render removes only the files listed here that no template produces\n'
    '# any more. Commit it with the rendered files; do not edit it.\n'
)


def text(paths: Iterable[str]) -> bytes:
    """The manifest listing PATHS (POSIX, relative to the output folder)."""
    lines = [_quoted(p) for p in sorted(set(paths))]
    return (_HEADER + ''.join(line + '\n' for line in lines)).encode()


def _quoted(path: str) -> str:
    # A plain line where it reads back as itself; else a JSON string (control
    # characters, undecodable bytes, a leading '#' or '"', surrounding spaces).
    if path.isprintable() and path == path.strip() and not path.startswith(('#', '"')):
        return path
    return json.dumps(path)


def parse(data: bytes) -> set[str]:
    """The paths a manifest lists. A line that is not a plain relative path (from a
    hand-edited or forged manifest) lists nothing."""
    found: set[str] = set()
    for line in data.decode(errors='replace').splitlines():
        if not line or line.startswith('#'):
            continue
        if line.startswith('"'):
            try:
                loaded = json.loads(line)
            except ValueError:
                continue
            if not isinstance(loaded, str):
                continue
            line = loaded
        if plain_path(line) and line != NAME:
            found.add(line)
    return found


def remembered(folder: str, reuse: Reuse) -> set[str] | None:
    """The paths the cache remembers a render wrote to FOLDER (an absolute path)."""
    data = reuse.recall('manifests', key('manifest', folder))
    return parse(data) if type(data) is bytes else None


def remember(folder: str, data: bytes, reuse: Reuse) -> None:
    reuse.remember('manifests', key('manifest', folder), data)
