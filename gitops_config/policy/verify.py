"""`policy test`: run the PASS/FAIL examples every rule carries, like `conftest verify`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config.model import Location
from gitops_config.policy.engine import Engine
from gitops_config.policy.rules import Example
from gitops_config.policy.rules import Rule
from gitops_config.policy.runner import make_engine
from gitops_config.policy.secrets import creation_rules
from gitops_config.policy.view import cel_view


@dataclass(frozen=True, slots=True)
class ExampleResult:
    rule: str
    expect: str  # 'pass' or 'fail'
    ok: bool
    detail: str
    location: Location


def _inputs(rule: Rule, example: Example) -> dict[str, Any]:
    data = {k: cel_view(v) for k, v in example.data.items() if k != 'message'}
    if rule.scope == 'document':
        data.setdefault('env', rule.environments[0] if rule.environments else 'dev')
        data.setdefault('values', {})
        data.setdefault('kind', rule.kinds[0])
        default_file = next((f for f in rule.files if '*' not in f and '?' not in f), 'config.yaml')
        data.setdefault('file', default_file)
    elif rule.scope == 'change':
        data.setdefault('env', rule.environments[0] if rule.environments else 'dev')
    elif rule.scope == 'secret-age':
        data.setdefault('env', rule.environments[0] if rule.environments else 'dev')
        data.setdefault(
            'file',
            next(
                (f for f in rule.files if '*' not in f and '?' not in f), 'secrets/secrets.enc.yaml'
            ),
        )
        data.setdefault('today', '2026-01-01')
    return data


def run_example(engine: Engine, rule: Rule, example: Example) -> ExampleResult:
    outcome = engine.evaluate(rule, engine.activation(_inputs(rule, example)))
    if outcome.error is not None:
        return ExampleResult(
            rule.id, example.expect, False, f'error: {outcome.error}', example.location
        )
    messages = [v.message or rule.message for v in outcome.violations]
    if example.expect == 'pass':
        ok = not messages
        detail = 'passes' if ok else f'expected to pass, but: {"; ".join(messages)}'
    else:
        want = example.data.get('message')
        ok = bool(messages) and (want is None or any(str(want) in m for m in messages))
        detail = (
            f'fails as expected: {messages[0]}'
            if ok
            else 'expected to fail, but it passed'
            if not messages
            else f'failed without {want!r}: {"; ".join(messages)}'
        )
    return ExampleResult(rule.id, example.expect, ok, detail, example.location)


def verify(engine: Engine, rules: Sequence[Rule]) -> list[ExampleResult]:
    results = []
    for rule in rules:
        engine.compile(rule)
        for example in rule.examples:
            results.append(run_example(engine, rule, example))
    return results


# `policy test` has no repository around it: the secrets examples run against
# a .sops.yaml whose one creation rule covers secrets/.
EXAMPLE_SOPS_CONFIG = 'creation_rules:\n  - path_regex: (^|/)secrets/\n'


def make_test_engine() -> Engine:
    return make_engine(sops_rules=creation_rules(EXAMPLE_SOPS_CONFIG))
