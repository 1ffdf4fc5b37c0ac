"""Opening a config repository: where it is, and which version of it to read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_config import project as project_mod
from gitops_config.errors import InvalidProjectError
from gitops_config.project import Project
from gitops_config.source import Source
from gitops_config.source import WorkTree

if TYPE_CHECKING:
    from gitops_config.git import Repo


@dataclass(frozen=True)
class Located:
    repo: Repo
    root: Path  # the project's folder (a bare clone's: the repository itself)
    prefix: str  # the project's folder in the repository's trees ('' or 'config/')


def locate(start: Path) -> Located:
    """The repository holding START and the project in it: the folder at or above
    START holding gitops-config.yaml (or START, when the working tree has none: a
    commit may); in a bare clone, which has no files on disk, the top of its trees."""
    from gitops_config.git import Repo
    from gitops_config.source import prefix_of

    repo = Repo(start)
    if repo.bare:
        return Located(repo, repo.root, '')
    try:
        root = project_mod.find_root(start)
    except InvalidProjectError:
        root = start.resolve()
    return Located(repo, root, prefix_of(repo.root, root))


def open_project(start: Path, ref: str | None = None) -> tuple[Source, Project]:
    """The project at or above START, from the working tree or from commit REF.

    With REF the files come from git objects only, so this works in a dirty
    tree and in a bare clone.
    """
    if ref is None:
        root = project_mod.find_root(start)
        source: Source = WorkTree(root)
        return source, project_mod.load(source, root)
    from gitops_config.source import GitTree

    found = locate(start)
    source = GitTree(found.repo, found.repo.resolve(ref), found.prefix)
    return source, project_mod.load(source, found.root)
