"""`gitops-config init`: a new config repository from the shipped scaffold."""

from __future__ import annotations

from pathlib import Path

from gitops_config import constants as C
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import atomic_write
from gitops_config.resources import shipped

# Files that cannot be shipped under their real name (it would act on our own repo).
_RENAMED = {'gitignore': '.gitignore'}


class AlreadyInitializedError(GitopsConfigError):
    code = 'already-initialized'


def init(target: Path) -> list[Path]:
    """Copy the scaffold into TARGET; refuses to overwrite an existing project."""
    if (target / C.PROJECT_FILE).exists():
        raise AlreadyInitializedError(
            f'{target / C.PROJECT_FILE} already exists',
            hint='init only creates new config repositories',
        )
    scaffold = shipped('templates') / 'init'
    written = []
    for src in sorted(p for p in scaffold.rglob('*') if p.is_file()):
        rel = src.relative_to(scaffold)
        dest = target / rel.parent / _RENAMED.get(rel.name, rel.name)
        if dest.exists():
            continue
        atomic_write(dest, src.read_bytes())
        written.append(dest)
    return written
