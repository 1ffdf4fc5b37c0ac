"""SARIF 2.1.0 for GitHub code scanning: rules, results, and the origin as a related location."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

from gitops_config import __version__
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity

if TYPE_CHECKING:
    from gitops_config.pipeline.results import CheckResult

SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json'


def _physical(loc: Location) -> dict[str, Any]:
    region: dict[str, Any] = {'startLine': loc.line or 1}
    if loc.column:
        region['startColumn'] = loc.column
    return {'physicalLocation': {'artifactLocation': {'uri': loc.path}, 'region': region}}


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    text = f.message + (f' (environment {f.env})' if f.env else '')
    if f.hint:
        text += f'. Hint: {f.hint}'
    result: dict[str, Any] = {
        'ruleId': f.rule,
        'ruleIndex': rule_index,
        'level': {Severity.ERROR: 'error', Severity.WARNING: 'warning'}.get(f.severity, 'note'),
        'message': {'text': text},
        'locations': [_physical(f.location)],
    }
    if f.origin is not None and f.origin != f.location:
        related = _physical(f.origin)
        related.update({'id': 1, 'message': {'text': 'the value or template line to edit'}})
        result['relatedLocations'] = [related]
    return result


def as_data(result: CheckResult) -> dict[str, Any]:
    rule_ids = sorted({f.rule for f in result.findings})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    return {
        '$schema': SCHEMA,
        'version': '2.1.0',
        'runs': [
            {
                'tool': {
                    'driver': {
                        'name': 'gitops-config',
                        'version': __version__,
                        'informationUri': 'https://github.com/gitops-config/gitops-config',
                        'rules': [{'id': r, 'shortDescription': {'text': r}} for r in rule_ids],
                    }
                },
                'results': [_result(f, index[f.rule]) for f in result.findings],
            }
        ],
    }


def write(result: CheckResult, stream: TextIO, *, use_color: bool = False) -> None:
    stream.write(json.dumps(as_data(result), indent=2) + '\n')
