"""Files the tool ships: `templates/` (scaffolds, report layouts) and `policies/`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped(name: str) -> Path:
    """The shipped folder NAME: from the package when installed, else the checkout."""
    packaged = resources.files('gitops_config') / '_shipped' / name
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / name
