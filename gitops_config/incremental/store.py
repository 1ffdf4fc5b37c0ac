"""The on-disk cache: results keyed by a content hash of exactly their inputs.

Entries are written atomically (temp file and rename), so parallel processes,
such as pre-commit's batches, can share one folder. Each entry carries a
checksum of its key and payload: a corrupt or truncated entry, or one filed
under another key, is removed and recomputed, never trusted. When the folder
cannot be written (read-only, disk full) work goes on uncached, after one
warning.

Another job or a pull request may have written the folder (actions/cache
restores what other runs saved; self-hosted runners share folders), so what
is read from it is data only (data.py), and compiled templates, the one
kind of entry that is code, are authenticated by a key kept outside it
(code_key). Reads and writes never follow a symlink inside the folder, and
pruning and `cache clear` remove only files named as entries are, in a folder
that carries our marker (MARKER).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from gitops_config import __version__

logger = logging.getLogger(__name__)

_MAGIC = b'GOC2'  # GOC1 entries were pickles: never read again
_DIGEST = 32
# A cache directory tag (https://bford.info/cachedir/): backup tools skip the folder, and
# its text says the folder is ours, so `cache clear` knows what it may remove.
MARKER = 'CACHEDIR.TAG'
MARKER_TEXT = (
    b'Signature: 8a477f597d28d172789f06886806bc55\n'
    b'# This file is a cache directory tag created by gitops-config.\n'
)
# What an entry's files are called: NAMESPACE/ab/abcd... (the key), with a pack's logs and
# the temporary files of a write beside it; nothing else in the folder is ours.
NAMESPACES = frozenset(
    {'layer', 'manifests', 'policy', 'render-pack', 'review', 'snapshot', 'verdicts'}
)
_NAMESPACE_NAMES = re.compile('|'.join(sorted(NAMESPACES)))
# What a cache folder may hold before it carries the marker (a cache of an earlier version).
_OURS = re.compile(rf'(?:{_NAMESPACE_NAMES.pattern})|\.{re.escape(MARKER)}-[0-9]+-[0-9a-f]+')
_SHARD = re.compile(r'[0-9a-f]{2}')
_ENTRY = re.compile(r'[0-9a-f]{64}(\.log-[0-9]+-[0-9a-f]{8})?|\.tmp-[0-9]+-[0-9a-f]+')
READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, 'O_NOFOLLOW', 0)
    | getattr(os, 'O_NONBLOCK', 0)
    | (getattr(os, 'O_CLOEXEC', 0))
)
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
ENV_DIR = 'GITOPS_CONFIG_CACHE_DIR'


def key(*parts: str | bytes) -> str:
    """A hash of PARTS and the tool's version: any change to either is a new key."""
    h = hashlib.sha256(__version__.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, 'big'))
        h.update(data)
    return h.hexdigest()


class Store:
    """One cache folder, as one run uses it (a folder that cannot be written is given
    up for the rest of the run, after one warning)."""

    def __init__(
        self,
        directory: Path | None,
        *,
        key_file: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.directory = directory
        self.key_file = key_file  # where the key for compiled templates is (key_path)
        self.max_bytes = max_bytes
        self._warned = False
        self._written = 0
        self._folders: set[str] = set()  # known to exist
        self._count = 0
        self._salt = os.urandom(4).hex()
        self._code_key: bytes | None = None
        self._code_key_read = False

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def code_key(self) -> bytes | None:
        """The key that authenticates compiled templates in the cache.

        It lives in the user's config folder (made on first use, 0600), never in the
        cache folder, so whoever can write the cache folder (another job, a restored
        actions/cache) cannot forge code we would run. None when no such key can be
        had: a key file that others can read or write, one inside the cache folder,
        an unwritable config folder, no key file given. Templates are then compiled
        afresh every run.
        """
        if not self._code_key_read:
            if self.key_file is not None and self.directory is not None:
                self._code_key = _load_key(self.key_file, self.directory)
            self._code_key_read = True
        return self._code_key

    def path(self, namespace: str, digest: str) -> str:
        # plain strings: this runs for every template of every environment
        assert self.directory is not None
        return os.path.join(self.directory, namespace, digest[:2], digest)

    def get(self, namespace: str, digest: str) -> bytes | None:
        if self.directory is None:
            return None
        path = self.path(namespace, digest)
        blob = read_file(path)
        if blob is None:
            return None
        head = len(_MAGIC) + _DIGEST
        payload = blob[head:]
        if (
            blob[: len(_MAGIC)] != _MAGIC
            or _checksum(namespace, digest, payload) != blob[len(_MAGIC) : head]
        ):
            with contextlib.suppress(OSError):
                os.unlink(path)  # corrupt, truncated or misfiled: recompute, never trust
            return None
        return payload

    def has(self, namespace: str, digest: str) -> bool:
        """Whether an entry is there (unchecked: get() still verifies it)."""
        return self.directory is not None and os.path.exists(self.path(namespace, digest))

    def put(self, namespace: str, digest: str, payload: bytes) -> None:
        if self.directory is None:
            return
        path = self.path(namespace, digest)
        blob = _MAGIC + _checksum(namespace, digest, payload) + payload
        folder = os.path.dirname(path)
        try:
            # unique to this process and entry, and unguessable: a file planted under the
            # name beforehand makes the write fail, never go through a symlink
            self._count += 1
            tmp = f'{folder}/.tmp-{os.getpid()}-{self._count:x}{self._salt}'
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
        self.folder(folder)
        try:
            return _create_new(tmp)  # the caller closes it
        except FileNotFoundError:  # cleared meanwhile
            self.folder(folder, again=True)
            return _create_new(tmp)

    def folder(self, folder: str, *, again: bool = False) -> None:
        """Make FOLDER (below the cache folder) and the marker; refuse a symlink on the
        way, which could lead writes out of the cache folder. AGAIN: look again, even
        if this process saw it (another may have cleared the cache since)."""
        if again:
            self._folders.clear()
        if folder in self._folders:
            return
        assert self.directory is not None
        root = str(self.directory)
        if root not in self._folders:
            os.makedirs(root, exist_ok=True)
            if not os.path.exists(os.path.join(root, MARKER)):
                _claim(root)
            self._folders.add(root)
        path = root
        for part in os.path.relpath(folder, root).split(os.sep):
            path = os.path.join(path, part)
            if path in self._folders:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):  # made by another process
                    os.mkdir(path)
                st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                raise OSError(f'{path} is not a folder of the cache')
            self._folders.add(path)

    def failed(self, exc: OSError) -> None:
        """Writing below the folder failed: go on without the cache, after one warning."""
        self._disable(exc)

    def _disable(self, exc: OSError) -> None:
        if not self._warned:
            logger.warning(
                'cache disabled: cannot write %s (%s); continuing without it',
                self.directory,
                exc.strerror or exc,
            )
            self._warned = True
        self.directory = None

    def size(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def _entries(self) -> list[tuple[float, int, str]]:
        """(mtime, size, path) of every file named as our entries are, without
        following a symlink; [] unless the folder carries our marker."""
        if self.directory is None or not is_ours(self.directory):
            return []
        found = []
        for namespace in _listing(str(self.directory), _NAMESPACE_NAMES, folders=True):
            for shard in _listing(namespace, _SHARD, folders=True):
                for path in _listing(shard, _ENTRY, folders=False):
                    with contextlib.suppress(OSError):
                        st = os.lstat(path)
                        found.append((st.st_mtime, st.st_size, path))
        return found

    def prune(self) -> None:
        """Remove the least recently written entries until the cache fits its bound."""
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes * 3 // 4:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size

    def clear(self) -> int:
        """Remove every entry (and the folders that then hold nothing); returns how many
        bytes were freed. Anything else in the folder stays."""
        if self.directory is None:
            return 0
        freed = 0
        folders = set()
        for _, size, path in self._entries():
            with contextlib.suppress(OSError):
                os.unlink(path)
                freed += size
            folders.add(os.path.dirname(path))
        for folder in sorted(folders | {os.path.dirname(f) for f in folders}, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty
        return freed


def is_ours(directory: Path) -> bool:
    """Whether DIRECTORY carries the marker that our cache writes into its folder."""
    return read_file(os.path.join(directory, MARKER), limit=len(MARKER_TEXT)) == MARKER_TEXT


def _claim(root: str) -> None:
    """Mark ROOT as our cache folder, unless it holds things of someone else's: a
    GITOPS_CONFIG_CACHE_DIR naming $HOME must not get a tag that makes backup tools
    skip it, nor become a folder whose entry-named files `cache clear` removes."""
    with os.scandir(root) as it:
        others = sorted(e.name for e in it if not _OURS.fullmatch(e.name))
    if others:
        raise OSError(
            f"it holds {others[0]!r} and other files of someone else's, and no "
            f'{MARKER} of gitops-config; set {ENV_DIR} to a new or empty folder'
        )
    _write_marker(root)


def _write_marker(root: str) -> None:
    tmp = os.path.join(root, f'.{MARKER}-{os.getpid()}-{os.urandom(4).hex()}')
    with _create_new(tmp) as f:
        f.write(MARKER_TEXT)
    os.replace(tmp, os.path.join(root, MARKER))


def _listing(folder: str, names: re.Pattern[str], *, folders: bool) -> list[str]:
    """The entries of FOLDER whose names match NAMES: folders or regular files, never a
    symlink."""
    try:
        with os.scandir(folder) as it:
            return [
                e.path
                for e in it
                if names.fullmatch(e.name)
                and (
                    e.is_dir(follow_symlinks=False) if folders else e.is_file(follow_symlinks=False)
                )
            ]
    except OSError:
        return []


def _checksum(namespace: str, digest: str, payload: bytes) -> bytes:
    """Binds PAYLOAD to the key it is filed under: an entry copied to another key's
    place is a miss."""
    h = hashlib.sha256(f'{namespace}\0{digest}\0'.encode())
    h.update(payload)
    return h.digest()


def read_file(
    path: str | os.PathLike[str],
    *,
    limit: int | None = None,
    accept: Callable[[os.stat_result], bool] | None = None,
) -> bytes | None:
    """PATH's bytes (at most LIMIT), if it is a regular file (that ACCEPT accepts): a
    symlink is not followed, and a FIFO or device planted in the folder can neither
    block nor be read."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (accept is not None and not accept(st)):
            return None
        chunks = []
        left = st.st_size if limit is None else min(st.st_size, limit)
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b''.join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _create_new(path: str) -> BinaryIO:
    """A new file at PATH, for writing: never an existing one, never through a symlink."""
    fd = os.open(
        path,
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, 'O_NOFOLLOW', 0)
        | (getattr(os, 'O_CLOEXEC', 0)),
        0o644,
    )
    return os.fdopen(fd, 'wb')


def default_dir(environ: Mapping[str, str]) -> Path:
    """Where the cache folder is: GITOPS_CONFIG_CACHE_DIR, else the XDG cache folder."""
    if environ.get(ENV_DIR):
        return Path(environ[ENV_DIR])
    base = environ.get('XDG_CACHE_HOME') or os.path.join(_home(environ), '.cache')
    return Path(base) / 'gitops-config'


def _home(environ: Mapping[str, str]) -> str:
    """The home folder ENVIRON names (the run's, not whatever the process has now)."""
    return environ.get('HOME') or os.path.expanduser('~')


KEY_FILE = 'cache-key'
_KEY_BYTES = 32


def key_path(environ: Mapping[str, str]) -> Path:
    """Where the key that vouches for compiled templates is: in the config folder."""
    base = environ.get('XDG_CONFIG_HOME') or os.path.join(_home(environ), '.config')
    return Path(base) / 'gitops-config' / KEY_FILE


def _load_key(where: Path, directory: Path) -> bytes | None:
    try:
        folder, cache_dir = where.parent.resolve(), directory.resolve()
        if folder == cache_dir or cache_dir in folder.parents:
            return None  # the key would sit in the cache folder
        found = _read_key(where)
        if found is None and not where.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = where.with_name(f'.{KEY_FILE}-{os.getpid()}-{os.urandom(4).hex()}')
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), 0o600
            )
            try:
                os.write(fd, os.urandom(_KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            with contextlib.suppress(FileExistsError):  # another process made one first
                os.link(tmp, where)
            os.unlink(tmp)
            found = _read_key(where)
    except OSError as exc:
        logger.debug('no key for compiled templates in the cache: %s', exc)
        return None
    return found


def _read_key(where: Path) -> bytes | None:
    """The key at WHERE, if it is a file of ours that nobody else can read or write."""
    data = read_file(where, limit=_KEY_BYTES, accept=_private)
    if data is not None and len(data) != _KEY_BYTES:
        return None
    if data is None and where.exists():
        logger.debug('ignoring %s: not a private %d-byte file of ours', where, _KEY_BYTES)
    return data


def _private(st: os.stat_result) -> bool:
    return not st.st_mode & 0o077 and st.st_size == _KEY_BYTES and st.st_uid == os.geteuid()
