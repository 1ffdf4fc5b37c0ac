from __future__ import annotations

import pytest

from gitops_config.model import Severity
from gitops_config.policy.engine import Engine
from gitops_config.policy.rules import PolicyFileError
from gitops_config.policy.rules import load_file

GOOD = """\
rules:
  - id: team/replicas
    severity: warning
    message: too few replicas
    match:
      environments: [prod]
      files: ['k8s/*.yaml']
    expr: doc.spec.replicas >= 2
    examples:
      pass:
        - doc: {spec: {replicas: 2}}
      fail:
        - doc: {spec: {replicas: 1}}
"""


def test_a_rule_file_loads_into_rules() -> None:
    [rule] = load_file(GOOD, 'policies/team.yaml')
    assert rule.id == 'team/replicas'
    assert rule.severity is Severity.WARNING
    assert rule.environments == ('prod',)
    assert rule.files == ('k8s/*.yaml',)
    assert rule.scope == 'document'
    assert [e.expect for e in rule.examples] == ['pass', 'fail']
    assert str(rule.location) == 'policies/team.yaml:2:5'
    assert str(rule.expr_location) == 'policies/team.yaml:8:11'


@pytest.mark.parametrize(
    ('text', 'message', 'line'),
    [
        ('rules: {}\n', 'top-level `rules:` list', 1),
        ('rules:\n  - id: a\n    message: m\n', "non-empty string 'expr'", 2),
        ('rules:\n  - id: Bad Id\n    message: m\n    expr: "true"\n', 'kebab-case', 2),
        (
            'rules:\n  - id: a\n    message: m\n    expr: "true"\n    severity: fatal\n',
            'severity must be error or warning',
            5,
        ),
        (
            'rules:\n  - id: a\n    message: m\n    expr: "true"\n    scope: galaxy\n',
            'scope must be one of',
            5,
        ),
        (
            'rules:\n  - id: a\n    message: m\n    expr: "true"\n    when: x\n',
            "unknown key 'when'",
            5,
        ),
    ],
)
def test_malformed_rule_files_fail_at_file_and_line(text: str, message: str, line: int) -> None:
    with pytest.raises(PolicyFileError) as info:
        load_file(text, 'policies/p.yaml')
    assert message in info.value.message
    assert info.value.location is not None
    assert (info.value.location.path, info.value.location.line) == ('policies/p.yaml', line)


def test_cel_syntax_error_points_into_the_rule_file() -> None:
    text = (
        'rules:\n  - id: broken\n    message: m\n    expr: |\n      doc.a == 1 &&\n      doc.b ==\n'
    )
    [rule] = load_file(text, 'policies/broken.yaml')
    with pytest.raises(PolicyFileError) as info:
        Engine().compile(rule)
    assert info.value.location is not None
    assert info.value.location.path == 'policies/broken.yaml'
    assert info.value.location.line in (6, 7)  # the dangling `==` or the end of the text
    assert 'invalid CEL' in info.value.message


def test_undeclared_variable_is_a_compile_error() -> None:
    [rule] = load_file('rules:\n  - id: a\n    message: m\n    expr: nope.x == 1\n', 'p.yaml')
    with pytest.raises(PolicyFileError, match='nope'):
        Engine().compile(rule)
