"""Which version of a config repository to read: a ref resolved to a commit, opened as
a Source; or the working tree, or the index.

The project is the folder holding gitops-config.yaml, found at or above where
the command runs; it may be a folder of a larger repository, whose trees then
hold it under a prefix ('config/'). A commit is read from git objects only,
so this works in a dirty tree and in a bare clone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitops_config import constants as C
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import InvalidProjectError
from gitops_config.git import Repo
from gitops_config.git import toplevel
from gitops_config.source import GitTree
from gitops_config.source import IndexTree
from gitops_config.source import Source
from gitops_config.source import WorkTree


class NoMergeBaseError(GitopsConfigError):
    code = 'no-merge-base'


@dataclass(frozen=True)
class Located:
    """A project in its repository."""

    repo: Repo
    root: Path  # the project's folder (a bare clone's: the repository itself)
    prefix: str  # the project's folder in the repository's trees ('' or 'config/')

    def at(self, rev: str) -> GitTree:
        """The project as commit REV (a ref, a SHA) has it."""
        return self.commit(self.repo.resolve(rev))

    def commit(self, sha: str) -> GitTree:
        """The project as commit SHA (already resolved) has it."""
        return GitTree(self.repo, sha, self.prefix, root=self.root)

    def index(self) -> IndexTree:
        """The project as staged: what the next commit holds."""
        return IndexTree(self.repo, self.prefix, root=self.root)

    def staged(self) -> list[str]:
        """The files the next commit adds or changes inside the project, relative to it."""
        return [
            p[len(self.prefix) :] for p in self.repo.staged_paths() if p.startswith(self.prefix)
        ]


def find_root(start: Path) -> Path:
    """The nearest folder at or above START holding gitops-config.yaml."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / C.PROJECT_FILE).is_file():
            return directory
    raise InvalidProjectError(
        f'no {C.PROJECT_FILE} in {start} or any parent folder',
        hint='run inside a config repository, pass -C DIR, or create one with `gitops-config init`',
    )


def locate(start: Path, *, else_top: bool = False) -> Located:
    """The repository holding START and the project in it: the folder at or above
    START holding gitops-config.yaml; when the working tree has none, START (a commit
    may), or with ELSE_TOP the top of the work tree (every file of the repository is
    then the project's); in a bare clone, which has no files on disk, the top of its
    trees."""
    repo = Repo(start)
    if repo.bare:
        return Located(repo, repo.root, '')
    try:
        root = find_root(start)
    except InvalidProjectError:
        root = repo.root if else_top else start.resolve()
    return Located(repo, root, prefix_of(repo.root, root))


def located_at(root: Path) -> Located:
    """The repository holding ROOT, with the project at ROOT."""
    repo = Repo(root)
    if repo.bare:
        return Located(repo, repo.root, '')
    return Located(repo, root, prefix_of(repo.root, root))


def open_revision(start: Path, ref: str | None = None) -> Source:
    """The project at or above START: its working tree, or commit REF of it."""
    if ref is None:
        return WorkTree(find_root(start))
    return locate(start).at(ref)


def open_pair(start: Path, base: str | None, head: str | None) -> tuple[Source, Source]:
    """BASE and HEAD of the project at START, read from git objects.

    HEAD None is the working tree (in a bare clone, which has none: HEAD); BASE None
    is the merge-base of HEAD with the default branch (origin/HEAD, origin/main...).
    """
    found = locate(start)
    repo = found.repo
    if head is None and repo.bare:
        head = 'HEAD'
    head_commit = repo.resolve(head) if head is not None else None
    if base is None:
        branch = repo.default_branch()
        if branch is None:
            raise NoMergeBaseError(
                'no default branch to compare with',
                hint='name the base revision: gitops-config diff BASE',
            )
        tip = head_commit or repo.resolve('HEAD')
        base_commit = repo.merge_base(repo.resolve(branch), tip)
        if base_commit is None:
            raise NoMergeBaseError(
                f'{branch} and {tip[:12]} have no common history (unrelated histories)',
                hint='name the base revision explicitly, or fetch the full history '
                '(actions/checkout with fetch-depth: 0)',
            )
    else:
        base_commit = repo.resolve(base)
    head_source = found.commit(head_commit) if head_commit is not None else WorkTree(found.root)
    return found.commit(base_commit), head_source


def at_commit(root: Path, rev: str) -> Source | None:
    """The project at ROOT as commit REV has it; None when ROOT is in no repository or
    REV names no commit (a repository's first commit has no parent)."""
    if toplevel(root) is None:
        return None  # and GitPython is not even imported
    try:
        return located_at(root).at(rev)
    except GitopsConfigError:
        return None


def prefix_of(top: Path, root: Path) -> str:
    """Where project ROOT sits inside the repository at TOP, as a tree path prefix."""
    try:
        rel = root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return ''
    return '' if rel == '.' else rel + '/'
