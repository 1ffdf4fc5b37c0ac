"""The impact summary of a review: per environment, how much changed and why."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_config import constants as C
from gitops_config.compare import EnvDiff
from gitops_config.compare import Review
from gitops_config.errors import GitopsConfigError
from gitops_config.model import ChangeKind
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.project import Project
from gitops_config.shard import Shard
from gitops_config.shard import shard_layers
from gitops_config.source import Source


@dataclass(frozen=True, slots=True)
class Impact:
    env: str
    status: str  # 'changed', 'unchanged', 'skipped', 'error'
    files: int
    keys: int
    secrets: int
    resealed: int  # re-encrypted secrets that could not be compared (no key)
    findings: int
    errors: int
    ignored: int
    causes: tuple[str, ...]  # 'layer values/common.yaml'


def summarize(env: EnvDiff) -> Impact:
    counted = [c for c in env.changes if c.kind is not ChangeKind.RESEALED]
    if env.errors:
        status = 'error'
    elif env.skipped:
        status = 'skipped'
    else:
        status = 'changed' if counted else 'unchanged'
    return Impact(
        env=env.env,
        status=status,
        files=len({c.file for c in counted}),
        keys=len(counted),
        secrets=sum(1 for c in counted if c.secret),
        resealed=len(env.changes) - len(counted),
        findings=sum(1 for f in env.findings if f.severity is Severity.ERROR),
        errors=len(env.errors),
        ignored=len(env.ignored),
        causes=tuple(f'{c.kind} {c.path}' for c in env.causes),
    )


def shared_inputs(review: Review) -> dict[str, list[str]]:
    """Each changed input that more than one environment reads -> those environments."""
    touched: dict[str, list[str]] = {}
    for env in review.envs:
        for cause in env.causes:
            touched.setdefault(cause.path, []).append(env.env)
    return {path: envs for path, envs in sorted(touched.items()) if len(envs) > 1}


def error_findings(review: Review) -> int:
    """Distinct error findings (a shared layer's shows under each of its environments)."""
    return len({f for e in review.envs for f in e.findings if f.severity is Severity.ERROR})


def collect_findings(source: Source, project: Project, *, sealed: bool,
                     shard: Shard | None = None, envs: Sequence[str] | None = None,
                     base: tuple[Source, Project | None] | None = None) -> list[Finding]:
    """Schema and policy findings at SOURCE, in ENVS (default: all of them; SHARD's
    share of them), or none when validation is not installed. BASE, the source and
    project the change starts from, turns on change rules."""
    try:
        from gitops_config import check
    except ImportError:  # validation is optional for the diff and the PR comment
        return []
    from gitops_config import pipeline

    try:
        known = [e for e in envs if e in project.env_names()] if envs else None
        if known == []:
            return []  # the environments asked for are gone at SOURCE
        renders = pipeline.render(source, project, known, sealed=sealed, shard=shard,
                                  reuse=True)
        before = None
        if base is not None and base[1] is not None:
            before = functools.partial(check.base_renders, base[0], base[1],
                                       [r.env for r in renders], shard=shard)
        return list(check.check(source, project, renders, base=before,
                                layers=shard_layers(shard)).findings)
    except GitopsConfigError as exc:
        # a broken policy file or template must not cost the PR its comment
        where = exc.location or Location(C.PROJECT_FILE)
        return [Finding('validate', Severity.ERROR, f'validation could not run: {exc.message}',
                        where, hint=exc.hint)]


def attach_findings(review: Review, findings: list[Finding], project: Project) -> Review:
    """REVIEW with each finding under its environment (a layer's under each user).

    A finding of no environment's file (the project file, a policy) goes under
    the first environment, so that it is shown and counted once.
    """
    placed: set[int] = set()
    envs = []
    for env in review.envs:
        layers = project.env(env.env).layers if env.env in project.env_names() else ()
        mine = [f for f in findings if f.env == env.env or (
            f.env is None and f.location.path in layers)]
        placed.update(id(f) for f in mine)
        envs.append(mine)
    if envs:
        envs[0] += [f for f in findings if id(f) not in placed]
    return dataclasses.replace(review, envs=tuple(
        dataclasses.replace(env, findings=tuple(mine)) for env, mine in zip(
            review.envs, envs, strict=True)))
