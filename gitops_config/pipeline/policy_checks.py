"""The policies over what a check collected: document rules (on worker processes),
cross-environment rules, secret-age rules, and change rules against the base."""

from __future__ import annotations

import datetime as dt
import functools
import posixpath
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

from gitops_config import secret_age
from gitops_config import sops
from gitops_config import workers
from gitops_config.pipeline.checker import Checker
from gitops_config.pipeline.rendered_checks import keep
from gitops_config.pipeline.rendering import EnvRender
from gitops_config.policy.engine import Engine
from gitops_config.policy.match import glob_match
from gitops_config.policy.rules import Rule
from gitops_config.policy.runner import AgedSecret
from gitops_config.policy.runner import Hit
from gitops_config.policy.runner import Pair
from gitops_config.policy.runner import Target
from gitops_config.policy.runner import run_changes
from gitops_config.policy.runner import run_documents
from gitops_config.policy.runner import run_environments
from gitops_config.policy.runner import run_secret_ages
from gitops_config.policy.view import cel_view
from gitops_config.project import Project

# The environments as rendered at the base of a change, or what renders them on demand.
Base = Sequence[EnvRender] | Callable[[], Sequence[EnvRender] | None] | None


def run_policies(
    checker: Checker,
    targets: list[Target],
    renders: Sequence[EnvRender],
    base: Base,
    *,
    jobs: int | None,
) -> list[Hit]:
    """Every rule's hits: document rules over TARGETS (plus the results kept for the
    documents left out of them), the other scopes over RENDERS."""
    hits = list(checker.cached_hits)
    # what workers are handed: the engine and the rules, not the checker (which holds
    # the repository and the run)
    evaluated = workers.in_slices(
        functools.partial(_evaluate, checker.engine, checker.rules, targets),
        len(targets),
        jobs=jobs,
    )
    for target, rows in zip(targets, evaluated, strict=True):
        found = [Hit(checker.rules[rule], *rest) for rule, *rest in rows]
        hits += found
        key = checker.pending.get((target.env, target.file, target.index))
        if key is not None and found:  # a clean file is remembered by its verdict
            keep(checker, key, found)
    env_rules = checker.env_rules
    if env_rules:
        # Converting every file for CEL costs as much as checking it: only the files
        # some cross-environment rule can select.
        globs = (
            None if any(not r.files for r in env_rules) else [g for r in env_rules for g in r.files]
        )
        envs = {
            r.env: {
                'values': cel_view(r.values.data),
                'files': _with_names(
                    {
                        f.path: cel_view(f.documents)
                        for f in r.files
                        if (globs is None or any(glob_match(g, f.path) for g in globs))
                        and f.documents is not None
                    }
                ),
            }
            for r in renders
        }
        hits += run_environments(checker.engine, checker.rules, envs)
    if any(r.scope == 'secret-age' for r in checker.rules):
        hits += _secret_ages(checker, renders)
    if base is not None and any(r.scope == 'change' for r in checker.rules):
        before = base() if callable(base) else base
        if before is not None:
            hits += run_changes(
                checker.engine, checker.rules, _pairs(checker.project, before, renders)
            )
    return hits


def _evaluate(
    engine: Engine,
    rules: Sequence[Rule],
    targets: list[Target],
    start: int,
    stop: int,
) -> list[list[tuple[Any, ...]]]:
    """The hits of TARGETS[START:STOP], each document's apart (so that its results
    can be kept as they are), a rule by its index: what a worker sends back."""
    index = {id(rule): i for i, rule in enumerate(rules)}
    return [
        [
            (index[id(h.rule)], h.message, h.env, h.file, h.name, h.index, h.path, h.error)
            for h in run_documents(engine, rules, [target])
        ]
        for target in targets[start:stop]
    ]


def _secret_ages(checker: Checker, renders: Sequence[EnvRender]) -> list[Hit]:
    """Secret-age rules over the encrypted layers this check reads, environment by
    environment (a layer two environments share is dated once)."""
    now = checker.now
    dated: dict[str, list[secret_age.SecretAge]] = {}
    found: list[AgedSecret] = []
    for render in renders:
        for layer in dict.fromkeys(render.values.layers):
            if (None, layer) not in checker.docs:
                continue  # not read by this check (or not a file)
            if layer not in dated:
                encrypted = sops.is_encrypted(checker.source.read(layer))
                dated[layer] = (
                    secret_age.ages(checker.source, [layer], now=now) if encrypted else []
                )
            found += [
                AgedSecret(render.env, layer, a.index, a.path, a.view(now), _age_detail(a, now))
                for a in dated[layer]
            ]
    return run_secret_ages(checker.engine, checker.rules, found, now.date().isoformat())


def _age_detail(found: secret_age.SecretAge, now: dt.datetime) -> str:
    day, days = found.changed.date().isoformat(), found.days(now)
    if found.how == secret_age.UNCOMMITTED:
        return f'changed in the working tree, not committed yet, encrypted {day}'
    if found.how == secret_age.LASTMODIFIED:
        return f'encrypted {day}, {days} days ago, by its sops.lastmodified: no git history'
    commit = (found.commit or '')[:12]
    if found.how == secret_age.SHALLOW:
        return f'changed on or before {day}, {days}+ days ago, in {commit} (shallow clone)'
    return f'last changed {day}, {days} days ago, in {commit}'


def _pairs(
    project: Project,
    base: Sequence[EnvRender],
    head: Sequence[EnvRender],
) -> Iterable[Pair]:
    old_by_env = {r.env: r for r in base}
    for new in head:
        old = old_by_env.get(new.env)
        old_files = {f.path: f for f in old.files} if old is not None else {}
        old_values = cel_view(old.values.data) if old is not None else None
        new_values = cel_view(new.values.data)
        out = project.output_dir(new.env)
        for file in new.files:
            if file.documents is None:
                continue
            before = old_files.get(file.path)
            old_docs = before.documents if before is not None and before.documents else []
            for i, doc in enumerate(file.documents):
                yield Pair(
                    new.env,
                    posixpath.join(out, file.path),
                    file.path,
                    cel_view(old_docs[i]) if i < len(old_docs) else None,
                    cel_view(doc),
                    old_values,
                    new_values,
                    i,
                )


def _with_names(files: dict[str, Any]) -> dict[str, Any]:
    """FILES by path, and also by bare name where that name is unique: a rule can say
    files['config.yaml'] whether it renders to config.yaml or to litellm/config.yaml."""
    names: dict[str, list[str]] = {}
    for path in files:
        names.setdefault(posixpath.basename(path), []).append(path)
    aliases = {
        name: files[paths[0]]
        for name, paths in names.items()
        if len(paths) == 1 and name not in files
    }
    return {**files, **aliases}
