from __future__ import annotations

from typing import Any

from gitops_config.policy.engine import Engine
from gitops_config.policy.rules import Rule
from gitops_config.policy.rules import load_file
from gitops_config.policy.runner import Target
from gitops_config.policy.runner import make_engine
from gitops_config.policy.runner import run_documents
from gitops_config.policy.view import cel_view
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret


def _rule(expr: str, **extra: str) -> Rule:
    lines = ''.join(f'    {k}: {v}\n' for k, v in extra.items())
    [rule] = load_file(
        f'rules:\n  - id: t/r\n    message: bad\n{lines}    expr: {expr!r}\n', 'p.yaml'
    )
    return rule


def _eval(expr: str, **data: Any) -> Any:
    engine = Engine()
    return engine.evaluate(_rule(expr), engine.activation(data))


def test_true_passes_and_false_fails_once() -> None:
    assert _eval('doc.a == 1', doc={'a': 1}).violations == ()
    assert len(_eval('doc.a == 1', doc={'a': 2}).violations) == 1


def test_a_list_result_is_one_violation_per_item() -> None:
    outcome = _eval(
        "doc.items.filter(x, x > 2).map(x, {'message': string(x), 'path': ['a']})",
        doc={'items': [1, 3, 5]},
    )
    assert [(v.message, v.path) for v in outcome.violations] == [('3', ('a',)), ('5', ('a',))]


def test_runtime_error_is_an_outcome_not_an_exception() -> None:
    outcome = _eval('doc.missing.key == 1', doc={})
    assert outcome.error is not None
    assert 'missing' in outcome.error


def test_wrong_result_type_is_reported() -> None:
    assert 'bool or a list' in (_eval('1 + 1').error or '')


def test_the_plaintext_of_a_secret_never_reaches_cel() -> None:
    view = cel_view({'key': Secret('sk-very-secret-value'), 'sealed': SealedSecret('ENC[..]')})
    assert view == {'key': '<secret>', 'sealed': '<secret>'}
    outcome = _eval("doc.key == '<secret>' && doc.sealed == '<secret>'", doc=view)
    assert outcome.violations == ()


def test_env_values_and_file_are_visible() -> None:
    outcome = _eval(
        "env == 'prod' && values.replicas == 3 && file == 'a.yaml'",
        env='prod',
        values={'replicas': 3},
        file='a.yaml',
    )
    assert outcome == outcome.__class__()


def test_runtime_error_on_one_document_does_not_stop_the_others() -> None:
    rule = _rule('doc.spec.replicas >= 2')
    targets = [
        Target('rendered', f'r/{i}.yaml', f'{i}.yaml', doc, 'prod', {}, 0)
        for i, doc in enumerate(
            [{'spec': {'replicas': 1}}, {}, {'spec': {'replicas': 3}}, {'spec': {'replicas': 0}}]
        )
    ]
    hits = run_documents(make_engine(), [rule], targets)
    assert [(h.file, h.error) for h in hits] == [
        ('r/0.yaml', False),
        ('r/1.yaml', True),
        ('r/3.yaml', False),
    ]


def test_match_limits_environments_and_files() -> None:
    rule = _rule('false', match="{environments: [prod], files: ['k8s/*.yaml']}")
    targets = [
        Target('rendered', 'x', name, {}, env, {}, 0)
        for env, name in [
            ('prod', 'k8s/a.yaml'),
            ('dev', 'k8s/a.yaml'),
            ('prod', 'config.yaml'),
            ('prod', 'k8s/sub/b.yaml'),
        ]
    ]
    hits = run_documents(make_engine(), [rule], targets)
    assert [(h.env, h.name) for h in hits] == [('prod', 'k8s/a.yaml')]


def test_twenty_rules_over_many_documents_all_pass() -> None:
    # Their speed is measured by benchmarks/bench_validate.py ("20 rules"), not here.
    rules = [
        _rule(f"doc.model_list.all(m, m.litellm_params.rpm > {i}) && env != 'x{i}'")
        for i in range(20)
    ]
    rules = [
        Rule(**{**{f: getattr(r, f) for f in r.__slots__}, 'id': f't/r{i}'})
        for i, r in enumerate(rules)
    ]
    doc = {
        'model_list': [
            {'model_name': f'm{i}', 'litellm_params': {'rpm': 100, 'tpm': 9}} for i in range(8)
        ],
        'general_settings': {'master_key': '<secret>'},
    }
    targets = [
        Target('rendered', f'f{i}.yaml', f'f{i}.yaml', doc, 'prod', {}, 0) for i in range(200)
    ]
    assert run_documents(make_engine(), rules, targets) == []
    slow = {**doc, 'model_list': [{'model_name': 'm', 'litellm_params': {'rpm': 5}}]}
    hits = run_documents(
        make_engine(), rules, [Target('rendered', 'f.yaml', 'f.yaml', slow, 'prod', {}, 0)]
    )
    assert sorted(h.rule.id for h in hits) == sorted(f't/r{i}' for i in range(5, 20))


DOCUMENTS = [
    {'db': {'password': 'hunter2-hunter2', 'user': 'app'}, 'k': ['AKIAIOSFODNN7EXAMPLE']},
    {'clean': {'a': 1, 'b': [1.5, True, None]}},
    ['a', {'token': 'x'}],
    None,
    'api_key: plain',
]


def test_a_rule_that_only_calls_a_host_function_skips_cel_with_the_same_outcome() -> None:
    engine = make_engine(key_patterns=('^custom$',))
    direct = _rule('plaintext_secrets(doc)')
    through_cel = _rule('plaintext_secrets(doc) + []')
    two = make_engine()
    two.compile(_rule('sops_unencrypted( doc , file )'))
    assert two._direct['t/r'][1] == ('doc', 'file')
    engine.compile(direct)
    for doc in [*DOCUMENTS, {'custom': 'v'}]:
        data = engine.activation({'doc': cel_view(doc), 'file': 'x.yaml'})
        fast = engine.evaluate(direct, data)
        assert data._cel is None  # CEL's copy of the data was never made
        slow = make_engine(key_patterns=('^custom$',)).evaluate(through_cel, data)
        # the same violations; a CEL map does not keep the document's key order
        assert fast.error == slow.error
        assert sorted(fast.violations, key=repr) == sorted(slow.violations, key=repr)
    assert engine.evaluate(direct, engine.activation({'doc': {'token': 'x'}})).violations


def test_a_failing_host_function_is_an_error_outcome_either_way() -> None:
    def broken(doc: Any) -> list[Any]:
        raise ValueError('no good')

    for expr in ('broken(doc)', 'broken(doc) + []'):
        engine = Engine({'broken': (broken, 1)})
        outcome = engine.evaluate(_rule(expr), engine.activation({'doc': {'a': 1}}))
        assert outcome.violations == ()
        assert outcome.error is not None
        assert 'no good' in outcome.error
