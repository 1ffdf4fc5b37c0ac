"""Reads and writes that never follow a symlink, and writes that are atomic.

A config repository may come from a hostile pull request, so no read or write
goes through a symlink it holds: every folder below a trusted base is opened
without following symlinks (a directory fd per folder, openat-style), and a file
is replaced by a rename within its folder: it is either its old self or its new
self, never half of each.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from gitops_config.errors import GitopsConfigError

_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_DIR = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | _CLOEXEC
# O_NONBLOCK: opening a FIFO planted where a file is expected must not hang
READ_NOFOLLOW = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, 'O_NONBLOCK', 0)


class WriteError(GitopsConfigError):
    code = 'write-failed'


class SymlinkError(GitopsConfigError):
    """A symlink where a file or folder of the repository is expected."""

    code = 'symlink'

    def __init__(self, path: str) -> None:
        super().__init__(
            f'{path} is a symbolic link: gitops-config never follows symlinks '
            'in a config repository',
            hint='replace the link with the file or folder itself',
        )


class NotRegularError(GitopsConfigError):
    code = 'not-a-regular-file'


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    durable: bool = True,
    root: Path | None = None,
) -> None:
    """Write DATA to PATH via a temporary file in the same folder, fsync and rename.

    No folder below ROOT (default: see trusted_base) and not PATH itself may be a
    symlink; missing folders are created. MODE, when given, always applies (a
    decrypted file must end up 0600 even over a readable one); else PATH keeps its
    permission bits, or a new file gets the umask's. DURABLE=False skips the fsync:
    for files that can be made again (rendered output), where a rename is atomicity
    enough and an fsync per file would dominate.
    """
    base, parts = _split(path, root)
    try:
        with ConfinedTree(base, shown=base) as tree:
            tree.write('/'.join(parts), data, mode=mode, durable=durable)
    except OSError as exc:
        raise WriteError(f'{path}: cannot write: {exc.strerror or exc}') from None


def read_file(path: Path, *, root: Path | None = None) -> bytes:
    """PATH's bytes, read without following a symlink below ROOT (default: see
    trusted_base). Missing: FileNotFoundError."""
    base, parts = _split(path, root)
    with ConfinedTree(base, shown=base) as tree:
        data = tree.read('/'.join(parts))
    if data is None:
        raise FileNotFoundError(errno.ENOENT, 'No such file or directory', str(path))
    return data


def _split(path: Path, root: Path | None) -> tuple[str, tuple[str, ...]]:
    full = os.path.abspath(path)
    base = os.path.abspath(root) if root is not None else trusted_base(full)
    rel = os.path.relpath(full, base)
    if rel in ('.', '..') or rel.startswith('..' + os.sep):
        raise WriteError(f'{path}: not below {base}')
    return base, tuple(rel.split(os.sep))


def trusted_base(path: str) -> str:
    """The part of absolute PATH that the user chose: the top of the git work tree
    holding it (below it, the repository decides what is a symlink), else PATH's own
    folder (a path the user named outside any repository)."""
    parts = path.split(os.sep)
    for i in range(2, len(parts)):
        top = os.sep.join(parts[:i]) or os.sep
        if os.path.lexists(os.path.join(top, '.git')):
            return top
    return os.path.dirname(path)


class ConfinedTree:
    """Files below one folder, reached without following any symlink.

    BASE is trusted as it is (it may be reached through symlinks); the folders
    PARTS below it, and everything below those, are opened one component at a
    time with O_NOFOLLOW. Paths given to the methods are POSIX and relative to
    BASE/PARTS. Missing folders are created on the first write. Messages name a
    path relative to BASE, prefixed with SHOWN (what BASE is called, if anything).
    Use it as a context manager: it holds folder fds.
    """

    def __init__(
        self,
        base: str | Path,
        parts: Sequence[str] = (),
        *,
        shown: str = '',
    ) -> None:
        self._base = str(base)
        self._parts = tuple(parts)
        self._shown = shown
        self._fds: dict[tuple[str, ...], int] = {}

    def __enter__(self) -> ConfinedTree:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def _name(self, full: Sequence[str]) -> str:
        return '/'.join((self._shown, *full) if self._shown else full)

    def _folder(self, full: tuple[str, ...], *, create: bool) -> int | None:
        """The fd of folder BASE/FULL; None if it does not exist (and not CREATE)."""
        found = self._fds.get(full)
        if found is not None:
            return found
        if not full:
            try:
                fd = os.open(self._base, _DIR)
            except FileNotFoundError:
                if not create:
                    return None
                os.makedirs(self._base, exist_ok=True)  # BASE is trusted as it is
                fd = os.open(self._base, _DIR)
            self._fds[full] = fd
            return fd
        parent = self._folder(full[:-1], create=create)
        if parent is None:
            return None
        name = full[-1]
        _check_name(name, self._name(full))
        try:
            fd = os.open(name, _DIR | _NOFOLLOW, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                return None
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o777, dir_fd=parent)
            fd = os.open(name, _DIR | _NOFOLLOW, dir_fd=parent)
        except OSError:
            st = _lstat(parent, name)
            if st is not None and stat.S_ISLNK(st.st_mode):
                raise SymlinkError(self._name(full)) from None
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise NotRegularError(
                    f'{self._name(full)} is not a folder', hint='move the file out of the way'
                ) from None
            raise
        self._fds[full] = fd
        return fd

    def _split(self, rel: str) -> tuple[tuple[str, ...], str]:
        parts = (*self._parts, *rel.split('/'))
        for i, part in enumerate(parts):
            _check_name(part, self._name(parts[: i + 1]))
        return parts[:-1], parts[-1]

    def _file(self, folder: int, full: tuple[str, ...]) -> os.stat_result | None:
        """FULL's lstat if it is a regular file; None if absent; else an error."""
        st = _lstat(folder, full[-1])
        if st is None:
            return None
        if stat.S_ISLNK(st.st_mode):
            raise SymlinkError(self._name(full))
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularError(
                f'{self._name(full)} is not a regular file', hint='move it out of the way'
            )
        return st

    def exists(self) -> bool:
        """Whether the tree's own folder exists (a symlink on the way is an error)."""
        return self._folder(self._parts, create=False) is not None

    def files(self) -> list[str]:
        """Every entry below the tree's folder that is not a folder (files, symlinks,
        FIFOs...), relative to it, sorted; symlinked folders are listed, not entered."""
        folder = self._folder(self._parts, create=False)
        found: list[str] = []
        if folder is not None:
            self._list(folder, '', found)
        return sorted(found)

    def _list(self, folder: int, rel: str, found: list[str]) -> None:
        with os.scandir(folder) as entries:
            listed = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        for name, is_dir in listed:
            path = f'{rel}/{name}' if rel else name
            if not is_dir:
                found.append(path)
                continue
            fd = os.open(name, _DIR | _NOFOLLOW, dir_fd=folder)
            try:
                self._list(fd, path, found)
            finally:
                os.close(fd)

    def read(self, rel: str) -> bytes | None:
        """The bytes of file REL, or None when it does not exist."""
        folders, name = self._split(rel)
        folder = self._folder(folders, create=False)
        if folder is None:
            return None
        try:
            fd = os.open(name, READ_NOFOLLOW, dir_fd=folder)
        except FileNotFoundError:
            return None
        except OSError:
            self._file(folder, (*folders, name))  # says why: a symlink, a folder...
            raise
        with os.fdopen(fd, 'rb') as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise NotRegularError(
                    f'{self._name((*folders, name))} is not a regular file',
                    hint='move it out of the way',
                )
            return f.read()

    def write(
        self, rel: str, data: bytes, *, mode: int | None = None, durable: bool = True
    ) -> None:
        """Replace file REL with DATA atomically (see atomic_write)."""
        folders, name = self._split(rel)
        folder = self._folder(folders, create=True)
        assert folder is not None
        st = self._file(folder, (*folders, name))
        keep = mode if mode is not None else (stat.S_IMODE(st.st_mode) if st else None)
        # a name unique to this process and write; O_EXCL refuses anyone else's file
        tmp = f'.{name[:80]}.{os.getpid()}-{os.urandom(4).hex()}.tmp'
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
            0o600 if mode is not None else 0o666,
            dir_fd=folder,
        )
        try:
            with os.fdopen(fd, 'wb') as f:
                if keep is not None:
                    os.fchmod(f.fileno(), keep)
                f.write(data)
                f.flush()
                if durable:
                    os.fsync(f.fileno())
            os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=folder)
            raise

    def remove(self, rel: str) -> bool:
        """Delete file REL (never a folder, never through a symlink); False if absent."""
        folders, name = self._split(rel)
        folder = self._folder(folders, create=False)
        if folder is None or self._file(folder, (*folders, name)) is None:
            return False
        os.unlink(name, dir_fd=folder)
        return True


def _lstat(folder: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None


def plain_path(path: str) -> bool:
    """Whether PATH is relative and made of plain names only: no empty, '.' or '..'
    part and no '.git' folder (git's own rules for what a tree may hold)."""
    return all(
        part not in ('', '.', '..') and part.casefold() != '.git' for part in path.split('/')
    )


# What no name that a report prints may hold: a line break or other control character
# (it prints as a line of its own, and in CI a line `::warning ...` is a workflow
# command; an escape recolours the terminal) or a bidi control (it reorders what the
# reader sees). Git stores any of them in a name.
_UNPRINTABLE = re.compile('[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]')


class UnprintableNameError(GitopsConfigError):
    code = 'unprintable-name'

    def __init__(self, path: str) -> None:
        super().__init__(
            f'{path!r} holds a control character (a line break, an escape or a '
            'bidi control): every report would print it as other lines or codes',
            hint='rename it',
        )


def check_printable(path: str) -> str:
    """PATH, if every report can print it as it is; else UnprintableNameError."""
    if _UNPRINTABLE.search(path):
        raise UnprintableNameError(path)
    return path


def printable(path: str) -> str:
    """PATH as a report may print it: as it is, or JSON-quoted when it holds a control
    character (a file a pull request put where no check refuses it)."""
    return json.dumps(path) if _UNPRINTABLE.search(path) else path


def _check_name(name: str, shown: str) -> None:
    if name in ('', '.', '..') or '/' in name or '\0' in name:
        raise WriteError(
            f'{shown}: {name!r} is not a file or folder name',
            hint='paths must not hold empty, "." or ".." parts',
        )
