"""Config blame: each commit that changed the value of a key, for one environment.

The key is read from the merged values, or from a rendered file with
`file=`. Commits are walked oldest to newest; a commit whose inputs for the
environment have the same blob SHAs as the previous one is not evaluated, and
the others reuse the run's work (incremental/): a template unchanged between
two commits is compiled once. Secrets are masked (keyed fingerprints when the
run's keys open them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_config import diff
from gitops_config import keypath
from gitops_config import project as project_mod
from gitops_config import run as run_mod
from gitops_config.errors import GitopsConfigError
from gitops_config.git import CommitInfo
from gitops_config.masking import mask_pair
from gitops_config.model import ChangeKind
from gitops_config.pipeline import rendering
from gitops_config.pipeline.fingerprint_key import derived_key
from gitops_config.pipeline.keys_at_hand import can_decrypt
from gitops_config.revision import Located
from gitops_config.revision import located_at
from gitops_config.run import Run
from gitops_config.source import Source

ABSENT: Any = object()  # the key does not exist at that commit


@dataclass(frozen=True, slots=True)
class Entry:
    commit: CommitInfo
    kind: ChangeKind  # added, removed, changed, resealed
    old: Any  # masked; None when added
    new: Any  # masked; None when removed
    secret: bool


@dataclass(frozen=True, slots=True)
class Walk:
    """One pass over an environment's history: who last set each of several keys."""

    entries: dict[str, list[Entry]]  # KEYPATH -> entries, newest first
    sealed: bool


def history(
    root: Path,
    env: str,
    key: str,
    *,
    rev: str = 'HEAD',
    file: str | None = None,
    limit: int | None = None,
    fingerprint_key: bytes | None = None,
    run: Run | None = None,
) -> list[Entry]:
    """Each commit reachable from REV that changed KEY's value in ENV, newest first, in
    RUN (default: one without a store)."""
    return walk(
        root, env, [key], rev=rev, file=file, limit=limit, fingerprint_key=fingerprint_key, run=run
    ).entries[key]


def walk(
    root: Path,
    env: str,
    keys: Sequence[str],
    *,
    rev: str = 'HEAD',
    file: str | None = None,
    limit: int | None = None,
    fingerprint_key: bytes | None = None,
    run: Run | None = None,
) -> Walk:
    """KEYS' history in ENV (see history()), in one pass over the commits."""
    run = run if run is not None else run_mod.plain()
    steps = {k: keypath.parse(k) for k in keys}
    found = located_at(root)
    tip = found.repo.resolve(rev)
    commits = list(
        reversed(
            found.repo.log(tip, [found.prefix.rstrip('/')] if found.prefix else [], max_count=limit)
        )
    )
    sealed, derived = _keys(found, tip, env, run)
    if fingerprint_key is None and not sealed:
        fingerprint_key = derived or os.urandom(32)
    options = diff.Options(key=fingerprint_key)
    entries: dict[str, list[Entry]] = {k: [] for k in keys}
    previous: dict[str, Any] = {k: ABSENT for k in keys}
    last_inputs: dict[str, str] | None = None
    for commit in commits:
        source = found.commit(commit.sha)
        try:
            project = project_mod.load(source)
            if env not in project.env_names():
                current = {k: ABSENT for k in keys}
            else:
                inputs = rendering.inputs(source, project, env)
                if inputs == last_inputs:
                    continue
                last_inputs = inputs
                data = _data(source, project, env, file, sealed=sealed, run=run)
                current = {k: _lookup(data, steps[k]) for k in keys}
        except GitopsConfigError:
            continue  # a commit that does not load or render tells us nothing
        for k in keys:
            name = next((s for s in reversed(steps[k]) if isinstance(s, str)), None)
            entry = _entry(commit, previous[k], current[k], options, name)
            if entry is not None:
                entries[k].append(entry)
            previous[k] = current[k]
    return Walk({k: list(reversed(v)) for k, v in entries.items()}, sealed)


def _keys(found: Located, tip: str, env: str, run: Run) -> tuple[bool, bytes | None]:
    """Whether ENV must be read sealed at TIP with RUN's keys, and the fingerprint key
    derived there."""
    source = found.commit(tip)
    try:
        project = project_mod.load(source)
    except GitopsConfigError:
        return True, None
    project.env(env)  # an environment the tip does not have is a typo, not an empty history
    if not can_decrypt(source, project, [env], run):
        return True, None
    return False, derived_key(source, project, run)


def _data(
    source: Source,
    project: project_mod.Project,
    env: str,
    file: str | None,
    *,
    sealed: bool,
    run: Run,
) -> Any:
    if file is None:
        return run.reuse.merge(source, project, env, sealed=sealed, keys=run.keys).data
    for rendered in rendering.render_one(source, project, env, sealed=sealed, run=run).files:
        if rendered.path == file:
            docs = rendered.documents or []
            return docs[0] if len(docs) == 1 else docs
    return ABSENT


def _lookup(data: Any, steps: tuple[keypath.Step, ...]) -> Any:
    if data is ABSENT:
        return ABSENT
    try:
        return keypath.get(data, keypath.resolve(data, steps))
    except keypath.KeyPathError:
        return ABSENT


def _entry(
    commit: CommitInfo, old: Any, new: Any, options: diff.Options, name: str | None
) -> Entry | None:
    """What COMMIT did to the value (under the mapping key NAME), masked."""
    if old is ABSENT and new is ABSENT:
        return None
    if old is ABSENT or new is ABSENT:
        kind = ChangeKind.ADDED if old is ABSENT else ChangeKind.REMOVED
    else:
        changes = diff.diff_values(old, new, options=options)
        if not changes:
            return None
        kind = (
            ChangeKind.RESEALED
            if all(c.kind is ChangeKind.RESEALED for c in changes)
            else ChangeKind.CHANGED
        )
    shown_old, shown_new, secret = mask_pair(
        None if old is ABSENT else old, None if new is ABSENT else new, options.key, name=name
    )
    return Entry(commit, kind, shown_old, shown_new, secret)
