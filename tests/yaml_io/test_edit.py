from __future__ import annotations

import pytest

from gitops_config import yaml_io
from gitops_config.yaml_io.edit import EditError
from gitops_config.yaml_io.edit import delete_value
from gitops_config.yaml_io.edit import set_value

TEXT = """\
# top comment
app:
  image:
    tag: "v1"   # pinned
    repo: ghcr.io/x
  replicas: 2
model_list:
  - name: a
    rpm: 10
  - name: b
    rpm: 20
flow: {a: 1, b: 2}  # flow stays flow
"""


def _changed_lines(old: str, new: str) -> list[str]:
    import difflib

    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm='', n=0)
        if line[:1] in '+-' and not line.startswith(('+++', '---'))
    ]


@pytest.mark.parametrize(
    ('path', 'value', 'expected'),
    [
        (('app', 'image', 'tag'), 'v2', ['-    tag: "v1"   # pinned', '+    tag: "v2"   # pinned']),
        (('app', 'replicas'), 5, ['-  replicas: 2', '+  replicas: 5']),
        (('model_list', 1, 'rpm'), 30, ['-    rpm: 20', '+    rpm: 30']),
        (('app', 'image', 'digest'), 'sha256:abc', ['+    digest: sha256:abc']),
        (
            ('flow', 'c'),
            3,
            [
                '-flow: {a: 1, b: 2}  # flow stays flow',
                '+flow: {a: 1, b: 2, c: 3}  # flow stays flow',
            ],
        ),
        (('app', 'replicas'), 'yes', ['-  replicas: 2', "+  replicas: 'yes'"]),
    ],
)
def test_set_changes_only_the_lines_of_the_value(
    path: tuple[str | int, ...], value: object, expected: list[str]
) -> None:
    new = set_value(TEXT, path, value)
    assert _changed_lines(TEXT, new) == expected
    data = yaml_io.load(new, 'x')
    node = data
    for step in path:
        node = node[step]
    assert node == value


def test_set_creates_missing_parents_at_the_end() -> None:
    new = set_value(TEXT, ('litellm_settings', 'set_verbose'), False)
    assert new == TEXT + 'litellm_settings:\n  set_verbose: false\n'


def test_set_replaces_a_mapping_by_a_scalar_and_back() -> None:
    assert yaml_io.load(set_value(TEXT, ('app', 'image'), 'x'), 'x')['app'] == {
        'image': 'x',
        'replicas': 2,
    }
    new = set_value(TEXT, ('app', 'replicas'), {'min': 1, 'max': 3})
    assert yaml_io.load(new, 'x')['app']['replicas'] == {'min': 1, 'max': 3}
    assert new.startswith('# top comment\n')


def test_set_appends_a_list_item() -> None:
    new = set_value(TEXT, ('model_list', 2), {'name': 'c', 'rpm': 5})
    assert yaml_io.load(new, 'x')['model_list'][2] == {'name': 'c', 'rpm': 5}
    assert _changed_lines(TEXT, new) == ['+  - name: c', '+    rpm: 5']


def test_set_refuses_a_gap_in_a_list() -> None:
    with pytest.raises(EditError, match='list has 2 items'):
        set_value(TEXT, ('model_list', 5), 1)


def test_crlf_line_endings_are_kept() -> None:
    assert set_value('a: 1\r\nb: 2\r\n', ('c',), 3) == 'a: 1\r\nb: 2\r\nc: 3\r\n'


def test_delete_removes_whole_lines() -> None:
    assert _changed_lines(TEXT, delete_value(TEXT, ('app', 'replicas'))) == ['-  replicas: 2']
    assert _changed_lines(TEXT, delete_value(TEXT, ('model_list', 0))) == [
        '-  - name: a',
        '-    rpm: 10',
    ]


def test_delete_last_key_leaves_an_empty_mapping() -> None:
    assert delete_value('a:\n  b: 1\nc: 2\n', ('a', 'b')) == 'a: {}\nc: 2\n'


def test_set_in_an_empty_file() -> None:
    assert set_value('', ('a', 'b'), 1) == 'a:\n  b: 1\n'


def test_delete_the_key_on_a_list_items_dash_line_keeps_the_item() -> None:
    text = 'items:\n- name: x\n  a: 1\n- name: y\n'
    assert delete_value(text, ('items', 0, 'name')) == 'items:\n- a: 1\n- name: y\n'
    assert delete_value('l:\n  - - 1\n    - 2\n', ('l', 0, 0)) == 'l:\n  - - 2\n'


def test_delete_the_last_list_item_leaves_an_empty_list() -> None:
    # `items:` alone would mean null, which replaces the list a layer below sets
    assert delete_value('items:\n  - name: x\nb: 1\n', ('items', 0)) == 'items: []\nb: 1\n'


def test_set_inside_a_flow_collection_stays_flow() -> None:
    assert set_value("{a: !delete '', b: 1}\n", ('a',), [0, {'c': 'x'}]) == (
        '{a: [0, {c: x}], b: 1}\n'
    )
    assert set_value('a: {l: [1, 2]}\n', ('a', 'l', 1), {'q': 1}) == 'a: {l: [1, {q: 1}]}\n'


def test_new_lists_follow_the_files_indentation() -> None:
    flush = 'a:\n- 1\n'
    indented = 'a:\n  - 1\n'
    assert set_value(flush, ('b',), [{'c': [2]}]) == flush + 'b:\n- c:\n  - 2\n'
    assert set_value(indented, ('b',), [{'c': [2]}]) == indented + 'b:\n  - c:\n      - 2\n'


def test_set_writes_delete_tags() -> None:
    new = set_value('a:\n  b: 1\n', ('a', 'c'), yaml_io.Tagged('!delete', ''))
    assert new == 'a:\n  b: 1\n  c: !delete\n'
    items = set_value('l:\n  - name: x\n', ('l', 1), yaml_io.Tagged('!delete', {'name': 'y'}))
    assert items == 'l:\n  - name: x\n  - !delete {name: y}\n'
