from __future__ import annotations

from typing import Any

import pytest
from deepdiff import DeepDiff
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import keypath
from gitops_config.diff import IdentityRule
from gitops_config.diff import Masked
from gitops_config.diff import Options
from gitops_config.diff import diff_documents
from gitops_config.diff import diff_values
from gitops_config.diff import match_steps
from gitops_config.model import ChangeKind
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret

PLAIN = Options(default_keys=(), reorders=False)  # position by position, as DeepDiff


def _summary(changes: list[Any]) -> list[tuple[str, str, Any, Any]]:
    return [(c.kind.value, c.path, c.old, c.new) for c in changes]


def test_nested_leaf_changes_have_full_paths() -> None:
    old = {'app': {'image': {'tag': 'v1'}, 'replicas': 1}, 'gone': 1}
    new = {'app': {'image': {'tag': 'v2'}, 'replicas': 1}, 'new': {'a': 1}}
    assert _summary(diff_values(old, new)) == [
        ('changed', 'app.image.tag', 'v1', 'v2'),
        ('removed', 'gone', 1, None),
        ('added', 'new', None, {'a': 1}),
    ]


def test_list_items_matched_by_identity_show_field_changes() -> None:
    old = {'models': [{'name': 'a', 'rpm': 1}, {'name': 'b', 'rpm': 2}]}
    new = {'models': [{'name': 'b', 'rpm': 3}, {'name': 'a', 'rpm': 1}, {'name': 'c', 'rpm': 9}]}
    assert _summary(diff_values(old, new)) == [
        ('changed', 'models[name=b].rpm', 2, 3),
        ('added', 'models[name=c]', None, {'name': 'c', 'rpm': 9}),
        ('moved', 'models[name=b]', 1, 0),
    ]


def test_identity_field_change_is_a_rename_not_remove_and_add() -> None:
    old = {'model_list': [{'model_name': 'gpt-4', 'model': 'openai/gpt-4', 'rpm': 10, 'tpm': 100}]}
    new = {'model_list': [{'model_name': 'gpt-4o', 'model': 'openai/gpt-4', 'rpm': 10, 'tpm': 200}]}
    assert _summary(diff_values(old, new)) == [
        ('renamed', 'model_list[model_name=gpt-4]', 'gpt-4', 'gpt-4o'),
        ('changed', 'model_list[model_name=gpt-4o].tpm', 100, 200),
    ]


def test_configured_identity_wins_and_reaches_into_mappings() -> None:
    old = {
        'deployments': [
            {'model_name': 'x', 'info': {'id': 'd1'}, 'rpm': 1},
            {'model_name': 'x', 'info': {'id': 'd2'}, 'rpm': 2},
        ]
    }
    new = {
        'deployments': [
            {'model_name': 'x', 'info': {'id': 'd2'}, 'rpm': 2},
            {'model_name': 'x', 'info': {'id': 'd1'}, 'rpm': 5},
        ]
    }
    options = Options(identity=(IdentityRule('deployments', 'info.id'),))
    assert _summary(diff_values(old, new, options=options)) == [
        ('changed', 'deployments[info.id=d1].rpm', 1, 5),
        ('moved', 'deployments[info.id=d2]', 1, 0),
    ]
    # model_name is not unique, so without the rule items are compared by position
    assert [c.path for c in diff_values(old, new)] == [
        'deployments[0].info.id',
        'deployments[0].rpm',
        'deployments[1].info.id',
        'deployments[1].rpm',
    ]


def test_multi_document_files_matched_by_kind_and_name() -> None:
    cm = {'kind': 'ConfigMap', 'metadata': {'name': 'cfg'}, 'data': {'a': '1'}}
    dep = {
        'kind': 'Deployment',
        'metadata': {'name': 'app', 'namespace': 'ns'},
        'spec': {'replicas': 1},
    }
    new_dep = {**dep, 'spec': {'replicas': 2}}
    changes = diff_documents([cm, dep], [new_dep, cm], env='prod', file='k8s.yaml')
    assert [(c.document, c.path, c.old, c.new) for c in changes] == [
        ('Deployment/ns/app', 'spec.replicas', 1, 2),
    ]
    assert changes[0].env == 'prod'
    assert changes[0].file == 'k8s.yaml'


def test_reordered_scalar_list_is_one_move() -> None:
    [change] = diff_values({'callbacks': ['a', 'b', 'c']}, {'callbacks': ['c', 'a', 'b']})
    assert (change.kind, change.path, change.detail) == (
        ChangeKind.MOVED,
        'callbacks',
        'order changed',
    )
    # 1 and True are different items: not a reorder
    assert [c.kind for c in diff_values({'x': [1, 'a']}, {'x': ['a', True]})] == [
        ChangeKind.CHANGED,
        ChangeKind.CHANGED,
    ]


def test_file_added_and_removed() -> None:
    added = diff_documents(None, [{'a': 1}], file='x.yaml')
    removed = diff_documents([{'a': 1}], None, file='x.yaml')
    assert _summary(added) == [('added', '', None, {'a': 1})]
    assert _summary(removed) == [('removed', '', {'a': 1}, None)]


def test_type_only_change_in_an_equal_looking_subtree_is_found() -> None:
    # 1 == True in Python: the `==` shortcut must not hide this
    assert _summary(diff_values({'a': {'flag': 1}}, {'a': {'flag': True}})) == [
        ('changed', 'a.flag', 1, True),
    ]


def test_embedded_yaml_diffed_key_by_key() -> None:
    def parse(text: str) -> Any:
        import yaml

        return yaml.safe_load(text)

    old = {'data': {'config.yaml': 'a: 1\nb: 2\n'}}
    new = {'data': {'config.yaml': 'a: 1\nb: 3\n'}}
    options = Options(embedded=parse)
    assert _summary(diff_values(old, new, options=options)) == [
        ('changed', 'data["config.yaml"].b', 2, 3),
    ]


def test_changed_secret_shows_keyed_fingerprints_never_values() -> None:
    options = Options(key=b'report-key')
    old = {'db': {'password': Secret('old-hunter2')}, 'same': Secret('unchanged!')}
    new = {'db': {'password': Secret('new-hunter2')}, 'same': Secret('unchanged!')}
    [change] = diff_values(old, new, options=options)
    assert change.secret
    assert change.path == 'db.password'
    assert isinstance(change.old, Masked)
    assert isinstance(change.new, Masked)
    assert change.old.fingerprint != change.new.fingerprint
    assert 'hunter2' not in repr(change) + str(change.old) + str(change.new)
    # same value, same fingerprint within one report ("same as staging")
    [again] = diff_values({'k': Secret('x')}, {'k': Secret('new-hunter2')}, options=options)
    assert isinstance(again.new, Masked)
    assert again.new.fingerprint == change.new.fingerprint


def test_sealed_reencryption_is_reported_as_such() -> None:
    old = {'k': SealedSecret('ENC[AES256_GCM,data:aaa]')}
    new = {'k': SealedSecret('ENC[AES256_GCM,data:bbb]')}
    [change] = diff_values(old, new)
    assert change.kind is ChangeKind.RESEALED
    assert change.secret
    assert diff_values(old, {'k': SealedSecret('ENC[AES256_GCM,data:aaa]')}) == []


def test_secret_that_became_plain_masks_both_sides() -> None:
    [change] = diff_values(
        {'k': Secret('topsecret1')}, {'k': 'now-plain-text'}, options=Options(key=b'k')
    )
    assert change.secret
    assert isinstance(change.new, Masked)
    assert 'now-plain' not in str(change.new)
    assert 'topsecret1' not in str(change.old)


def test_added_subtree_with_a_secret_is_masked_inside() -> None:
    [change] = diff_values({}, {'db': {'user': 'app', 'password': Secret('hunter2hunter2')}})
    assert isinstance(change.new, dict)
    assert change.new['user'] == 'app'
    assert isinstance(change.new['password'], Masked)


@pytest.mark.parametrize(
    ('pattern', 'path', 'expected'),
    [
        ('a.b', 'a.b.c', True),
        ('a.*.c', 'a.x.c', True),
        ('a.*.c', 'a.x.d', False),
        ('models[*].rpm', 'models[name=x].rpm', True),
        ('models[name=x]', 'models[name=x].rpm', True),
        ('models[name=y]', 'models[name=x].rpm', False),
        ('**.tag', 'app.image.tag', True),
        ('**.tag', 'app.image.digest', False),
    ],
)
def test_match_steps(pattern: str, path: str, expected: bool) -> None:
    assert match_steps(pattern, keypath.parse(path)) is expected


# -- agreement with DeepDiff -------------------------------------------------

_keys = st.text('abcxyz', min_size=1, max_size=3)


def _trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_keys, kids, max_size=4),
        max_leaves=12,
    )


_SAFE_LEAVES = st.none() | st.integers(-3, 3) | st.text('ab', max_size=2)
_ALL_LEAVES = _SAFE_LEAVES | st.booleans() | st.floats(-2, 2, allow_nan=False)


def _mutate(value: Any, data: st.DataObject, leaves: st.SearchStrategy[Any]) -> Any:
    choice = data.draw(st.integers(0, 5))
    if choice == 0:
        return data.draw(_trees(leaves))
    if isinstance(value, dict):
        out = {
            k: (_mutate(v, data, leaves) if data.draw(st.booleans()) else v)
            for k, v in value.items()
            if data.draw(st.integers(0, 6))
        }
        if choice == 1:
            out[data.draw(_keys)] = data.draw(leaves)
        return out
    if isinstance(value, list):
        out_list = [(_mutate(v, data, leaves) if data.draw(st.booleans()) else v) for v in value]
        if choice == 1:
            out_list.append(data.draw(leaves))
        elif choice == 2 and out_list:
            out_list.pop()
        return out_list
    return value if choice > 2 else data.draw(leaves)


def _ours(a: Any, b: Any, options: Options) -> set[tuple[Any, ...]]:
    return {keypath.parse(c.path) if c.path else () for c in diff_values(a, b, options=options)}


def _theirs(a: Any, b: Any) -> set[tuple[Any, ...]]:
    tree = DeepDiff(a, b, view='tree', zip_ordered_iterables=True, threshold_to_diff_deeper=0)
    return {tuple(item.path(output_format='list')) for items in tree.values() for item in items}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_agrees_with_deepdiff_on_changed_leaves(data: st.DataObject) -> None:
    a = data.draw(_trees(_SAFE_LEAVES))
    b = _mutate(a, data, _SAFE_LEAVES)
    assert _ours(a, b, PLAIN) == _theirs(a, b)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_strict_mode_agrees_with_deepdiff_on_type_changes(data: st.DataObject) -> None:
    a = data.draw(_trees(_ALL_LEAVES))
    b = _mutate(a, data, _ALL_LEAVES)
    assert _ours(a, b, Options(default_keys=(), strict=True, reorders=False)) == _theirs(a, b)


def test_typical_pair_is_one_change() -> None:
    # Its speed is measured by benchmarks/bench_diff.py, not here.
    doc: dict[str, Any] = {
        'model_list': [
            {
                'model_name': f'm{i}',
                'litellm_params': {'model': f'openai/m{i}', 'rpm': i, 'tpm': i * 100},
            }
            for i in range(20)
        ],
        'router_settings': {'routing_strategy': 'simple', 'num_retries': 3},
        'general_settings': {'master_key': 'os.environ/KEY', 'alerting': ['slack']},
    }
    import copy

    new = copy.deepcopy(doc)
    new['model_list'][3]['litellm_params']['rpm'] = 99
    assert [(c.kind.value, c.old, c.new) for c in diff_values(doc, new)] == [('changed', 3, 99)]


def test_rename_by_a_nested_identity_keeps_sibling_fields() -> None:
    rule = Options(identity=(IdentityRule('models', 'info.id'),))
    old = {'models': [{'info': {'id': 'a', 'mode': 'chat'}, 'model': 'x', 'rpm': 1, 'tpm': 2}]}
    new = {'models': [{'info': {'id': 'b', 'mode': 'embed'}, 'model': 'x', 'rpm': 1, 'tpm': 2}]}
    assert _summary(diff_values(old, new, options=rule)) == [
        ('renamed', 'models[info.id=a]', 'a', 'b'),
        ('changed', 'models[info.id=b].info.mode', 'chat', 'embed'),
    ]
