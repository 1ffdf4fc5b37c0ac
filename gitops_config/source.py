"""Where a config repository's files come from: the working tree, a commit, the index.

Every path is POSIX and relative to the project root (the folder holding
gitops-config.yaml), whatever the source.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Protocol

from gitops_config.errors import FileMissingError
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import READ_NOFOLLOW
from gitops_config.fsutil import NotRegularError
from gitops_config.fsutil import SymlinkError
from gitops_config.fsutil import read_file
from gitops_config.git import blob_sha

if TYPE_CHECKING:
    from gitops_config.git import Repo
    from gitops_config.git import TreeEntry


class PathOutsideError(GitopsConfigError):
    code = 'path-outside-repository'


class Source(Protocol):
    # what to call this source in messages: 'working tree' or a short SHA
    label: str

    # the project's folder on disk (a bare clone's: the repository), where a command
    # run on this source resolves paths and writes
    @property
    def root(self) -> Path: ...

    # the commit this source is (a full SHA), or None: the working tree, the index, or
    # files a command has edited in memory
    @property
    def commit(self) -> str | None: ...

    # the file's bytes, or FileMissingError
    def read(self, path: str) -> bytes: ...

    def exists(self, path: str) -> bool: ...

    # every file at or below UNDER ('' for all), sorted
    def files(self, under: str = '') -> list[str]: ...

    # a content hash that changes exactly when the file's bytes change (git's blob SHA)
    def blob_id(self, path: str) -> str: ...

    # the nearest file NAME at or above the project root, within the repository (as
    # sops finds .sops.yaml): the project root's path from NAME's folder ('', or
    # 'config/' for a project in config/), and its bytes; None if there is none
    def find_upwards(self, name: str) -> tuple[str, bytes] | None: ...


def normalize(path: str, *, what: str = 'path') -> str:
    """A project-relative POSIX path, refusing anything that leaves the project."""
    if os.path.isabs(path) or path.startswith(('/', '\\')):
        raise PathOutsideError(
            f'{what} {path!r} is absolute', hint='use a path relative to the project root'
        )
    clean = posixpath.normpath(path.replace('\\', '/'))
    if clean == '..' or clean.startswith('../'):
        raise PathOutsideError(
            f'{what} {path!r} points outside the repository',
            hint='keep every path inside the project root',
        )
    return '' if clean == '.' else clean


def _not_regular(path: str) -> NotRegularError:
    return NotRegularError(
        f'{normalize(path)} is not a regular file (a FIFO, socket or device)',
        hint='replace it with a file',
    )


def _missing(path: str, label: str) -> FileMissingError:
    return FileMissingError(
        f'{path}: no such file in the {label}', hint='check the path in gitops-config.yaml'
    )


class WorkTree:
    """Files on disk below ROOT, read without following symlinks.

    A symlink where a file or folder of the project is expected is an error naming
    it (a pull request could point one at a private key); listings include
    symlinks, so that reading one says so.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.commit: str | None = None
        self.label = 'working tree'
        self._base = str(root)
        # path -> (mtime, size, blob SHA): hashed again when the file changes
        self._sha_cache: dict[str, tuple[int, int, str]] = {}
        self._folders: set[str] = {''}  # checked to be real folders, not symlinks

    def _full(self, path: str) -> str:
        """PATH on disk, once every folder on the way is known to be a real one.
        Plain strings, not pathlib: this runs for every template of every environment."""
        rel = normalize(path)
        self._check_folders(rel)
        return os.path.join(self._base, rel)

    def _check_folders(self, rel: str) -> None:
        folder = posixpath.dirname(rel)
        if folder in self._folders:
            return
        self._check_folders(folder)
        try:
            st = os.lstat(os.path.join(self._base, folder))
        except OSError:
            return  # missing: the read that follows says so
        if stat.S_ISLNK(st.st_mode):
            raise SymlinkError(folder)
        if stat.S_ISDIR(st.st_mode):
            self._folders.add(folder)

    def read(self, path: str) -> bytes:
        full = self._full(path)
        try:
            fd = os.open(full, READ_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise _missing(path, self.label) from None
        except PermissionError:
            raise FileMissingError(f'{path}: permission denied') from None
        except OSError:
            if os.path.islink(full):  # O_NOFOLLOW refused it
                raise SymlinkError(normalize(path)) from None
            raise
        with os.fdopen(fd, 'rb') as f:
            mode = os.fstat(f.fileno()).st_mode
            if stat.S_ISDIR(mode):
                raise _missing(path, self.label)
            if not stat.S_ISREG(mode):
                raise _not_regular(path)
            return f.read()

    def _lstat(self, path: str) -> os.stat_result | None:
        try:
            st = os.lstat(self._full(path))
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            raise SymlinkError(normalize(path))
        if stat.S_ISDIR(st.st_mode):
            return None
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path)
        return st

    def exists(self, path: str) -> bool:
        return self._lstat(path) is not None

    def files(self, under: str = '') -> list[str]:
        rel = normalize(under)
        full = self._full(rel) if rel else self._base
        try:
            st = os.lstat(full)
        except OSError:
            return []
        if stat.S_ISLNK(st.st_mode):
            raise SymlinkError(rel)
        if stat.S_ISREG(st.st_mode):
            return [rel]
        found: list[str] = []
        if stat.S_ISDIR(st.st_mode):
            self._walk(full, rel, found)
        return sorted(found)

    def _walk(self, full: str, rel: str, found: list[str]) -> None:
        self._folders.add(rel)
        try:
            entries = list(os.scandir(full))
        except OSError:
            return
        for entry in entries:
            path = f'{rel}/{entry.name}' if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name != '.git':
                    self._walk(entry.path, path, found)
            elif entry.name != '.git':
                found.append(path)  # files, and symlinks: reading one says what it is

    def blob_id(self, path: str) -> str:
        st = self._lstat(path)
        if st is None:
            raise _missing(path, self.label)
        cached = self._sha_cache.get(path)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        sha = blob_sha(self.read(path))
        self._sha_cache[path] = (st.st_mtime_ns, st.st_size, sha)
        return sha

    def find_upwards(self, name: str) -> tuple[str, bytes] | None:
        if self.exists(name):
            return '', self.read(name)
        if os.path.lexists(os.path.join(self._base, '.git')):
            return None  # the top of the repository: nothing above it is its own
        for folder in self.root.parents:
            candidate = folder / name
            if os.path.lexists(candidate):
                return (
                    self.root.relative_to(folder).as_posix() + '/',
                    read_file(candidate, root=folder),
                )
            if os.path.lexists(folder / '.git'):
                break
        return None


class _TreeSource:
    """Blobs listed by a git tree-like mapping, read from the object store."""

    def __init__(
        self, repo: Repo, entries: dict[str, TreeEntry], prefix: str, label: str, root: Path | None
    ) -> None:
        self.repo = repo
        self.label = label
        self.root = root if root is not None else repo.root / prefix if prefix else repo.root
        self._prefix = prefix
        self._entries = entries
        self._cache: dict[str, bytes] = {}

    def _entry(self, path: str) -> TreeEntry | None:
        # a path listed as it is is already normal: normalize only the rest
        return self._entries.get(self._prefix + path) or self._entries.get(
            self._prefix + normalize(path)
        )

    def read(self, path: str) -> bytes:
        entry = self._entry(path)
        if entry is None:
            raise _missing(path, self.label)
        return self._blob(entry)

    def exists(self, path: str) -> bool:
        return self._entry(path) is not None

    def files(self, under: str = '') -> list[str]:
        want = self._prefix + normalize(under)
        cut = len(self._prefix)
        if want in self._entries:
            return [want[cut:]]
        start = want.rstrip('/') + '/' if want else ''
        return sorted(p[cut:] for p in self._entries if p.startswith(start))

    def blob_id(self, path: str) -> str:
        entry = self._entry(path)
        if entry is None:
            raise _missing(path, self.label)
        return entry.sha

    def find_upwards(self, name: str) -> tuple[str, bytes] | None:
        folders = self._prefix.split('/')[:-1]  # 'a/b/' -> ['a', 'b']
        for up in range(len(folders), -1, -1):
            above = '/'.join(folders[:up])
            entry = self._entries.get(f'{above}/{name}' if above else name)
            if entry is not None:
                below = '/'.join(folders[up:])
                return (below + '/' if below else '', self._blob(entry))
        return None

    def _blob(self, entry: TreeEntry) -> bytes:
        data = self._cache.get(entry.sha)
        if data is None:
            data = self._cache[entry.sha] = self.repo.read_blob(entry.sha)
        return data


class GitTree(_TreeSource):
    """The project as it is in one commit: no checkout, works in bare clones. PREFIX is
    the project's folder in the repository's trees; ROOT its folder on disk."""

    def __init__(
        self, repo: Repo, commit: str, prefix: str = '', *, root: Path | None = None
    ) -> None:
        super().__init__(repo, repo.tree(commit), prefix, commit[:12], root)
        self.commit = commit


class IndexTree(_TreeSource):
    """The project as staged: what pre-commit is about to commit."""

    def __init__(self, repo: Repo, prefix: str = '', *, root: Path | None = None) -> None:
        super().__init__(repo, repo.index(), prefix, 'index', root)
        self.commit = None
