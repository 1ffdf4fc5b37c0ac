"""Whole reviews of two commits, kept: a re-run with nothing changed costs a read.

A review is keyed by everything it depends on: both commits and the project
folder, which encrypted layers the keys at hand open, the fingerprint key, the
options, and, with validation, today's date (waivers expire). Only commits are
keyed (a working tree may change under us); a review holding a secret, even
one that a report would only fingerprint, is never kept.
"""

from __future__ import annotations

import datetime as dt
import io
import pickle
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import cache
from gitops_config.project import Project
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
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

    fingerprint = compare.fingerprint_key()
    base_project, head_project = compare.projects(base, head)
    kept = key(base, head, (base_project, head_project), fingerprint=fingerprint,
               options=(sorted(envs or ()), sealed, validate, shard), validate=validate)
    found = load(kept) if kept is not None else None
    if isinstance(found, compare.Review):
        return found
    result = compare.compare(base, head, envs=envs, sealed=True if sealed else None,
                             key=fingerprint, shard=shard, jobs=jobs)
    if validate:
        findings = impact.collect_findings(head, head_project, sealed=result.sealed,
                                           shard=shard)
        result = impact.attach_findings(result, findings, head_project)
    if kept is not None:
        save(kept, result)
    return result


def key(base: Source, head: Source, projects: Sequence[Project | None], *,
        fingerprint: bytes | None, options: object, validate: bool) -> str | None:
    """The key of the review of BASE and HEAD, or None when it cannot be kept."""
    commits = [getattr(s, 'commit', None) for s in (base, head)]
    if not cache.default().enabled or None in commits:
        return None
    parts = [str(c) for c in commits] + [str(getattr(head, 'root', ''))]
    for source, project in zip((base, head), projects, strict=True):
        parts.append(repr(_openable(source, project)))
    return cache.key('review', *parts, fingerprint or b'', repr(options),
                     dt.date.today().isoformat() if validate else '')


def _openable(source: Source, project: Project | None) -> list[tuple[str, bool]]:
    """Each encrypted layer, and whether a key at hand opens it (which decides what
    is compared in plaintext, and the fingerprint key derived from the data keys)."""
    from gitops_config import compare

    if project is None:
        return []
    return [(path, key is not None) for path, key in compare.data_keys(source, project)]


def load(digest: str) -> Any:
    blob = cache.default().get('review', digest)
    if blob is None:
        return None
    try:
        return pickle.loads(blob)
    except Exception:  # a damaged or foreign entry is a miss, never an error
        return None


class _Refused(Exception):
    pass


class _NoSecrets(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (Secret, SealedSecret)):
            raise _Refused
        return NotImplemented


def save(digest: str, review: object) -> None:
    buffer = io.BytesIO()
    try:
        _NoSecrets(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(review)
    except _Refused:
        return
    cache.default().put('review', digest, buffer.getvalue())
