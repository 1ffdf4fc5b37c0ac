"""The on-disk cache: results keyed by a content hash of exactly their inputs.

Entries are written atomically (temp file and rename), so parallel processes,
such as pre-commit's batches, can share one folder. Each entry carries a
checksum of its payload: a corrupt or truncated entry is removed and
recomputed, never trusted. When the folder cannot be written (read-only,
disk full) work goes on uncached, after one warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from typing import BinaryIO

from gitops_config import __version__

logger = logging.getLogger(__name__)

_MAGIC = b'GOC1'
_DIGEST = 32
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
ENV_DIR = 'GITOPS_CONFIG_CACHE_DIR'
ENV_OFF = 'GITOPS_CONFIG_NO_CACHE'


def key(*parts: str | bytes) -> str:
    """A hash of PARTS and the tool's version: any change to either is a new key."""
    h = hashlib.sha256(__version__.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, 'big'))
        h.update(data)
    return h.hexdigest()


class Cache:
    def __init__(self, directory: Path | None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._warned = False
        self._written = 0
        self._folders: set[str] = set()  # known to exist
        self._count = 0

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def path(self, namespace: str, digest: str) -> str:
        # plain strings: this runs for every template of every environment
        assert self.directory is not None
        return os.path.join(self.directory, namespace, digest[:2], digest)

    def get(self, namespace: str, digest: str) -> bytes | None:
        if self.directory is None:
            return None
        path = self.path(namespace, digest)
        try:
            with open(path, 'rb') as f:
                blob = f.read()
        except OSError:
            return None
        head = len(_MAGIC) + _DIGEST
        payload = blob[head:]
        if blob[:len(_MAGIC)] != _MAGIC or hashlib.sha256(payload).digest() != blob[
                len(_MAGIC):head]:
            with contextlib.suppress(OSError):
                os.unlink(path)  # corrupt or truncated: recompute, never trust
            return None
        return payload

    def has(self, namespace: str, digest: str) -> bool:
        """Whether an entry is there (unchecked: get() still verifies it)."""
        return self.directory is not None and os.path.exists(self.path(namespace, digest))

    def put(self, namespace: str, digest: str, payload: bytes) -> None:
        if self.directory is None:
            return
        path = self.path(namespace, digest)
        blob = _MAGIC + hashlib.sha256(payload).digest() + payload
        folder = os.path.dirname(path)
        try:
            # unique to this process and entry: no random names to draw (pids are unique
            # among the processes sharing the folder, threads do not write here)
            self._count += 1
            tmp = f'{folder}/.tmp-{os.getpid()}-{self._count}'
            try:
                with self._create(folder, tmp) as f:
                    f.write(blob)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            self._disable(exc)
            return
        self._written += len(blob)
        if self._written > self.max_bytes // 8:
            self._written = 0
            self.prune()

    def _create(self, folder: str, tmp: str) -> BinaryIO:
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        try:
            return open(tmp, 'wb')  # the caller closes it
        except FileNotFoundError:  # cleared meanwhile
            os.makedirs(folder, exist_ok=True)
            return open(tmp, 'wb')

    def failed(self, exc: OSError) -> None:
        """Writing below the folder failed: go on without the cache, after one warning."""
        self._disable(exc)

    def _disable(self, exc: OSError) -> None:
        if not self._warned:
            logger.warning('cache disabled: cannot write %s (%s); continuing without it',
                           self.directory, exc.strerror or exc)
            self._warned = True
        self.directory = None

    def size(self) -> int:
        if self.directory is None or not self.directory.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.directory.rglob('*') if p.is_file())

    def prune(self) -> None:
        """Remove the least recently written entries until the cache fits its bound."""
        if self.directory is None or not self.directory.is_dir():
            return
        entries = []
        for p in self.directory.rglob('*'):
            with contextlib.suppress(OSError):
                if p.is_file():
                    st = p.stat()
                    entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes * 3 // 4:
                break
            with contextlib.suppress(OSError):
                p.unlink()
                total -= size

    def clear(self) -> int:
        """Remove every entry; returns how many bytes were freed."""
        if self.directory is None or not self.directory.is_dir():
            return 0
        freed = 0
        for p in sorted(self.directory.rglob('*'), reverse=True):
            with contextlib.suppress(OSError):
                if p.is_file():
                    freed += p.stat().st_size
                    p.unlink()
                else:
                    p.rmdir()
        return freed


# What a run remembers in memory (parsed layers, merged values, rendered files...).
_MEMOS: list[dict[Any, Any]] = []


def memo() -> dict[Any, Any]:
    """A dict for something this process remembers; forget_memos() empties them all."""
    found: dict[Any, Any] = {}
    _MEMOS.append(found)
    return found


# What to do at the end of a run, before the memos are emptied (write what is pending).
_AT_FINISH: list[Callable[[], None]] = []


def at_finish(action: Callable[[], None]) -> None:
    _AT_FINISH.append(action)


def finish() -> None:
    """The end of a run: write what is pending, then forget what was remembered."""
    _write_pending()
    forget_memos()


def _write_pending() -> None:
    for action in _AT_FINISH:
        action()


def forget_memos() -> None:
    """Empty every memo: the CLI does it before exiting, since the interpreter takes
    several times longer to tear down a large object graph than to drop it."""
    for found in _MEMOS:
        found.clear()


def default_dir() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'gitops-config'


_DEFAULT: Cache | None = None


def default() -> Cache:
    """The process-wide cache: off with GITOPS_CONFIG_NO_CACHE=1 (or --no-cache)."""
    global _DEFAULT
    if _DEFAULT is None:
        off = os.environ.get(ENV_OFF, '') not in ('', '0')
        _DEFAULT = Cache(None if off else default_dir())
    return _DEFAULT


def reset() -> None:
    """Forget the process-wide cache (after the environment that configures it
    changed), once what is pending for it is written."""
    global _DEFAULT
    if _DEFAULT is not None:
        _write_pending()
    _DEFAULT = None
