"""Whether the keys at hand open an environment's secrets: a command that may decrypt
reads them decrypted where they do, and sealed (ciphertext only) where not."""

from __future__ import annotations

from collections.abc import Sequence

from gitops_config import run as run_mod
from gitops_config.errors import GitopsConfigError
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.sops.errors import KeyUnavailableError
from gitops_config.source import Source


def can_decrypt(
    source: Source, project: Project, envs: Sequence[str] | None, run: Run | None = None
) -> bool:
    """Whether the keys at hand (RUN's; default: the environment's) open every secret of
    ENVS (default: all) at SOURCE."""
    run = run if run is not None else run_mod.plain()
    names = list(envs) if envs else project.env_names()
    names = [n for n in names if n in project.env_names()]
    try:
        for name in names:
            run.reuse.merge(source, project, name, sealed=False, keys=run.keys)
    except KeyUnavailableError:  # read sealed instead
        return False
    except GitopsConfigError:  # not about keys: the merge that follows reports it
        return True
    return True
