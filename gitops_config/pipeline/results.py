"""What the pipeline returns: a validation's CheckResult and a review's Review.

Reports read these; they are plain records, cheap to import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING

from gitops_config.model import ChangeKind
from gitops_config.model import Finding
from gitops_config.model import Severity

if TYPE_CHECKING:
    from gitops_config.ignore import Ignored
    from gitops_config.model import Change

# Changes that are shown but do not make a diff "changed" (exit code, PR status).
UNCOUNTED = frozenset({ChangeKind.RESEALED})


@dataclass(frozen=True)
class CheckResult:
    """What `validate` found; `failed` decides the exit code."""

    findings: tuple[Finding, ...]
    checked: tuple[str, ...] = ()  # every file looked at, project-relative
    waived: tuple[Finding, ...] = field(default=(), repr=False)
    strict: bool = False

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)

    @property
    def skipped(self) -> int:
        return sum(f.severity is Severity.SKIPPED for f in self.findings)

    @property
    def failed(self) -> bool:
        return self.errors > 0 or (self.strict and self.warnings > 0)

    @property
    def status(self) -> str:
        return 'fail' if self.failed else 'ok'


def combined(results: Sequence[CheckResult], *, strict: bool) -> CheckResult:
    """RESULTS (of several projects, or several scans) as one."""
    return CheckResult(
        tuple(f for r in results for f in r.findings),
        tuple(p for r in results for p in r.checked),
        tuple(f for r in results for f in r.waived),
        strict,
    )


@dataclass(frozen=True, slots=True, order=True)
class Cause:
    """An input whose content differs between the two sides."""

    path: str
    kind: str  # 'project', 'sops-rules', 'layer', 'template', 'schema'


@dataclass(frozen=True)
class EnvDiff:
    env: str
    changes: list[Change]
    ignored: list[Ignored] = field(default_factory=list)
    causes: tuple[Cause, ...] = ()  # inputs whose content differs, sorted
    skipped: bool = False  # same inputs on both sides: not rendered
    errors: tuple[str, ...] = ()  # what could not be compared, one line each
    findings: tuple[Finding, ...] = ()
    sealed: bool = False  # secrets compared by ciphertext only (no key)

    @property
    def changed(self) -> bool:
        return any(c.kind not in UNCOUNTED for c in self.changes)


@dataclass(frozen=True)
class Review:
    base: str  # labels: short SHAs or 'working tree'
    head: str
    envs: tuple[EnvDiff, ...]
    sealed: bool  # no keys: secrets compared by ciphertext only
    fingerprints: bool  # secrets carry keyed fingerprints

    @property
    def changed(self) -> bool:
        return any(e.changed for e in self.envs)

    @property
    def errors(self) -> bool:
        return any(e.errors for e in self.envs)
