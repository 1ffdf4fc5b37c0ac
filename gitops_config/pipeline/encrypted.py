"""Encrypted files between two revisions: who can read them, and whether a committed
output still holds what its inputs render to.

Re-encrypting a file changes every byte of it and nothing a reader sees, so
these are reviewed apart from the rendered diff.
"""

from __future__ import annotations

from gitops_config import outputs as outputs_mod
from gitops_config import recipients
from gitops_config import sops
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.pipeline import rendering
from gitops_config.pipeline.results import Cause
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.source import Source

READERS = 'sops.recipients'  # the change path of an encrypted file's recipients


def changed_files(
    env: str, base: Source, base_project: Project | None, head: Source, head_project: Project
) -> list[str]:
    """ENV's encrypted layers and committed outputs whose bytes differ between BASE and
    HEAD (encrypted on either side)."""
    paths: set[str] = set()
    for project, source in ((base_project, base), (head_project, head)):
        if project is not None and env in project.env_names():
            paths.update(project.env(env).layers)
            paths.update(source.files(project.output_dir(env)))
    found = []
    for path in sorted(paths):
        if _blob(base, path) == _blob(head, path):
            continue  # most files: told apart by their blob SHAs, never read
        sides = [s.read(path) if s.exists(path) else None for s in (base, head)]
        if any(d is not None and sops.is_encrypted(d) for d in sides):
            found.append(path)
    return found


def readers(env: str, base: Source, head: Source, paths: list[str]) -> list[Change]:
    """Who can read each of PATHS, where that changed: a change to review like any."""
    changes = []
    for path in paths:
        old, new = (
            recipients.of_file(s.read(path), path) if s.exists(path) else None for s in (base, head)
        )
        change = recipients.compared(path, old, new)
        if change is not None:
            changes.append(
                Change(
                    env,
                    path,
                    READERS,
                    ChangeKind.CHANGED,
                    ', '.join(old or ()),
                    ', '.join(new or ()),
                    detail=change.summary(),
                )
            )
    return changes


def committed_outputs(
    env: str,
    head: Source,
    project: Project,
    paths: list[str],
    sealed: bool,
    causes: tuple[Cause, ...],
    run: Run,
) -> tuple[list[Change], tuple[str, ...]]:
    """The committed outputs among PATHS whose ciphertext changed, checked against what
    HEAD renders: with a key, by their plaintext (an error where they differ); without
    one, each is UNVERIFIABLE, a change to review, never 'unchanged'."""
    out = project.output_dir(env) + '/' if env in project.env_names() else None
    moved = [p for p in paths if out is not None and p.startswith(out) and head.exists(p)]
    if not moved:
        return [], ()
    if sealed:
        detail = 'committed file: ' + outputs_mod.UNVERIFIABLE
        kind = ChangeKind.RESEALED if causes else ChangeKind.CHANGED
        return [
            Change(
                env,
                p,
                '',
                kind,
                secret=True,
                detail=detail + (' (its inputs changed too)' if causes else ''),
            )
            for p in moved
        ], ()
    try:
        render = rendering.render_one(head, project, env, sealed=True, run=run)
    except GitopsConfigError as exc:
        return [], (f'{head.label}: {exc.one_line()}',)
    stale = [s for s in outputs_mod.check(project, head, render) if s.path in moved]
    return [], tuple(
        f'{head.label}: {s.path}: committed output does not match its inputs ({s.reason})'
        for s in stale
    )


def _blob(source: Source, path: str) -> str | None:
    return source.blob_id(path) if source.exists(path) else None
