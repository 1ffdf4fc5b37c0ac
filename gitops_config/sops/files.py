"""Atomic writes: a temp file in the same directory, fsync, rename, mode kept."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from gitops_config.sops.errors import SopsError


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never half."""
    try:
        keep = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        keep = 0o644 if mode is None else mode
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else keep)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SopsError(f'{path}: cannot write: {exc.strerror}') from None
