"""Git through plumbing only: refs, trees, blobs in one persistent `cat-file --batch`.

The only module that imports GitPython, and it does so lazily: importing it
costs 110+ ms, which `--help` and pre-commit hooks must not pay.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import weakref
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_config import process
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import plain_path
from gitops_config.process import Completed


class GitError(GitopsConfigError):
    code = 'git'


class RefNotFoundError(GitError):
    code = 'ref-not-found'


class UnsafeTreeError(GitError):
    code = 'unsafe-tree'


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    sha: str


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author: str
    date: str  # ISO 8601: the committer date, from `log`
    subject: str


@dataclass(frozen=True, slots=True)
class FileVersion:
    commit: CommitInfo  # its date is the author date: a rebase keeps it
    blob: str | None  # the file's blob in that commit; None: the commit deleted it


# What git itself sets for its hooks, and pre-commit's hooks inherit: GIT_DIR,
# GIT_INDEX_FILE, GIT_WORK_TREE, GIT_PREFIX... would point every git we run at
# another repository, index or folder. Only these carry no location: who commits,
# which config files to read, and how to reach a remote (as pre-commit keeps them
# for its own git).
_KEPT = frozenset(
    {
        'GIT_AUTHOR_NAME',
        'GIT_AUTHOR_EMAIL',
        'GIT_AUTHOR_DATE',
        'GIT_COMMITTER_NAME',
        'GIT_COMMITTER_EMAIL',
        'GIT_COMMITTER_DATE',
        'GIT_EXEC_PATH',
        'GIT_SSH',
        'GIT_SSH_COMMAND',
        'GIT_SSL_CAINFO',
        'GIT_SSL_NO_VERIFY',
        'GIT_HTTP_PROXY_AUTHMETHOD',
        'GIT_ALLOW_PROTOCOL',
        'GIT_ASKPASS',
        'GIT_TERMINAL_PROMPT',
        'GIT_CONFIG_NOSYSTEM',
        'GIT_CONFIG_GLOBAL',
        'GIT_CONFIG_SYSTEM',
    }
)


def _kept(name: str) -> bool:
    return (
        not name.startswith('GIT_')
        or name in _KEPT
        or name == 'GIT_CONFIG_COUNT'
        or name.startswith(('GIT_CONFIG_KEY_', 'GIT_CONFIG_VALUE_'))
    )


def clean_env() -> dict[str, str]:
    """The environment without the GIT_* variables that say where a repository is."""
    return {k: v for k, v in os.environ.items() if _kept(k)}


def _run(cwd: Path, *args: str) -> Completed:
    return process.run(['git', *args], cwd=cwd, env=clean_env(), check=False)


def head_commit(root: Path) -> str | None:
    """The commit HEAD of the repository at ROOT is, None outside one or before its first."""
    done = _run(root, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}')
    if done.returncode != 0:
        return None
    return done.stdout.decode().strip() or None


def tracked_files(root: Path) -> list[str] | None:
    """The files git tracks (or has staged) below ROOT, relative to it; None outside a
    work tree."""
    done = _run(root, 'ls-files', '-z', '--cached', '--', '.')
    if done.returncode != 0:
        return None
    return [p for p in done.stdout.decode(errors='surrogateescape').split('\0') if p]


def work_tree(start: Path) -> Path:
    """The top of the work tree START is in, or a clear error."""
    done = _run(start, 'rev-parse', '--show-toplevel')
    if done.returncode != 0:
        raise GitError(
            f'{start}: not a git repository', hint='run inside a git repository, or use -C DIR'
        )
    return Path(done.stdout.decode().strip())


def set_config(repo: Path, key: str, value: str) -> None:
    """Set KEY in the repository's own (--local) config."""
    done = _run(repo, 'config', '--local', key, value)
    if done.returncode != 0:
        raise GitError(
            f'git config {key}: {done.stderr.decode(errors="replace").strip() or done.returncode}'
        )


def _located(repo: Any) -> dict[str, str]:
    """Values for the inherited GIT_* variables that GitPython would pass on to every git
    it runs (it can add to its environment, not take away): this repository's own
    locations, and empty (git's 'not set') for the rest."""
    own = {
        'GIT_DIR': repo.git_dir,
        'GIT_COMMON_DIR': repo.common_dir,
        'GIT_INDEX_FILE': os.path.join(repo.git_dir, 'index'),
        'GIT_OBJECT_DIRECTORY': os.path.join(repo.common_dir, 'objects'),
    }
    if repo.working_tree_dir is not None:
        own['GIT_WORK_TREE'] = repo.working_tree_dir
    return {k: str(own.get(k, '')) for k in os.environ if not _kept(k)}


class Repo:
    """One repository; blobs are read through one persistent cat-file process."""

    def __init__(self, path: Path) -> None:
        # lazy: GitPython loads only when __init__() runs (start-up)
        import git  # GitPython, imported only when a command reads commits

        try:
            self._repo: Any = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(
                f'{path}: not a git repository', hint='run inside a git repository, or use -C DIR'
            ) from None
        self._repo.git.update_environment(**_located(self._repo))
        self._git: Any = self._repo.git
        self._exc = git.GitCommandError
        self.bare: bool = bool(self._repo.bare)
        self._blobs: dict[str, bytes] = {}
        self.root = Path(self._repo.working_tree_dir or self._repo.git_dir)
        # remembered by this Repo, which lives for one command: a cache on the class
        # would keep every Repo (and its cat-file process) of the process alive
        self.resolve: Callable[[str], str] = functools.lru_cache(maxsize=256)(self._resolve)
        self.tree: Callable[[str], dict[str, TreeEntry]] = functools.lru_cache(maxsize=64)(
            self._tree
        )
        # Those caches refer back to this Repo, so the cycle collector frees it, at a time
        # nobody chooses: its cat-file processes are ended then, in order, rather than
        # left to the finalisers of their pipes (which warn, and may run first).
        self._closer = weakref.finalize(self, self._repo.close)  # ends cat-file too

    def close(self) -> None:
        self._closer()

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        try:
            return str(self._git.execute(['git', *args], strip_newline_in_stdout=False, env=env))
        except self._exc as exc:
            stderr = (exc.stderr or '').strip().splitlines()
            detail = stderr[-1].strip() if stderr else f'exit {exc.status}'
            detail = detail.removeprefix("stderr: '").rstrip("'")
            raise GitError(f'git {" ".join(args[:2])}: {detail}') from None

    def _resolve(self, rev: str) -> str:
        """The commit SHA of REV, or a clear error."""
        try:
            out = self._git.execute(
                ['git', 'rev-parse', '--verify', '--quiet', f'{rev}^{{commit}}']
            )
        except self._exc:
            out = ''
        if not out:
            hint = 'check the name with `git log --oneline`'
            if self._is_shallow():
                hint = (
                    'this is a shallow clone: fetch the history '
                    '(actions/checkout with fetch-depth: 0)'
                )
            raise RefNotFoundError(f'revision {rev!r} not found in {self.root}', hint=hint)
        return str(out).strip()

    def _is_shallow(self) -> bool:
        return (Path(self._repo.git_dir) / 'shallow').exists()

    def _tree(self, commit: str) -> dict[str, TreeEntry]:
        """Every blob path in COMMIT (recursively) with its mode and SHA."""
        out = self.run('ls-tree', '-r', '-z', '--full-tree', commit)
        entries: dict[str, TreeEntry] = {}
        for record in out.split('\0'):
            if not record:
                continue
            meta, path = record.split('\t', 1)
            mode, kind, sha = meta.split()
            if kind == 'blob':
                entries[_plain(path, commit[:12])] = TreeEntry(mode, sha)
        return entries

    def read_blob(self, sha: str) -> bytes:
        # Both sides of a diff mostly share blobs: each is read once per repository.
        data = self._blobs.get(sha)
        if data is None:
            try:
                _, _, _, raw = self._git.get_object_data(sha)
            except (ValueError, self._exc) as exc:
                raise GitError(f'cannot read git object {sha}: {exc}') from None
            data = self._blobs[sha] = bytes(raw)
        return data

    def index(self) -> dict[str, TreeEntry]:
        """The staged blobs (what pre-commit is about to commit)."""
        out = self.run('ls-files', '-s', '-z')
        entries: dict[str, TreeEntry] = {}
        for record in out.split('\0'):
            if record:
                meta, path = record.split('\t', 1)
                mode, sha, _stage = meta.split()
                entries[_plain(path, 'the index')] = TreeEntry(mode, sha)
        return entries

    def staged_paths(self) -> list[str]:
        """What the next commit adds or changes: new, modified, copied, and renamed files
        (by their new name, however similar to the old), from the top of the work tree."""
        out = self.run(
            'diff', '--cached', '--name-only', '-z', '--no-ext-diff', '-M', '--diff-filter=ACMRT'
        )
        return sorted(p for p in out.split('\0') if p)

    def changed_paths(self, old: str, new: str) -> list[str]:
        out = self.run('diff-tree', '-r', '-z', '--no-renames', '--name-only', old, new)
        return sorted(p for p in out.split('\0') if p)

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.run('merge-base', a, b).strip() or None
        except GitError:
            return None

    def default_branch(self) -> str | None:
        for candidate in ('origin/HEAD', 'origin/main', 'origin/master', 'main', 'master'):
            try:
                self.resolve(candidate)
            except RefNotFoundError:
                continue
            return candidate
        return None

    def log(
        self,
        rev: str,
        paths: Iterable[str] = (),
        *,
        max_count: int | None = None,
    ) -> list[CommitInfo]:
        args = ['log', '-z', '--format=%H%x1f%an <%ae>%x1f%cI%x1f%s']
        if max_count is not None:
            args.append(f'--max-count={max_count}')
        args += [rev, '--', *paths]
        out = self.run(*args)
        commits = []
        for record in out.split('\0'):
            record = record.strip('\n')
            if record:
                sha, author, date, subject = record.split('\x1f', 3)
                commits.append(CommitInfo(sha, author, date, subject))
        return commits

    def file_history(self, rev: str, path: str) -> list[FileVersion]:
        """Every commit up to REV that changed PATH (followed across renames), newest
        first, with the blob it left there (None where it deleted the file)."""
        out = self.run(
            'log',
            '--follow',
            '-M',
            '--raw',
            '--no-abbrev',
            '-z',
            '--format=%x1e%H%x1f%aI%x1f%an <%ae>%x1f%s',
            rev,
            '--',
            path,
        )
        versions = []
        for record in out.split('\x1e'):
            header, _, raw = record.partition('\0')
            if not header:
                continue
            sha, date, author, subject = header.split('\x1f', 3)
            meta = raw.lstrip('\n').split('\0', 1)[0].split()
            blob = meta[3] if len(meta) >= 5 else None
            if blob is not None and (meta[4].startswith('D') or not blob.strip('0')):
                blob = None
            versions.append(FileVersion(CommitInfo(sha, author, date, subject), blob))
        return versions

    @property
    def shallow(self) -> bool:
        """A shallow clone: history stops at the commits it was cut at."""
        return self._is_shallow()

    # -- writing: objects and refs, never the checkout or the index ----------

    def commit_files(
        self,
        parent: str,
        files: Mapping[str, bytes | None],
        message: str,
    ) -> str:
        """A new commit on top of PARENT with FILES (repository paths -> content; None
        removes) changed, and nothing else. Built in a temporary index, so the user's
        checkout and index stay as they are; no branch is moved."""
        with tempfile.TemporaryDirectory(prefix='gitops-config-index-') as tmp:
            env = {'GIT_INDEX_FILE': os.path.join(tmp, 'index')}
            self.run('read-tree', parent, env=env)
            modes = self.tree(parent)
            for path, data in sorted(files.items()):
                if data is None:
                    self.run('update-index', '--force-remove', '--', path, env=env)
                    continue
                blob = os.path.join(tmp, 'blob')
                with open(blob, 'wb') as f:
                    f.write(data)
                # --no-filters: the bytes as given (no clean filter, no line endings)
                sha = self.run('hash-object', '-w', '--no-filters', '--', blob).strip()
                mode = modes[path].mode if path in modes else '100644'
                self.run('update-index', '--add', '--cacheinfo', f'{mode},{sha},{path}', env=env)
            tree = self.run('write-tree', env=env).strip()
        return self.run('commit-tree', tree, '-p', parent, '-m', message).strip()

    def branch(self, name: str) -> str | None:
        """The commit branch NAME points at, None when there is no such branch."""
        try:
            out = self.run('rev-parse', '--verify', '--quiet', f'refs/heads/{name}^{{commit}}')
        except GitError:
            return None
        return out.strip() or None

    def set_branch(self, name: str, sha: str, *, was: str | None) -> None:
        """Point branch NAME at SHA, only if it still points at WAS (None: absent), so
        that a branch another process moved meanwhile is never overwritten."""
        self.run('update-ref', '-m', 'gitops-config', f'refs/heads/{name}', sha, was or '0' * 40)

    def delete_branch(self, name: str, *, was: str) -> None:
        self.run('update-ref', '-d', f'refs/heads/{name}', was)

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        try:
            self.run('merge-base', '--is-ancestor', ancestor, commit)
        except GitError:
            return False
        return True

    def message(self, sha: str) -> str:
        return self.run('log', '-1', '--format=%B', sha)

    def current_branch(self) -> str | None:
        out = self.run('rev-parse', '--abbrev-ref', 'HEAD').strip()
        return None if out == 'HEAD' else out  # HEAD: detached

    def remote_branch(self, remote: str, name: str) -> str | None:
        """The commit branch NAME points at on REMOTE, None when it has no such branch."""
        out = self.run('ls-remote', '--heads', remote, f'refs/heads/{name}')
        return out.split()[0] if out.strip() else None

    def fetch_branch(self, remote: str, name: str) -> None:
        """Fetch branch NAME's commits from REMOTE (no local ref is moved)."""
        self.run('fetch', '--quiet', '--no-tags', remote, f'refs/heads/{name}')

    def push_branch(self, remote: str, sha: str | None, name: str, *, was: str | None) -> None:
        """Set (SHA) or delete (None) branch NAME on REMOTE, only if it is still at WAS
        there (None: absent): a lease, so a push someone made meanwhile is kept."""
        ref = f'refs/heads/{name}'
        lease = f'--force-with-lease={ref}:{was or ""}'
        self.run(
            'push',
            '--quiet',
            '--porcelain',
            lease,
            remote,
            f'{sha}:{ref}' if sha is not None else f':{ref}',
        )


def _plain(path: str, where: str) -> str:
    if not plain_path(path):
        raise UnsafeTreeError(
            f'{where} holds the path {path!r}: a name with "..", "." or ".git" parts, or an '
            'absolute one, can only come from a crafted tree; refusing to read it',
            hint='git refuses to check such a tree out; do not render or review this commit',
        )
    return path


def blob_sha(data: bytes) -> str:
    """The SHA git gives DATA as a blob, without asking git."""
    return hashlib.sha1(b'blob %d\0' % len(data) + data, usedforsecurity=False).hexdigest()


def toplevel(start: Path) -> Path | None:
    """The working tree root above START, found without spawning git."""
    for directory in (start, *start.parents):
        if (directory / '.git').exists():
            return directory
    return None
