"""Whole reviews of two commits, kept: a re-run with nothing changed costs a read.

A review is keyed by everything it depends on: both commits and the project
folder, which encrypted layers the keys at hand open, the fingerprint key, the
options, and, with validation, today's date (waivers expire). Only commits are
keyed (a working tree may change under us); a review holding a secret, even
one that a report would only fingerprint, is never kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitops_config import ignore
from gitops_config import model
from gitops_config import yaml_io
from gitops_config.incremental import data
from gitops_config.incremental.store import key as store_key
from gitops_config.pipeline import results
from gitops_config.pipeline.fingerprint_key import data_keys
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.source import Source

# The records a kept review is made of: nothing else encodes or decodes. Not
# diff.Masked: a review that shows a secret, even as a fingerprint, is not kept.
KINDS = data.Kinds(
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


def keepable(base: Source, head: Source, run: Run) -> bool:
    """Only a review of two commits is kept (a working tree may change under us), and
    only in a run with a store."""
    return run.reuse.keeps and base.commit is not None and head.commit is not None


def key(
    base: Source,
    head: Source,
    base_project: Project | None,
    head_keys: Sequence[tuple[str, bytes | None]],
    *,
    fingerprint: bytes | None,
    options: object,
    validate: bool,
    run: Run,
) -> str:
    """The key of the review of BASE and HEAD (two commits), HEAD_KEYS its data keys."""
    opened = [
        [(path, k is not None) for path, k in keys]
        for keys in (
            data_keys(base, base_project, run) if base_project is not None else [],
            head_keys,
        )
    ]
    return store_key(
        'review',
        str(base.commit),
        str(head.commit),
        str(head.root),
        repr(opened),
        fingerprint or b'',
        repr(options),
        run.now.date().isoformat() if validate else '',
    )


def load(digest: str, run: Run) -> Any:
    """The review kept under DIGEST; None when none (or a damaged one) is."""
    return run.reuse.recall('review', digest, KINDS)


def save(digest: str, review: object, run: Run) -> None:
    """Keep REVIEW, unless it holds a secret (or something that is not data)."""
    run.reuse.remember('review', digest, review, KINDS)
