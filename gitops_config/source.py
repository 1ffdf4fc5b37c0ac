"""Where a config repository's files come from: the working tree, a commit, the index.

Every path is POSIX and relative to the project root (the folder holding
gitops-config.yaml), whatever the source.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Protocol

from gitops_config.errors import FileMissingError
from gitops_config.errors import GitopsConfigError

if TYPE_CHECKING:
    from gitops_config.git import Repo
    from gitops_config.git import TreeEntry


class PathOutsideError(GitopsConfigError):
    code = 'path-outside-repository'


class Source(Protocol):
    # what to call this source in messages: 'working tree' or a short SHA
    label: str

    # the file's bytes, or FileMissingError
    def read(self, path: str) -> bytes: ...

    def exists(self, path: str) -> bool: ...

    # every file at or below UNDER ('' for all), sorted
    def files(self, under: str = '') -> list[str]: ...

    # a content hash that changes exactly when the file's bytes change (git's blob SHA)
    def blob_id(self, path: str) -> str: ...


def normalize(path: str, *, what: str = 'path') -> str:
    """A project-relative POSIX path, refusing anything that leaves the project."""
    if os.path.isabs(path) or path.startswith(('/', '\\')):
        raise PathOutsideError(f'{what} {path!r} is absolute',
                               hint='use a path relative to the project root')
    clean = posixpath.normpath(path.replace('\\', '/'))
    if clean == '..' or clean.startswith('../'):
        raise PathOutsideError(f'{what} {path!r} points outside the repository',
                               hint='keep every path inside the project root')
    return '' if clean == '.' else clean


def _missing(path: str, label: str) -> FileMissingError:
    return FileMissingError(f'{path}: no such file in the {label}',
                            hint='check the path in gitops-config.yaml')


class WorkTree:
    """Files on disk below ROOT."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = 'working tree'
        self._base = str(root)
        # path -> (mtime, size, blob SHA): hashed again when the file changes
        self._sha_cache: dict[str, tuple[int, int, str]] = {}

    def _full(self, path: str) -> str:
        # plain strings, not pathlib: this runs for every template of every environment
        return os.path.join(self._base, normalize(path))

    def read(self, path: str) -> bytes:
        try:
            with open(self._full(path), 'rb') as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _missing(path, self.label) from None
        except PermissionError:
            raise FileMissingError(f'{path}: permission denied') from None

    def exists(self, path: str) -> bool:
        return (self.root / normalize(path)).is_file()

    def files(self, under: str = '') -> list[str]:
        base = self.root / normalize(under)
        if base.is_file():
            return [normalize(under)]
        found: list[str] = []
        for directory, dirs, names in os.walk(base):
            dirs[:] = [d for d in dirs if d != '.git']
            rel = Path(directory).relative_to(self.root).as_posix()
            for name in names:
                found.append(name if rel == '.' else f'{rel}/{name}')
        return sorted(found)

    def blob_id(self, path: str) -> str:
        from gitops_config.git import blob_sha

        try:
            st = os.stat(self._full(path))
        except OSError:
            raise _missing(path, self.label) from None
        cached = self._sha_cache.get(path)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        sha = blob_sha(self.read(path))
        self._sha_cache[path] = (st.st_mtime_ns, st.st_size, sha)
        return sha


class _TreeSource:
    """Blobs listed by a git tree-like mapping, read from the object store."""

    def __init__(self, repo: Repo, entries: dict[str, TreeEntry], prefix: str, label: str,
                 ) -> None:
        self.repo = repo
        self.label = label
        self.root = repo.root / prefix if prefix else repo.root
        self._prefix = prefix
        self._entries = entries
        self._cache: dict[str, bytes] = {}

    def _entry(self, path: str) -> TreeEntry | None:
        # a path listed as it is is already normal: normalize only the rest
        return self._entries.get(self._prefix + path) or self._entries.get(
            self._prefix + normalize(path))

    def read(self, path: str) -> bytes:
        entry = self._entry(path)
        if entry is None:
            raise _missing(path, self.label)
        data = self._cache.get(entry.sha)
        if data is None:
            data = self._cache[entry.sha] = self.repo.read_blob(entry.sha)
        return data

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


class GitTree(_TreeSource):
    """The project as it is in one commit: no checkout, works in bare clones."""

    def __init__(self, repo: Repo, commit: str, prefix: str = '') -> None:
        super().__init__(repo, repo.tree(commit), prefix, commit[:12])
        self.commit = commit


class IndexTree(_TreeSource):
    """The project as staged: what pre-commit is about to commit."""

    def __init__(self, repo: Repo, prefix: str = '') -> None:
        super().__init__(repo, repo.index(), prefix, 'index')


def open_source(root: Path, ref: str | None) -> Source:
    """The working tree at ROOT, or ROOT as it is in commit REF."""
    if ref is None:
        return WorkTree(root)
    from gitops_config.git import Repo

    repo = Repo(root)
    commit = repo.resolve(ref)
    return GitTree(repo, commit, '' if repo.bare else prefix_of(repo.root, root))


def prefix_of(top: Path, root: Path) -> str:
    """Where project ROOT sits inside the repository at TOP, as a tree path prefix."""
    try:
        rel = root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return ''
    return '' if rel == '.' else rel + '/'
