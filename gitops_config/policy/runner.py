"""Runs rules over plain data in their three scopes: document, environments, change.

Inputs and outputs are plain records: callers (the pipeline's checks, `policy test`) build
Targets from what the pipeline rendered and turn Hits into Findings.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from gitops_config.policy import secrets
from gitops_config.policy.engine import Engine
from gitops_config.policy.engine import Outcome
from gitops_config.policy.match import glob_match
from gitops_config.policy.rules import Rule
from gitops_config.policy.view import cel_view


@dataclass(frozen=True, slots=True)
class Target:
    """One document a document-scope rule looks at."""

    kind: str  # 'rendered' or 'layer'
    file: str  # project-relative path (for rendered files, under the output folder)
    name: str  # what match.files globs see (for rendered files, relative to the output)
    doc: Any  # the document as parsed (converted for CEL when it is evaluated)
    env: str | None = None
    values: Any = None
    index: int = 0  # the document's index in a multi-document file


@dataclass(frozen=True, slots=True)
class Pair:
    """One document before and after a change (None where it does not exist)."""

    env: str
    file: str
    name: str
    old: Any
    new: Any
    old_values: Any
    new_values: Any
    index: int = 0


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that failed on one input."""

    rule: Rule
    message: str
    env: str | None
    file: str | None
    name: str | None
    index: int
    path: tuple[str | int, ...] | str | None
    error: bool = False  # the expression failed at runtime


@dataclass(frozen=True, slots=True)
class AgedSecret:
    """One encrypted value a secret-age rule looks at."""

    env: str
    file: str  # the layer, project-relative
    index: int  # its document
    path: tuple[str | int, ...]
    secret: dict[str, Any]  # what the rule sees as `secret`
    detail: str  # when it changed, for the finding


def make_engine(
    *, sops_rules: Sequence[secrets.CreationRule] = (), key_patterns: Sequence[str] = ()
) -> Engine:
    # partials of module functions, not closures: the engine goes to worker processes
    extra = list(secrets.key_patterns(tuple(key_patterns)))
    return Engine(
        {
            'plaintext_secrets': (functools.partial(secrets.plaintext_secrets, extra=extra), 1),
            'sops_unencrypted': (functools.partial(secrets.unencrypted, rules=sops_rules), 2),
            'indexed': (indexed, 1),
            'flatten': (flatten, 1),
        }
    )


def flatten(items: Any) -> list[Any]:
    """One level of nesting removed; this CEL build has no lists extension."""
    if not isinstance(items, list):
        return []
    return [x for item in items for x in (item if isinstance(item, list) else [item])]


def indexed(items: Any) -> list[dict[str, Any]]:
    """[{index, value}] for a list: CEL has no enumerate, and paths need the index."""
    if not isinstance(items, list):
        return []
    return [{'index': i, 'value': v} for i, v in enumerate(items)]


def applies(rule: Rule, env: str | None, name: str, kind: str) -> bool:
    if kind not in rule.kinds:
        return False
    if rule.environments and env not in rule.environments:
        return False
    return not rule.files or any(glob_match(p, name) for p in rule.files)


def _hits(
    rule: Rule, outcome: Outcome, env: str | None, file: str | None, name: str | None, index: int
) -> Iterable[Hit]:
    if outcome.error is not None:
        yield Hit(
            rule,
            f'{rule.id} could not be evaluated: {outcome.error}',
            env,
            file,
            name,
            index,
            None,
            error=True,
        )
        return
    for v in outcome.violations:
        message = rule.message if v.message is None else f'{rule.message}: {v.message}'
        yield Hit(rule, message, v.env or env, v.file or file, v.file or name, index, v.path)


def run_documents(
    engine: Engine,
    rules: Sequence[Rule],
    targets: Iterable[Target],
) -> list[Hit]:
    doc_rules = [r for r in rules if r.scope == 'document']
    found: list[Hit] = []
    for target in targets:
        todo = [r for r in doc_rules if applies(r, target.env, target.name, target.kind)]
        if not todo:
            continue
        activation = engine.activation(
            {
                'doc': cel_view(target.doc),
                'env': target.env,
                'values': target.values,
                'file': target.file,
                'kind': target.kind,
            }
        )
        for rule in todo:
            outcome = engine.evaluate(rule, activation)
            found.extend(_hits(rule, outcome, target.env, target.file, target.name, target.index))
    return found


def run_environments(
    engine: Engine,
    rules: Sequence[Rule],
    envs: Mapping[str, Any],
) -> list[Hit]:
    """ENVS: name -> {'values': ..., 'files': {name: [docs]}}, every environment at once."""
    todo = [r for r in rules if r.scope == 'environments']
    if not todo:
        return []
    activation = engine.activation({'envs': dict(envs)})
    found: list[Hit] = []
    for rule in todo:
        found.extend(_hits(rule, engine.evaluate(rule, activation), None, None, None, 0))
    return found


def run_changes(engine: Engine, rules: Sequence[Rule], pairs: Iterable[Pair]) -> list[Hit]:
    todo = [r for r in rules if r.scope == 'change']
    found: list[Hit] = []
    if not todo:
        return found
    for pair in pairs:
        mine = [r for r in todo if applies(r, pair.env, pair.name, 'rendered')]
        if not mine:
            continue
        activation = engine.activation(
            {
                'old': pair.old,
                'new': pair.new,
                'env': pair.env,
                'file': pair.file,
                'old_values': pair.old_values,
                'new_values': pair.new_values,
                'kind': 'rendered',
            }
        )
        for rule in mine:
            found.extend(
                _hits(
                    rule,
                    engine.evaluate(rule, activation),
                    pair.env,
                    pair.file,
                    pair.name,
                    pair.index,
                )
            )
    return found


def run_secret_ages(
    engine: Engine, rules: Sequence[Rule], secrets_: Iterable[AgedSecret], today: str
) -> list[Hit]:
    """Secret-age rules over each encrypted value of each environment's layers: `false`
    is one finding at that value, saying when it last changed."""
    todo = [r for r in rules if r.scope == 'secret-age']
    found: list[Hit] = []
    if not todo:
        return found
    for item in secrets_:
        mine = [
            r
            for r in todo
            if (not r.environments or item.env in r.environments)
            and (not r.files or any(glob_match(p, item.file) for p in r.files))
        ]
        if not mine:
            continue
        activation = engine.activation(
            {'secret': item.secret, 'env': item.env, 'file': item.file, 'today': today}
        )
        for rule in mine:
            outcome = engine.evaluate(rule, activation)
            for hit in _hits(rule, outcome, item.env, item.file, item.file, item.index):
                if not hit.error:
                    hit = replace(
                        hit,
                        path=item.path if hit.path is None else hit.path,
                        message=f'{rule.message} ({item.detail})'
                        if hit.message == rule.message
                        else hit.message,
                    )
                found.append(hit)
    return found
