"""Opening a config repository: where it is, and which version of it to read."""

from __future__ import annotations

from pathlib import Path

from gitops_config import project as project_mod
from gitops_config.errors import InvalidProjectError
from gitops_config.project import Project
from gitops_config.source import Source
from gitops_config.source import WorkTree


def open_project(start: Path, ref: str | None = None) -> tuple[Source, Project]:
    """The project at or above START, from the working tree or from commit REF.

    With REF the files come from git objects only, so this works in a dirty
    tree and in a bare clone.
    """
    if ref is None:
        root = project_mod.find_root(start)
        source: Source = WorkTree(root)
        return source, project_mod.load(source, root)
    from gitops_config.git import Repo
    from gitops_config.source import GitTree
    from gitops_config.source import prefix_of

    repo = Repo(start)
    commit = repo.resolve(ref)
    prefix = ''
    if not repo.bare:
        try:
            root = project_mod.find_root(start)
        except InvalidProjectError:
            root = start.resolve()
        prefix = prefix_of(repo.root, root)
    else:
        root = start.resolve()
    source = GitTree(repo, commit, prefix)
    return source, project_mod.load(source, root)
