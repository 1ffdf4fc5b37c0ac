"""Whole reviews of two commits, kept: a re-run with nothing changed costs a read.

A review is keyed by everything it depends on: both commits and the project
folder, which encrypted layers the keys at hand open, the fingerprint key, the
options, and, with validation, today's date (waivers expire). Only commits are
keyed (a working tree may change under us); a review holding a secret, even
one that a report would only fingerprint, is never kept.

What a review is made of is the engine's (pipeline/review.py names its records):
this module knows only how one is keyed and kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING
from typing import Any

from gitops_config.incremental import data
from gitops_config.incremental.store import key as store_key
from gitops_config.source import Source

if TYPE_CHECKING:
    from gitops_config.incremental.reuse import Reuse

_NAMESPACE = 'review'


def keepable(base: Source, head: Source, reuse: Reuse) -> bool:
    """Only a review of two commits is kept (a working tree may change under us), and
    only in a run with a store."""
    return reuse.keeps and base.commit is not None and head.commit is not None


def key(
    base: Source,
    head: Source,
    base_keys: Sequence[tuple[str, bytes | None]],
    head_keys: Sequence[tuple[str, bytes | None]],
    *,
    fingerprint: bytes | None,
    options: object,
    today: date | None,
) -> str:
    """The key of the review of BASE and HEAD (two commits), *_KEYS their encrypted
    layers with the data key the keys at hand open (None: sealed); only whether each
    opens is keyed. TODAY: the date, when findings (whose waivers expire) are part of it."""
    opened = [[(path, k is not None) for path, k in keys] for keys in (base_keys, head_keys)]
    return store_key(
        _NAMESPACE,
        str(base.commit),
        str(head.commit),
        str(head.root),
        repr(opened),
        fingerprint or b'',
        repr(options),
        today.isoformat() if today is not None else '',
    )


def load(digest: str, kinds: data.Kinds, reuse: Reuse) -> Any:
    """The review kept under DIGEST, made of KINDS; None when none (or a damaged one) is."""
    return reuse.recall(_NAMESPACE, digest, kinds)


def save(digest: str, review: object, kinds: data.Kinds, reuse: Reuse) -> None:
    """Keep REVIEW, made of KINDS, unless it holds a secret (or something else)."""
    reuse.remember(_NAMESPACE, digest, review, kinds)
