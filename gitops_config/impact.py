"""The impact summary of a review: per environment, how much changed and why."""

from __future__ import annotations

from dataclasses import dataclass

from gitops_config.model import ChangeKind
from gitops_config.model import Severity
from gitops_config.pipeline.results import EnvDiff
from gitops_config.pipeline.results import Review


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
