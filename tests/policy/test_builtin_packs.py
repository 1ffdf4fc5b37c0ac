"""Every example of every built-in rule behaves as documented (like `conftest verify`)."""

from __future__ import annotations

import pytest

from gitops_config.policy.engine import Engine
from gitops_config.policy.load import load_pack
from gitops_config.policy.load import packs
from gitops_config.policy.rules import Example
from gitops_config.policy.rules import Rule
from gitops_config.policy.verify import make_test_engine
from gitops_config.policy.verify import run_example

CASES = [
    (rule, example)
    for name in sorted(packs())
    for rule in load_pack(name)
    for example in rule.examples
]


@pytest.fixture(scope='module')
def engine() -> Engine:
    return make_test_engine()


def test_the_secrets_pack_and_the_litellm_pack_ship() -> None:
    assert {'secrets', 'litellm'} <= set(packs())
    ids = {r.id for r in load_pack('secrets')}
    assert ids == {'secrets/plaintext', 'secrets/sops-coverage'}


def test_every_builtin_rule_is_documented_with_pass_and_fail_examples() -> None:
    for name in packs():
        for rule in load_pack(name):
            assert rule.description, rule.id
            assert {e.expect for e in rule.examples} == {'pass', 'fail'}, rule.id


def test_litellm_pack_covers_every_scope() -> None:
    assert {r.scope for r in load_pack('litellm')} == {'document', 'environments', 'change'}


@pytest.mark.parametrize(
    ('rule', 'example'), CASES, ids=[f'{r.id}:{e.expect}:{e.location.line}' for r, e in CASES]
)
def test_builtin_example(engine: Engine, rule: Rule, example: Example) -> None:
    result = run_example(engine, rule, example)
    assert result.ok, result.detail


def test_a_wrong_example_is_caught(engine: Engine) -> None:
    [rule] = [r for r in load_pack('litellm') if r.id == 'litellm/rate-limits']
    bogus = Example('pass', {'doc': {'model_list': [{'model_name': 'x'}]}}, rule.location)
    assert not run_example(engine, rule, bogus).ok


def test_the_pack_readme_is_generated_from_the_rules() -> None:
    from gitops_config.policy.docs import markdown
    from gitops_config.policy.load import builtin_dir

    readme = (builtin_dir() / 'README.md').read_text()
    assert readme == markdown({name: load_pack(name) for name in packs()}), (
        'regenerate: gitops-config policy docs --builtin > policies/README.md'
    )
    for name in packs():
        for rule in load_pack(name):
            assert f'### `{rule.id}`' in readme
