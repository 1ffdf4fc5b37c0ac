"""A check's findings placed and sorted: each policy hit at the file:line it is
about (and the layer or template line behind it), waivers applied, expired
waivers reported: the CheckResult."""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Sequence
from typing import Any

from gitops_config import constants as C
from gitops_config import keypath
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.model import Severity
from gitops_config.pipeline.checker import SCHEMA_RULE
from gitops_config.pipeline.checker import UNMATCHED_RULE
from gitops_config.pipeline.checker import Checker
from gitops_config.pipeline.checker import masked
from gitops_config.pipeline.results import CheckResult
from gitops_config.policy import waivers as waivers_mod
from gitops_config.policy.rules import Rule
from gitops_config.policy.runner import Hit
from gitops_config.project import Project
from gitops_config.values import Values

EXPIRED_RULE = 'waiver-expired'
BUILTIN_RULES = (SCHEMA_RULE, UNMATCHED_RULE)


def finish(
    checker: Checker,
    hits: Sequence[Hit],
    *,
    strict: bool,
    today: dt.date | None,
) -> CheckResult:
    """CHECKER's findings and HITS, waived where a waiver in force covers them."""
    project = checker.project
    known = {r.id for r in checker.rules} | set(BUILTIN_RULES)
    if checker.partial:
        # A scan with some packs only: waivers of the others are not unknown.
        known |= _declared_rule_ids(project)
    waivers = waivers_mod.parse(project.raw, project.location, known)
    day = today or checker.now.date()
    active = [w for w in waivers if not w.expired(day)]
    kept: list[Finding] = []
    waived: list[Finding] = []
    items: list[tuple[Finding, tuple[str, ...], NodePath | None]] = [
        (f, (f.location.path,), None) for f in checker.findings
    ]
    items += [_placed(checker, hit) for hit in hits]
    for found, files, path in items:
        if any(w.covers(found.rule, found.env, files, path) for w in active):
            waived.append(found)
        else:
            kept.append(found)
    loaded = {r.id for r in checker.rules} | set(BUILTIN_RULES)
    for w in waivers:
        # A partial scan (the secrets hook) answers only for the rules it ran.
        if w.expired(day) and (not checker.partial or w.rule in loaded):
            kept.append(
                Finding(
                    EXPIRED_RULE,
                    Severity.ERROR,
                    f'the waiver of {w.rule} expired on {w.expires.isoformat()} ({w.reason})',
                    w.location,
                    w.env,
                    hint='fix what it waived, or extend expires with a reason',
                )
            )
    kept.sort(key=_order)
    return CheckResult(tuple(kept), tuple(dict.fromkeys(checker.checked)), tuple(waived), strict)


def _placed(checker: Checker, hit: Hit) -> tuple[Finding, tuple[str, ...], NodePath | None]:
    """HIT as a Finding at its place; the files and value path a waiver may name."""
    docs = checker.docs
    doc = docs.get((hit.env, hit.file or ''))
    if doc is None and hit.rule.scope == 'secret-age':
        doc = docs.get((None, hit.file or ''))  # a layer: the same in every env
    if doc is None and hit.env is not None and hit.file is not None:
        doc = docs.get((hit.env, posixpath.join(checker.project.output_dir(hit.env), hit.file)))
    if doc is None and hit.env is not None and hit.file is not None:
        # a bare name (config.yaml for litellm/config.yaml), when unique, as the
        # environment rules see files
        named = {
            d.file
            for (env, _), d in docs.items()
            if env == hit.env and posixpath.basename(d.file) == hit.file
        }
        if len(named) == 1:
            doc = docs[(hit.env, named.pop())]
    path: NodePath | None = None
    values = checker.values.get(hit.env or '') if hit.file is None else None
    if doc is None and values is not None and hit.path:
        # a cross-environment rule names a value of that environment: where it is set
        path = _value_path(values.data, hit.path)
        where = _set_at(values, path) if path else checker.project.location()
        origin = None
        files: tuple[str, ...] = (where.path,)
    elif doc is None:
        where = _env_location(checker.project, hit.env)
        origin = None
        files = (hit.file,) if hit.file else ()
    else:
        path = doc.resolve(hit.index, hit.path)
        where = doc.locate(hit.index, path or ())
        origin = doc.origin(index=hit.index, path=path or ())
        files = tuple({doc.file, hit.name or doc.file})
    message = hit.message
    if doc is not None and hit.index < len(doc.documents):
        message = masked(message, doc.documents[hit.index], path or ())
    elif values is not None:
        message = masked(message, values.data, path or ())
    if path:
        message = f'{keypath.format(path)}: {message}'
    severity = Severity.ERROR if hit.error else hit.rule.severity
    found = Finding(hit.rule.id, severity, message, where, hit.env, origin, hint=_hint(hit.rule))
    return found, files, path


def _env_location(project: Project, env: str | None) -> Location:
    if env in project.env_names():
        return project.location('environments', project.env_names().index(env))
    return project.location()


def _value_path(data: Any, raw: NodePath | str) -> NodePath | None:
    """RAW (a path or a KEYPATH) in merged values DATA, or None where it names nothing."""
    if isinstance(raw, tuple):
        return raw
    try:
        return keypath.resolve(data, keypath.parse(raw))
    except GitopsConfigError:
        return None


def _set_at(values: Values, path: NodePath) -> Location:
    """The layer line that set PATH (or its nearest parent that some layer sets)."""
    provenance = values.provenance
    for cut in range(len(path), -1, -1):
        found = provenance.get(path[:cut])
        if found is not None and found.location.line is not None:
            return found.location
    return Location(values.layers[-1] if values.layers else C.PROJECT_FILE)


def _hint(rule: Rule) -> str | None:
    return rule.description.splitlines()[0] if rule.description else None


def _declared_rule_ids(project: Project) -> set[str]:
    section = project.raw.get('policies') or {}
    return {str(w.get('rule')) for w in section.get('waivers') or []}


def _order(f: Finding) -> tuple[str, int, int, str, str]:
    return (f.location.path, f.location.line or 0, f.location.column or 0, f.rule, f.message)
