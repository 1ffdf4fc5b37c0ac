"""Rule files: YAML data holding rules (id, severity, message, match, CEL expression).

A rule file is never code: the Action runs on pull requests from forks, so
nothing from a config repository is imported or executed, only evaluated as
CEL in its sandbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.model import Severity

Positions = dict[tuple[str | int, ...], tuple[int, int]]

SCOPES = ('document', 'environments', 'change', 'secret-age')
KINDS = ('rendered', 'layer')
_ID = re.compile(r'^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$')
_RULE_KEYS = {'id', 'severity', 'message', 'description', 'scope', 'match', 'expr', 'examples'}
_MATCH_KEYS = {'environments', 'files', 'kinds'}


class PolicyFileError(GitopsConfigError):
    code = 'invalid-policy'


@dataclass(frozen=True, slots=True)
class Example:
    expect: str  # 'pass' or 'fail'
    data: dict[str, Any]
    location: Location


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy rule, as written in its rule file."""

    id: str
    severity: Severity
    message: str
    expr: str
    location: Location  # the rule in its file
    expr_location: Location  # the first line of the CEL text
    scope: str = 'document'
    environments: tuple[str, ...] = ()  # empty: every environment
    files: tuple[str, ...] = ()  # globs; empty: every YAML/JSON file
    kinds: tuple[str, ...] = ('rendered',)
    description: str = ''
    examples: tuple[Example, ...] = field(default=(), repr=False)
    pack: str | None = None  # the built-in pack it comes from


def _fail(
    message: str,
    path: str,
    positions: Positions,
    at: tuple[str | int, ...],
    hint: str | None = None,
) -> PolicyFileError:
    while at and at not in positions:
        at = at[:-1]
    line, column = positions.get(at, (1, 1))
    return PolicyFileError(message, location=Location(path, line, column), hint=hint)


def _strings(
    value: Any, what: str, path: str, positions: Positions, at: tuple[str | int, ...]
) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(f'{what} must be a string or a list of strings', path, positions, at)
    return tuple(value)


def _expr_location(
    text: str,
    path: str,
    positions: Positions,
    at: tuple[str | int, ...],
) -> Location:
    # Positions name the key; the CEL text starts after `expr:` (or on the
    # next line, at its indentation, for a block scalar or an empty remainder).
    line, column = positions.get(at, (1, 1))
    lines = text.splitlines()
    row = lines[line - 1] if line - 1 < len(lines) else ''
    colon = row.find(':', column - 1)
    start = colon + 1 if colon >= 0 else column - 1
    while start < len(row) and row[start] == ' ':
        start += 1
    here = row[start:]
    if not here.strip() or here[:1] in ('|', '>'):
        nxt = lines[line] if line < len(lines) else ''
        return Location(path, line + 1, len(nxt) - len(nxt.lstrip()) + 1)
    return Location(path, line, start + 1 + (1 if here[:1] in '"\'' else 0))


def load_file(text: str | bytes, path: str, *, pack: str | None = None) -> list[Rule]:
    """The rules of one rule file; PolicyFileError at file:line for anything malformed."""
    located = yaml_io.load_all_located(text, path)
    source_text = text.decode() if isinstance(text, bytes) else text
    if not located or located[0][0] is None:
        return []
    data, positions = located[0]
    if not isinstance(data, dict) or not isinstance(data.get('rules'), list):
        raise _fail('a rule file needs a top-level `rules:` list', path, positions, ())
    return [
        _rule(item, i, path, positions, source_text, pack) for i, item in enumerate(data['rules'])
    ]


def _rule(
    item: Any,
    i: int,
    path: str,
    positions: Positions,
    text: str,
    pack: str | None,
) -> Rule:
    at: tuple[str | int, ...] = ('rules', i)
    if not isinstance(item, dict):
        raise _fail('a rule must be a mapping', path, positions, at)
    unknown = sorted(set(item) - _RULE_KEYS)
    if unknown:
        raise _fail(
            f'unknown key {unknown[0]!r} in a rule',
            path,
            positions,
            (*at, unknown[0]),
            hint=f'allowed: {", ".join(sorted(_RULE_KEYS))}',
        )
    for key in ('id', 'message', 'expr'):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise _fail(f'a rule needs a non-empty string {key!r}', path, positions, at)
    rule_id = item['id']
    if not _ID.match(rule_id):
        raise _fail(
            f'rule id {rule_id!r} must be lower-case kebab-case, e.g. pack/name',
            path,
            positions,
            (*at, 'id'),
        )
    severity = item.get('severity', 'error')
    if severity not in ('error', 'warning'):
        raise _fail(
            f'{rule_id}: severity must be error or warning', path, positions, (*at, 'severity')
        )
    scope = item.get('scope', 'document')
    if scope not in SCOPES:
        raise _fail(
            f'{rule_id}: scope must be one of {", ".join(SCOPES)}', path, positions, (*at, 'scope')
        )
    match = item.get('match') or {}
    if not isinstance(match, dict) or set(match) - _MATCH_KEYS:
        raise _fail(
            f'{rule_id}: match takes {", ".join(sorted(_MATCH_KEYS))}',
            path,
            positions,
            (*at, 'match'),
        )
    kinds = _strings(
        match.get('kinds', ['rendered']), 'match.kinds', path, positions, (*at, 'match', 'kinds')
    )
    if set(kinds) - set(KINDS):
        raise _fail(
            f'{rule_id}: match.kinds may hold {", ".join(KINDS)}',
            path,
            positions,
            (*at, 'match', 'kinds'),
        )
    line, column = positions.get(at, (1, 1))
    return Rule(
        id=rule_id,
        severity=Severity(severity),
        message=item['message'].strip(),
        expr=item['expr'],
        location=Location(path, line, column),
        expr_location=_expr_location(text, path, positions, (*at, 'expr')),
        scope=scope,
        environments=_strings(
            match.get('environments', []),
            'match.environments',
            path,
            positions,
            (*at, 'match', 'environments'),
        ),
        files=_strings(
            match.get('files', []), 'match.files', path, positions, (*at, 'match', 'files')
        ),
        kinds=kinds,
        description=str(item.get('description') or '').strip(),
        examples=_examples(item.get('examples'), rule_id, path, positions, (*at, 'examples')),
        pack=pack,
    )


def _examples(
    raw: Any, rule_id: str, path: str, positions: Positions, at: tuple[str | int, ...]
) -> tuple[Example, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or set(raw) - {'pass', 'fail'}:
        raise _fail(f'{rule_id}: examples takes `pass:` and `fail:` lists', path, positions, at)
    found = []
    for expect in ('pass', 'fail'):
        items = raw.get(expect) or []
        if not isinstance(items, list):
            raise _fail(
                f'{rule_id}: examples.{expect} must be a list', path, positions, (*at, expect)
            )
        for i, data in enumerate(items):
            if not isinstance(data, dict):
                raise _fail(
                    f'{rule_id}: an example is a mapping (doc, env, values, ...)',
                    path,
                    positions,
                    (*at, expect, i),
                )
            line, column = positions.get((*at, expect, i), (1, 1))
            found.append(Example(expect, data, Location(path, line, column)))
    return tuple(found)
