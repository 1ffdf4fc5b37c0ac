"""Two Sources -> each environment rendered at both -> semantic changes (a Review).

An environment whose inputs (layers, templates, project file, .sops.yaml,
schemas: causes.py) have the same blob SHAs on both sides is not rendered at all; in one
whose inputs differ, a template that a snapshot shows to render the same on
both sides (incremental/snapshot.py) is rendered on neither (sides.py). A file that cannot
be rendered or parsed on one side is reported and left out; the rest of its
environment is still diffed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from gitops_config import diff
from gitops_config import project as project_mod
from gitops_config import run as run_mod
from gitops_config import workers
from gitops_config.ignore import Ignores
from gitops_config.incremental.snapshot import Snapshot
from gitops_config.model import Change
from gitops_config.pipeline import encrypted
from gitops_config.pipeline.causes import causes_between
from gitops_config.pipeline.file_diff import diff_file
from gitops_config.pipeline.file_diff import options_for
from gitops_config.pipeline.fingerprint_key import derived_key
from gitops_config.pipeline.keys_at_hand import can_decrypt
from gitops_config.pipeline.results import Cause
from gitops_config.pipeline.results import EnvDiff
from gitops_config.pipeline.results import Review
from gitops_config.pipeline.sides import LayerChanges
from gitops_config.pipeline.sides import Opened
from gitops_config.pipeline.sides import Side
from gitops_config.pipeline.sides import open_side
from gitops_config.pipeline.sides import render_sides
from gitops_config.pipeline.sides import same_outputs
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.source import Source


def compare(
    base: Source,
    head: Source,
    *,
    envs: Sequence[str] | None = None,
    sealed: bool | None = None,
    key: bytes | None = None,
    jobs: int | None = None,
    run: Run | None = None,
) -> Review:
    """Diff every environment (or ENVS) between BASE and HEAD, in RUN (default: one
    without a store).

    sealed=None decrypts when a key is available and falls back to sealed
    mode (ciphertext only) when not. KEY is the fingerprint key of this one
    report; a random one is made when secrets are decrypted.
    """
    run = run if run is not None else run_mod.plain()
    base_project, head_project = project_mod.load_pair(base, head)
    names = list(envs) if envs else _env_names(base_project, head_project)
    for name in names:
        if not (_has_env(head_project, name) or _has_env(base_project, name)):
            head_project.env(name)  # the error names the environments there are
    if key is None and sealed is not True:
        key = derived_key(head, head_project, run) or os.urandom(32)
    options = options_for(head_project, key=key)
    ignores = Ignores.from_project(head_project.raw)
    layer_changes: LayerChanges = {}
    plans = [
        _plan(
            name,
            base,
            base_project,
            head,
            head_project,
            sealed=sealed,
            run=run,
            layer_changes=layer_changes,
        )
        for name in names
    ]
    opened = [p for p in plans if isinstance(p, _Plan)]
    jobs = (
        jobs if jobs is not None else run.jobs if run.jobs is not None else (workers.default_jobs())
    )
    sides = iter(
        render_sides(
            [(rev, p.same, p.known) for p in opened for rev in (p.old, p.new)], run.reuse, jobs=jobs
        )
    )
    results = tuple(
        plan
        if isinstance(plan, EnvDiff)
        else _compared(plan, next(sides), next(sides), base.label, head.label, options, ignores)
        for plan in plans
    )
    compared = [e for e in results if not e.skipped]
    return Review(
        base.label,
        head.label,
        results,
        sealed=any(e.sealed for e in compared),
        fingerprints=any(not e.sealed for e in compared) and key is not None,
    )


def _has_env(project: Project | None, env: str) -> bool:
    return project is not None and env in project.env_names()


def _env_names(base: Project | None, head: Project) -> list[str]:
    names = head.env_names()
    if base is not None:
        names += [n for n in base.env_names() if n not in names]
    return names


@dataclass
class _Plan:
    """One environment to diff, opened at both revisions but not rendered yet."""

    env: str
    causes: tuple[Cause, ...]
    sealed: bool
    old: Opened
    new: Opened
    same: set[str]  # templates that render the same on both sides
    known: Snapshot  # a snapshot of either side, for SAME
    readers: list[Change] = field(default_factory=list)  # recipients that changed


def _plan(
    env: str,
    base: Source,
    base_project: Project | None,
    head: Source,
    head_project: Project,
    *,
    sealed: bool | None,
    run: Run,
    layer_changes: LayerChanges,
) -> _Plan | EnvDiff:
    causes = causes_between(env, base, base_project, head, head_project)
    changed = encrypted.changed_files(env, base, base_project, head, head_project)
    if not causes and not changed:
        return EnvDiff(env, [], skipped=True)
    if sealed is None:
        # per environment: dev's demo key may be at hand while prod's is not
        sealed = not (_has_env(head_project, env) and can_decrypt(head, head_project, [env], run))
    readers = encrypted.readers(env, base, head, changed)
    if not causes:
        # only encrypted files changed: who reads them, and whether a committed
        # output still holds what its (unchanged) inputs render to
        changes, errors = encrypted.committed_outputs(
            env, head, head_project, changed, sealed, causes, run
        )
        return EnvDiff(env, readers + changes, errors=errors, sealed=sealed)
    old = open_side(base, base_project, env, sealed=sealed, run=run)
    new = open_side(head, head_project, env, sealed=sealed, run=run)
    return _Plan(
        env,
        causes,
        sealed,
        old,
        new,
        same_outputs(old, new, layer_changes),
        old.snapshot or new.snapshot or {},
        readers,
    )


def _compared(
    plan: _Plan, old: Side, new: Side, base: str, head: str, options: diff.Options, ignores: Ignores
) -> EnvDiff:
    errors = [f'{base}: {old.failed}'] if old.failed else []
    errors += [f'{head}: {new.failed}'] if new.failed else []
    errors += [f'{base}: {m}' for m in old.errors.values()]
    errors += [f'{head}: {m}' for m in new.errors.values()]
    changes: list[Change] = []
    if old.failed is None and new.failed is None:
        for path in sorted(old.files.keys() | new.files.keys()):
            if path in old.errors or path in new.errors:
                continue
            changes += diff_file(plan.env, path, old.files.get(path), new.files.get(path), options)
    kept, ignored = ignores.split(plan.readers + changes)
    return EnvDiff(plan.env, kept, ignored, plan.causes, errors=tuple(errors), sealed=plan.sealed)
