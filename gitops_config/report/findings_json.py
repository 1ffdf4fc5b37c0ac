"""Findings as JSON, a fixed shape that is an API: keys are added, never renamed or removed.

{"status": "ok" | "fail",
 "findings": [{"rule", "severity", "message", "file", "line", "column",
               "env", "origin": {"file", "line", "column"} | null, "hint"}],
 "summary": {"errors", "warnings", "files", "waived"},
 "revision": "<commit SHA>" | "<HEAD SHA> (working tree)",
 "shard": {"index", "total"}}          # only with --shard I/N
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

from gitops_config.model import Finding
from gitops_config.model import Location

if TYPE_CHECKING:
    from gitops_config.pipeline.results import CheckResult
    from gitops_config.shard import Shard


def _where(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {'file': loc.path, 'line': loc.line, 'column': loc.column}


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        'rule': f.rule,
        'severity': f.severity.value,
        'message': f.message,
        'file': f.location.path,
        'line': f.location.line,
        'column': f.location.column,
        'env': f.env,
        'origin': _where(f.origin),
        'hint': f.hint,
    }


def as_data(result: CheckResult) -> dict[str, Any]:
    return {
        'status': result.status,
        'findings': [finding_dict(f) for f in result.findings],
        'summary': {
            'errors': result.errors,
            'warnings': result.warnings,
            'files': len(result.checked),
            'waived': len(result.waived),
        },
    }


def dumps(
    result: CheckResult,
    *,
    revision: str | None = None,
    shard: Shard | None = None,
) -> str:
    """The findings as JSON text: of commit REVISION, if known; of SHARD's share of the
    work, if sharded."""
    data = as_data(result)
    if revision is not None:
        data['revision'] = revision
    if shard is not None:
        data['shard'] = shard.as_data()
    return json.dumps(data, indent=2, ensure_ascii=False) + '\n'


def write(result: CheckResult, stream: TextIO, *, use_color: bool = False) -> None:
    stream.write(dumps(result))
