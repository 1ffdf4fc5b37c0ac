"""Atomic writes: a file is either its old self or its new self, never half of each."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from gitops_config.errors import GitopsConfigError

_COUNT = [0]  # temporary names written by this process


class WriteError(GitopsConfigError):
    code = 'write-failed'


def atomic_write(path: Path, data: bytes, *, mode: int | None = None,
                 durable: bool = True) -> None:
    """Write DATA to PATH via a temporary file in the same folder, fsync and rename.

    MODE, when given, always applies (a decrypted file must end up 0600 even over
    a readable one); else PATH keeps its permission bits, or a new file gets the
    umask's. DURABLE=False skips the fsync: for files that can be made again (rendered
    output), where a rename is atomicity enough and an fsync per file would dominate.
    """
    try:
        _write(path, data, mode, durable)
    except OSError as exc:
        raise WriteError(f'{path}: cannot write: {exc.strerror or exc}') from None


def _write(path: Path, data: bytes, mode: int | None, durable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = False  # a new file: created with the umask's bits, no chmod needed
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            fresh = True
    if fresh:
        # a name unique to this process and write; O_EXCL refuses any other's file
        _COUNT[0] += 1
        tmp = os.path.join(path.parent, f'.{path.name}.{os.getpid()}-{_COUNT[0]}.tmp')
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0),
                     0o666)
    else:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
