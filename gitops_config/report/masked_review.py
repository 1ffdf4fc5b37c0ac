"""A review as every diff report shows it: each change, ignored change, error and
finding masked (masking.py), before a line of it is written."""

from __future__ import annotations

import dataclasses

from gitops_config.masking import mask_change
from gitops_config.masking import mask_changes
from gitops_config.masking import mask_findings
from gitops_config.masking import mask_text
from gitops_config.pipeline.results import Review


def mask_review(review: Review, key: bytes | None = None) -> Review:
    """REVIEW with every change, ignored change, error and finding masked."""
    envs = tuple(
        dataclasses.replace(
            env,
            changes=mask_changes(env.changes, key),
            ignored=[
                dataclasses.replace(i, change=mask_change(i.change, key)) for i in env.ignored
            ],
            errors=tuple(mask_text(e, key) for e in env.errors),
            findings=mask_findings(env.findings, key),
        )
        for env in review.envs
    )
    return dataclasses.replace(review, envs=envs)
