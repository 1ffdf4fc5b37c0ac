"""The key that fingerprints secrets in a review: only key holders can compute it.

A changed secret shows in a diff as a keyed fingerprint, never as its value.
The key comes from GITOPS_CONFIG_FINGERPRINT_KEY (reproducible reports), or
from the SOPS data keys of the project's encrypted layers, so that it is
stable from run to run until a data key is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from gitops_config import run as run_mod
from gitops_config import sops
from gitops_config.errors import GitopsConfigError
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.source import Source


def fingerprint_key(run: Run | None = None) -> bytes | None:
    """A fixed fingerprint key from GITOPS_CONFIG_FINGERPRINT_KEY in RUN's environment
    (default: the process's now), for reproducible reports."""
    text = (run if run is not None else run_mod.plain()).keys.environ.get(
        'GITOPS_CONFIG_FINGERPRINT_KEY'
    )
    return text.encode() if text else None


def derived_key(source: Source, project: Project, run: Run | None = None) -> bytes | None:
    """A fingerprint key only key holders can compute: from the SOPS data keys.

    Stable from run to run (so JSON reports are byte-for-byte repeatable and
    a PR comment's fingerprints stay put) until a data key is rotated; None
    when no encrypted layer can be opened.
    """
    return fingerprint_from(data_keys(source, project, run))


def fingerprint_from(keys: Sequence[tuple[str, bytes | None]]) -> bytes | None:
    """derived_key from data_keys already read."""
    found = [key for _, key in keys if key is not None]
    if not found:
        return None
    return hmac.new(
        b'gitops-config fingerprint key v1', b''.join(sorted(found)), hashlib.sha256
    ).digest()


def data_keys(
    source: Source,
    project: Project,
    run: Run | None = None,
) -> list[tuple[str, bytes | None]]:
    """Each encrypted layer of PROJECT with its SOPS data key, None where no key of RUN's
    (default: the environment's) opens it (its secrets are then compared sealed).
    Secret: never print or keep."""
    ring = (run if run is not None else run_mod.plain()).keys
    found: list[tuple[str, bytes | None]] = []
    for path in sorted({p for env in project.environments for p in env.layers}):
        if not source.exists(path):
            continue
        data = source.read(path)
        if not sops.is_encrypted(data):
            continue

        try:
            found.append((path, sops.data_key(data, path, ring=ring)))
        except GitopsConfigError:
            found.append((path, None))
    return found
