from __future__ import annotations

import pytest

from gitops_config import keypath
from gitops_config.keypath import KeyPathError
from gitops_config.keypath import Select

DATA = {'a': {'list': [{'name': 'x', 'c': 1}, {'name': 'y', 'c': 2}]}, 'b.c': 3}


@pytest.mark.parametrize(
    ('text', 'steps'),
    [
        ('a.b.c', ('a', 'b', 'c')),
        ('a.list[0].c', ('a', 'list', 0, 'c')),
        ('a.list[name=x].c', ('a', 'list', Select('name', 'x'), 'c')),
        ('a["b.c"]', ('a', 'b.c')),
        ('a.list[*].c', ('a', 'list', '[*]', 'c')),
        ('**.tag', ('**', 'tag')),
    ],
)
def test_parse(text: str, steps: tuple[object, ...]) -> None:
    assert keypath.parse(text) == steps


@pytest.mark.parametrize('bad', ['', 'a..b', 'a.', '.a', 'a[0', ' a'])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(KeyPathError):
        keypath.parse(bad)


def test_resolve_selects_items_by_field() -> None:
    path = keypath.resolve(DATA, keypath.parse('a.list[name=y].c'))
    assert path == ('a', 'list', 1, 'c')
    assert keypath.get(DATA, path) == 2


def test_select_by_a_nested_field() -> None:
    data = {'models': [{'info': {'id': 'a'}}, {'info': {'id': 'b'}, 'rpm': 5}]}
    path = keypath.resolve(data, keypath.parse('models[info.id=b].rpm'))
    assert path == ('models', 1, 'rpm')
    assert keypath.match_glob('models[info.id=b].rpm', path, data)


def test_resolve_says_where_it_stopped() -> None:
    with pytest.raises(KeyPathError, match='no key a.lst') as info:
        keypath.resolve(DATA, keypath.parse('a.lst'))
    assert info.value.hint == "did you mean 'list'?"
    with pytest.raises(KeyPathError, match='no item with name=z'):
        keypath.resolve(DATA, keypath.parse('a.list[name=z]'))


def test_format_round_trips() -> None:
    for path in [('a', 'list', 0, 'c'), ('b.c',), ('x', 'we"ird')]:
        assert (
            keypath.resolve(
                {'a': {'list': [{'c': 1}]}, 'b.c': 1, 'x': {'we"ird': 1}},
                keypath.parse(keypath.format(path)),
            )
            == path
        )


@pytest.mark.parametrize(
    ('pattern', 'path', 'matches'),
    [
        ('app.image.tag', ('app', 'image', 'tag'), True),
        ('app.*.tag', ('app', 'image', 'tag'), True),
        ('app.*', ('app', 'image', 'tag'), False),
        ('**.tag', ('app', 'image', 'tag'), True),
        ('a.list[*].c', ('a', 'list', 3, 'c'), True),
        ('a.list[*].c', ('a', 'list', 'k', 'c'), False),
        ('a.list[name=y].c', ('a', 'list', 1, 'c'), True),
        ('a.list[name=y].c', ('a', 'list', 0, 'c'), False),
    ],
)
def test_match_glob(pattern: str, path: tuple[str | int, ...], matches: bool) -> None:
    assert keypath.match_glob(pattern, path, DATA) is matches


def test_a_selector_naming_several_items_is_ambiguous() -> None:
    items = {
        'l': [
            {'name': 'a', 'id': 1, 'meta': {'zone': 'x'}},
            {'name': 'a', 'id': 2, 'meta': {'zone': 'y'}},
            {'name': 'b', 'id': 3},
        ]
    }
    assert keypath.resolve(items, keypath.parse('l[name=b]')) == ('l', 2)
    with pytest.raises(keypath.AmbiguousKeyPathError) as caught:
        keypath.resolve(items, keypath.parse('l[name=a].id'), where='prod: ')
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        'prod: l[name=a] matches 2 items: l[0] (l[id=1]), l[1] (l[id=2])'
    )
    assert caught.value.hint == 'name one of them, e.g. l[id=1]'
    same = {'l': [{'name': 'a'}, {'name': 'a'}]}
    with pytest.raises(keypath.AmbiguousKeyPathError, match=r'l\[0\], l\[1\]$'):
        keypath.resolve(same, keypath.parse('l[name=a]'))


def test_resolve_prefix_stops_at_the_first_missing_key() -> None:
    data = {'a': {'b': [{'c': 1}]}}
    assert keypath.resolve_prefix(data, keypath.parse('a.b[0].d.e')) == (('a', 'b', 0), ('d', 'e'))
    with pytest.raises(keypath.KeyPathError, match='no item'):
        keypath.resolve_prefix(data, keypath.parse('a.b[c=2].d'))
