"""One report from the JSON of N shards (`--shard I/N`): `gitops-config report merge`.

Shards split the work by template, so a rendered file, and every change in
it, belongs to exactly one shard: changes are concatenated and put back in
file order, which is the order an unsharded run reports them in. Findings that
several shards see alike (rules over whole environments) are kept once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Literal

from gitops_config.errors import GitopsConfigError
from gitops_config.ignore import Ignored
from gitops_config.ignore import IgnoreRule
from gitops_config.masking import Masked
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.pipeline.results import Cause
from gitops_config.pipeline.results import EnvDiff
from gitops_config.pipeline.results import Review

Kind = Literal['diff', 'validate']


class MergeError(GitopsConfigError):
    code = 'report-merge'


@dataclass(frozen=True)
class Merged:
    kind: Kind
    data: dict[str, Any]


def load(paths: Sequence[Path]) -> list[tuple[str, dict[str, Any]]]:
    reports = []
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise MergeError(f'{path}: cannot read: {exc.strerror}') from None
        except json.JSONDecodeError as exc:
            raise MergeError(
                f'{path}: not JSON: {exc.msg}', location=Location(str(path), exc.lineno, exc.colno)
            ) from None
        if not isinstance(data, dict):
            raise MergeError(f'{path}: not a gitops-config JSON report')
        reports.append((str(path), data))
    return reports


def _kind(name: str, data: dict[str, Any]) -> Kind:
    if 'environments' in data:
        return 'diff'
    if 'findings' in data:
        return 'validate'
    raise MergeError(f'{name}: not a gitops-config JSON report (from diff or validate -f json)')


def _revision(kind: Kind, data: dict[str, Any]) -> str:
    if kind == 'diff':
        return f'{data.get("base")}...{data.get("head")}'
    return str(data.get('revision'))


def _check_shards(reports: list[tuple[str, dict[str, Any]]]) -> None:
    seen: dict[int, str] = {}
    totals: set[int] = set()
    for name, data in reports:
        shard = data.get('shard')
        if not isinstance(shard, dict) or not all(
            isinstance(shard.get(k), int) for k in ('index', 'total')
        ):
            raise MergeError(f'{name}: not a shard report', hint='run each job with --shard I/N')
        totals.add(shard['total'])
        index = shard['index']
        if index in seen:
            raise MergeError(f'shard {index} given twice: {seen[index]} and {name}')
        seen[index] = name
    if len(totals) != 1:
        raise MergeError(f'shards of different splits: /{", /".join(map(str, sorted(totals)))}')
    total = totals.pop()
    missing = sorted(set(range(1, total + 1)) - set(seen))
    if missing:
        raise MergeError(
            f'missing shard(s) {", ".join(f"{i}/{total}" for i in missing)}',
            hint='merge the reports of every shard job',
        )


def merge(reports: list[tuple[str, dict[str, Any]]]) -> Merged:
    if not reports:
        raise MergeError('no reports to merge')
    kinds = {_kind(name, data) for name, data in reports}
    if len(kinds) != 1:
        raise MergeError('cannot merge diff and validate reports together')
    kind = kinds.pop()
    _check_shards(reports)
    revisions: dict[str, list[str]] = {}
    for name, data in reports:
        revisions.setdefault(_revision(kind, data), []).append(name)
    if len(revisions) > 1:
        shown = '; '.join(f'{rev} ({", ".join(names)})' for rev, names in revisions.items())
        raise MergeError(
            f'shards are from different commits: {shown}',
            hint='run every shard job on the same commit',
        )
    datas = [d for _, d in sorted(reports, key=lambda r: r[1]['shard']['index'])]
    return Merged(kind, _merge_diff(datas) if kind == 'diff' else _merge_validate(datas))


def _once(items: list[Any]) -> list[Any]:
    seen = set()
    kept = []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _by_file(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda c: c['file'])  # stable: order within a file is kept


def _merge_diff(datas: list[dict[str, Any]]) -> dict[str, Any]:
    envs: dict[str, list[dict[str, Any]]] = {}
    for data in datas:
        for env in data['environments']:
            envs.setdefault(env['name'], []).append(env)
    merged_envs = []
    for name, parts in envs.items():
        errors = _once([e for p in parts for e in p['errors']])
        changes = _by_file([c for p in parts for c in p['changes']])
        findings = _once([f for p in parts for f in p['findings']])
        summary = {key: sum(p['summary'].get(key, 0) for p in parts) for key in parts[0]['summary']}
        summary['findings'] = len(findings)
        summary['errors'] = len(errors)
        statuses = {p['status'] for p in parts}
        status = (
            'error'
            if errors
            else 'changed'
            if 'changed' in statuses
            else 'skipped'
            if statuses == {'skipped'}
            else 'unchanged'
        )
        causes = {(c['path'], c['kind']) for p in parts for c in p['causes']}
        merged_envs.append(
            {
                'name': name,
                'status': status,
                'summary': summary,
                'causes': [{'path': p, 'kind': k} for p, k in sorted(causes)],
                'errors': errors,
                'changes': changes,
                'ignored': _by_file([i for p in parts for i in p['ignored']]),
                'findings': findings,
            }
        )
    statuses = {e['status'] for e in merged_envs}
    first = datas[0]
    return {
        'version': first['version'],
        'status': 'error'
        if 'error' in statuses
        else ('changed' if 'changed' in statuses else 'unchanged'),
        'base': first['base'],
        'head': first['head'],
        'sealed': any(d['sealed'] for d in datas),
        'fingerprints': any(d['fingerprints'] for d in datas),
        'environments': merged_envs,
    }


def _finding_order(f: dict[str, Any]) -> tuple[str, int, int, str, str]:
    return (
        f.get('file') or '',
        f.get('line') or 0,
        f.get('column') or 0,
        f.get('rule') or '',
        f.get('env') or '',
    )


def _merge_validate(datas: list[dict[str, Any]]) -> dict[str, Any]:
    findings = sorted(_once([f for d in datas for f in d['findings']]), key=_finding_order)
    errors = sum(1 for f in findings if f['severity'] == 'error')
    warnings = sum(1 for f in findings if f['severity'] == 'warning')
    return {
        'status': 'fail' if any(d['status'] == 'fail' for d in datas) else 'ok',
        'revision': datas[0].get('revision'),
        'findings': findings,
        'summary': {
            'errors': errors,
            'warnings': warnings,
            'files': sum(d['summary']['files'] for d in datas),
            'waived': sum(d['summary']['waived'] for d in datas),
        },
    }


def review_from_data(data: dict[str, Any]) -> Any:
    """A merged diff report as a compare.Review, for the Markdown and comment writers."""

    def change(env: str, c: dict[str, Any]) -> Change:
        return Change(
            env,
            c['file'],
            c['path'],
            ChangeKind(c['kind']),
            _value(c.get('old')),
            _value(c.get('new')),
            c.get('secret', False),
            c.get('detail'),
            document=c.get('document'),
        )

    envs = []
    for e in data['environments']:
        envs.append(
            EnvDiff(
                e['name'],
                [change(e['name'], c) for c in e['changes']],
                [
                    Ignored(change(e['name'], i), IgnoreRule(i['path'], i['reason']))
                    for i in e['ignored']
                ],
                tuple(Cause(c['path'], c['kind']) for c in e['causes']),
                skipped=e['status'] == 'skipped',
                errors=tuple(e['errors']),
                findings=tuple(
                    Finding(
                        f['rule'],
                        Severity(f['severity']),
                        f['message'],
                        _location(f['location']),
                        env=f.get('env'),
                    )
                    for f in e['findings']
                ),
                sealed=data['sealed'],
            )
        )
    return Review(
        data['base'],
        data['head'],
        tuple(envs),
        sealed=data['sealed'],
        fingerprints=data['fingerprints'],
    )


def _value(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get('masked') is True:
            return Masked(value.get('fingerprint'), bool(value.get('sealed')))
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _location(text: str) -> Location:
    parts = text.rsplit(':', 2)
    numbers = [p for p in parts[1:] if p.isdigit()]
    path = text
    for _ in numbers:
        path = path.rsplit(':', 1)[0]
    line = int(numbers[0]) if numbers else None
    column = int(numbers[1]) if len(numbers) > 1 else None
    return Location(path, line, column)
