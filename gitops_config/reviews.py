"""Whole reviews of two commits, kept: a re-run with nothing changed costs a read.

A review is keyed by everything it depends on: both commits and the project
folder, which encrypted layers the keys at hand open, the fingerprint key, the
options, and, with validation, today's date (waivers expire). Only commits are
keyed (a working tree may change under us); a review holding a secret, even
one that a report would only fingerprint, is never kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import cache
from gitops_config import cache_data
from gitops_config.project import Project
from gitops_config.shard import Shard
from gitops_config.source import Source

if TYPE_CHECKING:
    from gitops_config.compare import Review


def review(base: Source, head: Source, *, envs: Sequence[str] | None = None,
           sealed: bool = False, validate: bool = False, shard: Shard | None = None,
           jobs: int | None = None) -> Review:
    """BASE...HEAD diffed (with VALIDATE, HEAD's findings attached), or the review a
    previous run kept of exactly this. SEALED: secrets by ciphertext only."""
    from gitops_config import compare
    from gitops_config import impact

    fixed = compare.fingerprint_key()
    base_project, head_project = compare.projects(base, head)
    keep = _keepable(base, head)
    derive = fixed is None and not sealed  # as compare() would, from HEAD's data keys
    # read once: both the key below and the fingerprint key need them
    head_keys = compare.data_keys(head, head_project) if keep or derive else []
    kept = key(base, head, base_project, head_keys, fingerprint=fixed,
               options=(sorted(envs or ()), sealed, validate, shard),
               validate=validate) if keep else None
    found = load(kept) if kept is not None else None
    if isinstance(found, compare.Review):
        return found
    fingerprint = (compare.fingerprint_from(head_keys) or os.urandom(32)) if derive else fixed
    result = compare.compare(base, head, envs=envs, sealed=True if sealed else None,
                             key=fingerprint, shard=shard, jobs=jobs)
    if validate:
        findings = impact.collect_findings(head, head_project, sealed=result.sealed,
                                           shard=shard, envs=envs, base=(base, base_project))
        result = impact.attach_findings(result, findings, head_project)
    if kept is not None:
        save(kept, result)
    return result


def _keepable(base: Source, head: Source) -> bool:
    """Only a review of two commits is kept: a working tree may change under us."""
    return cache.default().enabled and all(
        getattr(s, 'commit', None) is not None for s in (base, head))


def key(base: Source, head: Source, base_project: Project | None,
        head_keys: Sequence[tuple[str, bytes | None]], *, fingerprint: bytes | None,
        options: object, validate: bool) -> str:
    """The key of the review of BASE and HEAD (two commits), HEAD_KEYS its data keys."""
    from gitops_config import compare

    opened = [[(path, k is not None) for path, k in keys] for keys in (
        compare.data_keys(base, base_project) if base_project is not None else [], head_keys)]
    return cache.key('review', str(getattr(base, 'commit', '')),
                     str(getattr(head, 'commit', '')), str(getattr(head, 'root', '')),
                     repr(opened), fingerprint or b'', repr(options),
                     dt.date.today().isoformat() if validate else '')


def load(digest: str) -> Any:
    blob = cache.default().get('review', digest)
    if blob is None:
        return None
    try:
        return cache_data.loads(blob, _kinds())
    except cache_data.Damaged:  # damaged or forged: a miss
        return None


def save(digest: str, review: object) -> None:
    try:
        payload = cache_data.dumps(review, _kinds())
    except cache_data.Refused:  # it holds a secret (or something that is not data)
        return
    cache.default().put('review', digest, payload)


@functools.cache
def _kinds() -> cache_data.Kinds:
    """The records a kept review is made of: nothing else encodes or decodes. Not
    diff.Masked: a review that shows a secret, even as a fingerprint, is not kept."""
    from gitops_config import compare
    from gitops_config import ignore
    from gitops_config import model
    from gitops_config import yaml_io

    return cache_data.Kinds([
        compare.Review, compare.EnvDiff, compare.Cause, model.Change, model.ChangeKind,
        model.Finding, model.Severity, model.Location, ignore.Ignored, ignore.IgnoreRule,
        yaml_io.Tagged])
