"""Whole reviews of two commits, kept: a re-run with nothing changed costs a read.

A review is keyed by everything it depends on: both commits and the project
folder, which encrypted layers the keys at hand open, the fingerprint key, the
options, and, with validation, today's date (waivers expire). Only commits are
keyed (a working tree may change under us); a review holding a secret, even
one that a report would only fingerprint, is never kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from gitops_config import cache
from gitops_config import cache_data
from gitops_config import ignore
from gitops_config import model
from gitops_config import yaml_io
from gitops_config.pipeline import results
from gitops_config.pipeline.fingerprint_key import data_keys
from gitops_config.project import Project
from gitops_config.source import Source

# The records a kept review is made of: nothing else encodes or decodes. Not
# diff.Masked: a review that shows a secret, even as a fingerprint, is not kept.
KINDS = cache_data.Kinds([
    results.Review, results.EnvDiff, results.Cause, model.Change, model.ChangeKind,
    model.Finding, model.Severity, model.Location, ignore.Ignored, ignore.IgnoreRule,
    yaml_io.Tagged])


def keepable(base: Source, head: Source) -> bool:
    """Only a review of two commits is kept: a working tree may change under us."""
    return cache.default().enabled and base.commit is not None and head.commit is not None


def key(base: Source, head: Source, base_project: Project | None,
        head_keys: Sequence[tuple[str, bytes | None]], *, fingerprint: bytes | None,
        options: object, validate: bool) -> str:
    """The key of the review of BASE and HEAD (two commits), HEAD_KEYS its data keys."""
    opened = [[(path, k is not None) for path, k in keys] for keys in (
        data_keys(base, base_project) if base_project is not None else [], head_keys)]
    return cache.key('review', str(base.commit), str(head.commit), str(head.root),
                     repr(opened), fingerprint or b'', repr(options),
                     dt.date.today().isoformat() if validate else '')


def load(digest: str) -> Any:
    blob = cache.default().get('review', digest)
    if blob is None:
        return None
    try:
        return cache_data.loads(blob, KINDS)
    except cache_data.Damaged:  # damaged or forged: a miss
        return None


def save(digest: str, review: object) -> None:
    try:
        payload = cache_data.dumps(review, KINDS)
    except cache_data.Refused:  # it holds a secret (or something that is not data)
        return
    cache.default().put('review', digest, payload)
