"""`set` and `unset` over generated layered projects (issue 11.1): whatever KEYPATH a
merged view offers, `set` then `get` agree, and no other path of any environment
changes; `unset` changes that path only, and `set` of the old value undoes it.

Projects have a common layer, one layer per environment (overrides, new keys, keyed
list entries, `!delete`) and sometimes a later layer shared by some environments.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import keypath
from gitops_config import layer_edit
from gitops_config import values
from gitops_config import yaml_io
from gitops_config.equality import same
from gitops_config.errors import GitopsConfigError
from gitops_config.layer_edit.verify import value_at
from gitops_config.project import open_project
from gitops_config.run import ENV_OFF
from gitops_config.yaml_io import Tagged

RUNS = int(os.environ.get('EDIT_RUNS', 200))
ENVS = ('dev', 'prod', 'qa')
KEYED = {('items',): 'name', ('a', 'items'): 'name'}
PROJECT = """\
version: 1
environments:
{envs}
templates: templates
output: out/{{env}}
merge:
  - path: items
    key: name
  - path: a.items
    key: name
"""

SCALARS = st.one_of(
    st.integers(-5, 500),
    st.booleans(),
    st.none(),
    st.sampled_from(['x', 'y', '1.10', '007', 'true', 'a b', '']),
    st.floats(-10, 10, allow_nan=False).filter(lambda f: f != 0),
)
KEYS = st.sampled_from(['a', 'b', 'c', 'port', 'tag'])


def _mapping(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    inner: st.SearchStrategy[Any] = (
        SCALARS
        if depth == 0
        else st.one_of(SCALARS, SCALARS, _mapping(depth - 1), st.lists(SCALARS, max_size=3))
    )
    return st.dictionaries(KEYS, inner, max_size=3)


MAPPINGS = [_mapping(depth) for depth in range(3)]  # built once: hypothesis caches them


def _items(draw: st.DrawFn, names: list[str]) -> list[dict[str, Any]]:
    return [{'name': name, **draw(MAPPINGS[1])} for name in names]


@st.composite
def _common(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = draw(MAPPINGS[2])
    data['items'] = _items(
        draw, draw(st.lists(st.sampled_from('xyzw'), min_size=1, max_size=3, unique=True))
    )
    data['plain'] = draw(st.lists(st.one_of(SCALARS, MAPPINGS[1]), min_size=1, max_size=3))
    if draw(st.booleans()):
        a = data['a'] if isinstance(data.get('a'), dict) else {}
        a['items'] = _items(draw, draw(st.lists(st.sampled_from('xy'), min_size=1, unique=True)))
        data['a'] = a
    return data


@st.composite
def _override(draw: st.DrawFn, base: Any, path: tuple[str, ...] = (), deletes: bool = True) -> Any:
    """A layer over BASE: some keys changed, added or deleted; keyed items merged."""
    if isinstance(base, dict):
        out: dict[str, Any] = {}
        for key, value in base.items():
            choice = draw(st.integers(0, 5))  # 0, the simplest, keeps the base value
            if choice == 5 and deletes:
                out[key] = Tagged('!delete', '')
            elif choice in (1, 2):
                out[key] = draw(_override(base=value, path=(*path, key), deletes=deletes))
            elif choice == 3 and not isinstance(value, (dict, list)):
                out[key] = draw(SCALARS)
        out.update(draw(st.dictionaries(st.sampled_from(['d', 'e']), SCALARS, max_size=1)))
        return out
    if isinstance(base, list) and path in KEYED:
        entries: list[Any] = []
        for item in base:
            choice = draw(st.integers(0, 4))
            if choice == 4 and deletes:
                entries.append(Tagged('!delete', {'name': item['name']}))
            elif choice in (1, 2):
                entries.append(
                    {
                        'name': item['name'],
                        **draw(
                            _override(
                                base={k: v for k, v in item.items() if k != 'name'},
                                path=(*path, '*'),
                                deletes=deletes,
                            )
                        ),
                    }
                )
        if draw(st.booleans()):
            entries.append({'name': 'new', **draw(MAPPINGS[1])})
        return entries
    if isinstance(base, list):
        return draw(st.lists(SCALARS, max_size=3))
    return draw(SCALARS)


@st.composite
def projects(draw: st.DrawFn) -> dict[str, str]:
    common = draw(_common())
    envs = list(ENVS[: draw(st.integers(2, 3))])
    files = {'values/common.yaml': yaml_io.to_yaml(common)}
    late_envs = draw(st.lists(st.sampled_from(envs), unique=True, max_size=2))
    lines = []
    for env in envs:
        files[f'values/{env}.yaml'] = yaml_io.to_yaml(draw(_override(base=common)))
        layers = ['values/common.yaml', f'values/{env}.yaml']
        if env in late_envs:
            layers.append('values/late.yaml')
        lines.append(f'  - name: {env}\n    layers: [{", ".join(layers)}]')
    if late_envs:
        files['values/late.yaml'] = yaml_io.to_yaml(draw(_override(base=common, deletes=False)))
    files['gitops-config.yaml'] = PROJECT.format(envs='\n'.join(lines))
    return files


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(ENV_OFF, '1')
    # a memory-backed folder where there is one: every edit is fsynced
    shm = Path('/dev/shm')
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        yield Path(tmp)


def _write(root: Path, files: dict[str, str]) -> None:
    shutil.rmtree(root / 'values', ignore_errors=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / 'templates').mkdir(exist_ok=True)


def _readers(root: Path, layer: str) -> list[str]:
    _, project = open_project(root)
    return [e.name for e in project.environments if layer in e.layers]


def _later(root: Path, layer: str) -> dict[str, tuple[str, ...]]:
    """The layers each environment reads after LAYER."""
    _, project = open_project(root)
    return {
        e.name: e.layers[e.layers.index(layer) + 1 :]
        for e in project.environments
        if layer in e.layers
    }


def _get(data: Any, key_path: str, path: tuple[str | int, ...]) -> tuple[bool, Any]:
    """What `get KEYPATH` prints, if anything; by the path it named before where the
    edit changed the field a selector reads."""
    for steps in (keypath.parse(key_path), path):
        try:
            return True, keypath.get(data, keypath.resolve(data, steps))
        except keypath.KeyPathError:
            continue
    return False, None


def _merged(root: Path) -> dict[str, dict[str, Any]] | None:
    source, project = open_project(root)
    try:
        return {e: values.merge(source, project, e).data for e in project.env_names()}
    except values.LayerError:
        return None  # a `!delete` the generator aimed at a key its base lost


@st.composite
def _key_path(draw: st.DrawFn, data: Any, *, new_key: bool) -> str:
    """A KEYPATH into DATA, the way a user would write it: keys, indices, selectors."""
    steps: list[keypath.Step] = []
    node = data
    while True:
        if isinstance(node, dict) and node and (not steps or draw(st.integers(0, 2))):
            key = draw(st.sampled_from(sorted(node)))
            steps.append(key)
            node = node[key]
        elif isinstance(node, list) and node and draw(st.integers(0, 3)):
            index = draw(st.integers(0, len(node) - 1))
            item = node[index]
            if isinstance(item, dict) and item and draw(st.booleans()):
                field = draw(st.sampled_from(sorted(item)))
                value = item[field]
                if isinstance(value, (dict, list)) or value in ('', 'a b'):
                    steps.append(index)
                else:
                    text = keypath._scalar_text(value)
                    steps.append(keypath.Select(field, text))
            else:
                steps.append(index)
            node = item
        else:
            break
    if new_key and isinstance(node, dict) and draw(st.booleans()):
        steps.append(draw(st.sampled_from(['new', 'port'])))
    return keypath.format(steps) if steps else 'a'


def _strip(data: Any, path: tuple[str | int, ...]) -> Any:
    """DATA without the node at PATH (an item leaves its list)."""
    data = copy.deepcopy(data)
    node = data
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return data
    last = path[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        del node[last]
    return data


def _lists_equal_without(before: Any, after: Any, path: tuple[str | int, ...]) -> bool:
    """BEFORE and AFTER equal outside PATH: for a list item, the item is taken out of
    BEFORE, and out of AFTER too when it is still there (back to its base value)."""
    stripped = _strip(before, path)
    return same(stripped, _strip(after, path)) or same(stripped, after)


def _get_through(
    root: Path,
    layer: str,
    env: str,
    old: Any,
    key_path: str,
) -> tuple[bool, Any]:
    """What ENV's layers up to LAYER, merged, hold where KEYPATH named a node in OLD
    (ENV's values before the edit): keyed items found by their name, since the layers
    read after LAYER may add and delete items."""
    source, project = open_project(root)
    merged = values.merge(source, project, env)
    through = values.merge_layers(
        merged.loaded[: merged.layers.index(layer) + 1], merged.merge_rules
    )
    path, rest = keypath.resolve_prefix(old, keypath.parse(key_path))
    steps: list[keypath.Step] = []
    node = old
    for depth, step in enumerate(path):
        field = values.merge_key(merged.merge_rules, path[:depth])
        if isinstance(step, int) and field is not None:
            steps.append(keypath.Select(field, keypath._scalar_text(node[step][field])))
        else:
            steps.append(step)
        node = node[step]
    try:
        return True, keypath.get(through, keypath.resolve(through, (*steps, *rest)))
    except keypath.KeyPathError:
        return False, None


def _resolved(data: Any, key_path: str) -> tuple[str | int, ...] | None:
    try:
        path, rest = keypath.resolve_prefix(data, keypath.parse(key_path))
    except GitopsConfigError:
        return None
    keys = [s for s in rest if isinstance(s, str)]
    return (*path, *keys[:1]) if len(keys) == len(rest) else None


REFUSALS = ('cannot-edit', 'ambiguous-keypath', 'keypath', 'usage')


def _edit(
    edit: Callable[..., layer_edit.Result],
    file: Path,
    *args: Any,
    **kwargs: Any,
) -> layer_edit.Result | None:
    """EDIT's result; None where it refused, as it may (REFUSALS), leaving FILE as it was."""
    original = file.read_bytes()
    try:
        return edit(file, *args, **kwargs)
    except GitopsConfigError as exc:
        refusal = exc
    assert refusal.code in REFUSALS, refusal.one_line()
    assert file.read_bytes() == original
    return None


PROPERTY = settings(
    max_examples=RUNS,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class Drawn:
    """Stands in for `st.data()` in an `@example`: hands out DRAWS in order, and the
    example must end as EXPECT says (it cannot pass by being refused)."""

    def __init__(self, *draws: Any, expect: str) -> None:
        self.draws = list(draws)
        self.expect = expect

    def draw(self, strategy: st.SearchStrategy[Any], label: Any = None) -> Any:
        return self.draws.pop(0)

    def __repr__(self) -> str:
        return f'Drawn({", ".join(map(repr, self.draws))}, expect={self.expect!r})'


Data = st.DataObject | Drawn


def _ended(data: Data, outcome: str) -> None:
    """How one case ended: shown by --hypothesis-show-statistics, and checked for the
    explicit examples. (No share of random cases is asserted: it varies run to run.)"""
    event(outcome)
    if isinstance(data, Drawn):
        assert outcome == data.expect, (outcome, data)


def _project(envs: dict[str, list[str]]) -> str:
    return PROJECT.format(
        envs='\n'.join(
            f'  - name: {env}\n    layers: [{", ".join(layers)}]' for env, layers in envs.items()
        )
    )


# prod deletes y, a later layer adds it again: at the end, as any new item. Unset of
# prod's `items` brings back common's order [y, x]; `set` of the old list [x, y] cannot
# put it back from prod.yaml (a keyed list keeps the order of the layers below), and
# once reported success, y first, as "overridden" by the later layer.
REORDERED = {
    'gitops-config.yaml': _project(
        {
            'dev': ['values/common.yaml', 'values/dev.yaml'],
            'prod': ['values/common.yaml', 'values/prod.yaml', 'values/late.yaml'],
        }
    ),
    'values/common.yaml': 'items: [{name: y}, {name: x}]\nplain: [1]\n',
    'values/dev.yaml': '{}\n',
    'values/prod.yaml': 'items: [!delete {name: y}]\n',
    'values/late.yaml': 'items: [{name: y}]\n',
}


# dev deletes `a` and a later layer sets it again without the field KEYPATH names:
# the same path in both readers, held in prod only.
REPLACED = {
    'gitops-config.yaml': _project(
        {
            'dev': ['values/common.yaml', 'values/dev.yaml', 'values/late.yaml'],
            'prod': ['values/common.yaml', 'values/prod.yaml', 'values/late.yaml'],
        }
    ),
    'values/common.yaml': 'a:\n  items:\n  - {name: x, a: 0, b: 0}\n  - {name: y}\n'
    'items: [{name: x}]\nplain: [0]\n',
    'values/dev.yaml': 'a: !delete\n',
    'values/prod.yaml': 'a: {e: 0}\n',
    'values/late.yaml': 'a:\n  items: [{name: x}]\n  d: 0\n',
}


def _case(
    root: Path,
    files: dict[str, str],
    data: Data,
    *,
    new_key: bool,
) -> tuple[dict[str, Any], str, str, str] | None:
    """FILES written to ROOT, their merged values, and a drawn layer, environment that
    reads it and KEYPATH into that environment's values."""
    _write(root, files)
    before = _merged(root)
    if before is None:
        return None
    layer = data.draw(st.sampled_from(sorted(f for f in files if f.startswith('values/'))))
    env = data.draw(st.sampled_from(_readers(root, layer)))
    return before, layer, env, data.draw(_key_path(before[env], new_key=new_key))


def test_set_then_get_agree_and_nothing_else_changes(workdir: Path) -> None:
    @PROPERTY
    @given(projects(), st.data())
    @example(
        REORDERED,
        Drawn(
            'values/prod.yaml', 'prod', 'items', [{'name': 'x'}, {'name': 'y'}], expect='refused'
        ),
    )
    @example(REORDERED, Drawn('values/prod.yaml', 'prod', 'items[name=x].port', 5, expect='set'))
    @example(
        REORDERED, Drawn('values/common.yaml', 'prod', 'items[name=y].port', 5, expect='overridden')
    )
    def check(files: dict[str, str], data: Data) -> None:
        case = _case(workdir, files, data, new_key=True)
        if case is None:
            return
        before, layer, _, key_path = case
        readers = _readers(workdir, layer)
        later = _later(workdir, layer)
        value = data.draw(st.one_of(SCALARS, MAPPINGS[1]))
        result = _edit(
            layer_edit.set_value, workdir / layer, key_path, yaml_io.to_json(value), mode='yaml'
        )
        if result is None:
            return _ended(data, 'refused')
        after = _merged(workdir)
        assert after is not None
        states = {r.env: r.state for r in result.envs}
        outcome = 'set'
        for name, old in before.items():
            if name not in readers:
                assert same(old, after[name]), name
                continue
            path = _resolved(old, key_path)
            if path is None:  # a later layer replaced what KEYPATH goes through
                assert states[name] == 'hidden', (name, key_path)
                assert later[name], (name, key_path)
                assert same(old, after[name]), (name, key_path)
                continue
            assert _lists_equal_without(old, after[name], path), (name, key_path)
            held, got = _get(after[name], key_path, path)
            if not held or not same(got, value):
                # only a layer read after the edited one can decide it otherwise, and
                # the layers up to the edited one say VALUE
                assert states[name] in ('overridden', 'hidden'), (name, key_path)
                assert later[name], (name, key_path)
                held, got = _get_through(workdir, layer, name, old, key_path)
                assert held, (name, key_path)
                assert same(got, value), (name, key_path, got)
                outcome = 'overridden'
        _ended(data, outcome)

    check()


def test_unset_changes_that_path_only_and_set_undoes_it(workdir: Path) -> None:
    @PROPERTY
    @given(projects(), st.data())
    @example(REORDERED, Drawn('values/prod.yaml', 'prod', 'items', expect='restore refused'))
    @example(REORDERED, Drawn('values/late.yaml', 'prod', 'items[name=y]', expect='unset'))
    @example(
        {**REORDERED, 'values/prod.yaml': 'items: [{name: x, port: 5}]\n'},
        Drawn('values/prod.yaml', 'prod', 'items[name=x].port', expect='restored'),
    )
    @example(REPLACED, Drawn('values/common.yaml', 'prod', 'a.items[0].a', expect='restored'))
    def check(files: dict[str, str], data: Data) -> None:
        case = _case(workdir, files, data, new_key=False)
        if case is None:
            return
        before, layer, env, key_path = case
        readers = _readers(workdir, layer)
        file = workdir / layer
        if _edit(layer_edit.unset_value, file, key_path) is None:
            return _ended(data, 'refused')
        after = _merged(workdir)
        assert after is not None
        for name, old in before.items():
            path = _resolved(old, key_path) if name in readers else None
            if path is None:
                assert same(old, after[name]), (name, key_path)
            else:
                assert _lists_equal_without(old, after[name], path), (name, key_path)
        # a key unset in every reader comes back as it was with `set`
        path = _resolved(before[env], key_path)
        if (
            not path
            or not isinstance(path[-1], str)
            or any(_resolved(before[e], key_path) != path for e in readers)
        ):
            return _ended(data, 'unset')
        old_value = keypath.get(before[env], path)
        if (
            _edit(layer_edit.set_value, file, key_path, yaml_io.to_json(old_value), mode='yaml')
            is None
        ):
            return _ended(data, 'restore refused')
        restored = _merged(workdir)
        assert restored is not None
        for name in readers:  # where it was, as it was (a reader may not have held it)
            held, was = value_at(before[name], path)
            if held and same(was, old_value):
                assert same(restored[name], before[name]), (name, key_path)
        _ended(data, 'restored')

    check()
