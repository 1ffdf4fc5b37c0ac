"""A pull request's review: two revisions compared, the head validated, each finding
under its environment; or the review a previous run kept of exactly this."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence

from gitops_config import constants as C
from gitops_config import ignore
from gitops_config import model
from gitops_config import project as project_mod
from gitops_config import run as run_mod
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.incremental import data
from gitops_config.incremental import reviews
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.pipeline import comparison
from gitops_config.pipeline import fingerprint_key
from gitops_config.pipeline import results
from gitops_config.pipeline.results import Review
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.shard import shard_layers
from gitops_config.source import Source

# The records a kept review is made of: nothing else encodes or decodes. Not
# diff.Masked: a review that shows a secret, even as a fingerprint, is not kept.
KEPT_RECORDS = data.Kinds(
    [
        results.Review,
        results.EnvDiff,
        results.Cause,
        model.Change,
        model.ChangeKind,
        model.Finding,
        model.Severity,
        model.Location,
        ignore.Ignored,
        ignore.IgnoreRule,
        yaml_io.Tagged,
    ]
)


def review(
    base: Source,
    head: Source,
    *,
    envs: Sequence[str] | None = None,
    sealed: bool = False,
    validate: bool = False,
    jobs: int | None = None,
    run: Run | None = None,
) -> Review:
    """BASE...HEAD diffed (with VALIDATE, HEAD's findings attached), or the review a
    previous run kept of exactly this. SEALED: secrets by ciphertext only. RUN: default,
    one without a store."""
    run = run if run is not None else run_mod.plain()
    fixed = fingerprint_key.fingerprint_key(run)
    base_project, head_project = project_mod.load_pair(base, head)
    keep = reviews.keepable(base, head, run.reuse)
    derive = fixed is None and not sealed  # as compare() would, from HEAD's data keys
    # read once: both the key below and the fingerprint key need them
    head_keys = fingerprint_key.data_keys(head, head_project, run) if keep or derive else []
    kept = (
        reviews.key(
            base,
            head,
            fingerprint_key.data_keys(base, base_project, run) if base_project is not None else [],
            head_keys,
            fingerprint=fixed,
            options=(sorted(envs or ()), sealed, validate, run.shard),
            today=run.now.date() if validate else None,
        )
        if keep
        else None
    )
    found = reviews.load(kept, KEPT_RECORDS, run.reuse) if kept is not None else None
    if isinstance(found, Review):
        return found
    fingerprint = (
        (fingerprint_key.fingerprint_from(head_keys) or os.urandom(32)) if derive else fixed
    )
    result = comparison.compare(
        base,
        head,
        envs=envs,
        sealed=True if sealed else None,
        key=fingerprint,
        jobs=jobs,
        run=run,
    )
    if validate:
        findings = collect_findings(
            head,
            head_project,
            sealed=result.sealed,
            envs=envs,
            base=(base, base_project),
            run=run,
        )
        result = attach_findings(result, findings, head_project)
    if kept is not None:
        reviews.save(kept, result, KEPT_RECORDS, run.reuse)
    return result


def collect_findings(
    source: Source,
    project: Project,
    *,
    sealed: bool,
    envs: Sequence[str] | None = None,
    base: tuple[Source, Project | None] | None = None,
    run: Run | None = None,
) -> list[Finding]:
    """Schema and policy findings at SOURCE, in ENVS (default: all of them; a sharded
    RUN's share of them). BASE, the source and project the change starts from, turns on
    change rules."""
    # lazy: the schema and policy engines (jsonschema-rs, CEL) load only when a review
    # validates; a plain diff, or one kept before, does not
    from gitops_config.pipeline import validation

    run = run if run is not None else run_mod.plain()
    try:
        known = [e for e in envs if e in project.env_names()] if envs else (project.env_names())
        if envs and not known:
            return []  # the environments asked for are gone at SOURCE
        before = None
        if base is not None and base[1] is not None:
            before = functools.partial(validation.base_renders, base[0], base[1], known, run=run)
        return list(
            validation.validate(
                source,
                project,
                known,
                base=before,
                sealed=sealed,
                layers=shard_layers(run.shard),
                run=run,
            ).findings
        )
    except GitopsConfigError as exc:
        # a broken policy file or template must not cost the PR its comment
        where = exc.location or Location(C.PROJECT_FILE)
        return [
            Finding(
                'validate',
                Severity.ERROR,
                f'validation could not run: {exc.message}',
                where,
                hint=exc.hint,
            )
        ]


def attach_findings(review: Review, findings: list[Finding], project: Project) -> Review:
    """REVIEW with each finding under its environment (a layer's under each user).

    A finding of no environment's file (the project file, a policy) goes under
    the first environment, so that it is shown and counted once.
    """
    placed: set[int] = set()
    envs = []
    for env in review.envs:
        layers = project.env(env.env).layers if env.env in project.env_names() else ()
        mine = [
            f for f in findings if f.env == env.env or (f.env is None and f.location.path in layers)
        ]
        placed.update(id(f) for f in mine)
        envs.append(mine)
    if envs:
        envs[0] += [f for f in findings if id(f) not in placed]
    return dataclasses.replace(
        review,
        envs=tuple(
            dataclasses.replace(env, findings=tuple(mine))
            for env, mine in zip(review.envs, envs, strict=True)
        ),
    )
