"""The registry of findings formats: `validate --format` takes its choices from here.

Each format is one module with `write(result, stream, *, use_color) -> None`.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import TextIO

from gitops_config.masking import mask_findings

if TYPE_CHECKING:
    from gitops_config.pipeline.results import CheckResult

Writer = Callable[..., None]

# name -> module; imported only when used, so the hooks stay quick to start.
FINDINGS_FORMATS: dict[str, str] = {
    'text': 'gitops_config.report.findings_text',
    'json': 'gitops_config.report.findings_json',
    'junit': 'gitops_config.report.findings_junit',
    'sarif': 'gitops_config.report.findings_sarif',
    'github': 'gitops_config.report.findings_github',
}
CHOICES = ('auto', *FINDINGS_FORMATS)


def resolve(name: str) -> str:
    """`auto`: GitHub annotations inside GitHub Actions, text elsewhere."""
    if name != 'auto':
        return name
    return 'github' if os.environ.get('GITHUB_ACTIONS') == 'true' else 'text'


def write(result: CheckResult, fmt: str, stream: TextIO, *, use_color: bool = False) -> None:
    """RESULT in format FMT; every message through the masking pass (a finding says where a
    secret is, never what it is)."""
    result = dataclasses.replace(result, findings=mask_findings(result.findings))
    module = importlib.import_module(FINDINGS_FORMATS[resolve(fmt)])
    writer: Writer = module.write
    writer(result, stream, use_color=use_color)
