from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import yaml
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import yaml_io
from gitops_config.errors import InvalidYamlError
from gitops_config.yaml_io import fast
from gitops_config.yaml_io.dump import to_flow


@pytest.mark.parametrize(('text', 'expected'), [
    ('yes', 'yes'), ('on', 'on'), ('n', 'n'), ('true', True), ('FALSE', False),
    ('~', None), ('null', None), ('', None),
    ('0777', 511), ('0o17', 15), ('0x1F', 31), ('-0x1f', -31), ('0b101', 5), ('+5', 5),
    ('1_000', 1000), ('08', 8.0), ('1e3', 1000.0), ('3.14', 3.14), ('.5', 0.5),
    ('2024-01-01', '2024-01-01'), ('1.2.3', '1.2.3'), ('18446744073709551615', 2**64 - 1),
    ('18446744073709551616', float(2**64)),
    # Go's ParseFloat fails out of float64's range, so the text stays a string;
    # below it, the number rounds to zero
    ('1e400', '1e400'), ('-1e400', '-1e400'), ('.5e400', '.5e400'), ('1e-400', 0.0),
    ('-0.0', -0.0), ('1e308', 1e308),
])
def test_plain_scalars_mean_what_go_yaml_v3_says(text: str, expected: object) -> None:
    loaded = yaml_io.load(f'k: {text}\n', 'f.yaml')['k']
    assert repr(loaded) == repr(expected)  # -0.0 is not 0.0
    assert type(loaded) is type(expected)


@pytest.mark.parametrize('text', ['0\n', '1\n', '1.5\n', '2024-01-01\n'])
def test_a_trailing_newline_makes_a_string(text: str) -> None:
    # Python's `$` matches before a final newline; go-yaml's number syntax does not.
    assert yaml_io.resolve_plain(text) == ('tag:yaml.org,2002:str', text)


def test_special_floats() -> None:
    data = yaml_io.load('a: .inf\nb: -.Inf\nc: .nan\n', 'f.yaml')
    assert data['a'] == math.inf
    assert data['b'] == -math.inf
    assert math.isnan(data['c'])


def test_quoted_scalars_stay_strings() -> None:
    assert yaml_io.load('a: "3"\nb: \'true\'\n', 'f.yaml') == {'a': '3', 'b': 'true'}


def test_merge_keys_apply() -> None:
    text = 'base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n'
    assert yaml_io.load(text, 'f.yaml')['child'] == {'x': 1, 'y': 3}


def test_malformed_yaml_names_file_line_and_column() -> None:
    with pytest.raises(InvalidYamlError) as info:
        yaml_io.load('a: 1\nb: [1, 2\nc: 3\n', 'values/dev.yaml')
    assert str(info.value.location).startswith('values/dev.yaml:3:')


def test_duplicate_keys_are_an_error() -> None:
    with pytest.raises(InvalidYamlError, match="duplicate key 'a'") as info:
        yaml_io.load('a: 1\nb: 2\na: 3\n', 'f.yaml')
    assert info.value.location is not None
    assert info.value.location.line == 3


def test_alias_bomb_is_bounded() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f'{cur}: &{cur} [' + ','.join([f'*{prev}'] * 9) + ']')
    with pytest.raises(InvalidYamlError, match='alias bomb'):
        yaml_io.load('\n'.join(lines) + '\n', 'bomb.yaml')


def test_positions_are_one_based() -> None:
    [(data, positions)] = yaml_io.load_all_located('a:\n  b: [1, 2]\n', 'f.yaml')
    assert data == {'a': {'b': [1, 2]}}
    assert positions[('a', 'b', 1)] == (2, 10)
    assert positions[('a', 'b')] == (2, 3)  # a mapping entry is where its key is


@pytest.mark.parametrize('value', ['yes', 'on', 'no', 'y', '0o17', '1_000', '08', '0777',
                                   '2024-01-01', 'true', 'null', '~', '1e3', '.inf', ''])
def test_to_yaml_quotes_anything_a_reader_could_misread(value: str) -> None:
    import yaml

    dumped = yaml_io.to_yaml({'k': value})
    assert yaml_io.load(dumped, 'd.yaml') == {'k': value}
    assert yaml.safe_load(dumped) == {'k': value}  # a YAML 1.1 reader (LiteLLM's) agrees


_scalars = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63 - 1)
            | st.floats(allow_nan=False) | st.text())
_trees = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(min_size=1), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1), _trees, max_size=5))
def test_to_yaml_round_trips(tree: dict[str, object]) -> None:
    assert yaml_io.load(yaml_io.to_yaml(tree), 'd.yaml') == tree


_SNIPPETS = [
    'a: 1\nb: [x, {c: d}]\n', '!!int "3"\n', 'k: !delete\n', '? [a]\n: 1\n',
    'a: &x {b: 1}\nc: *x\n', 'a: {b: 1}\n<<: {c: 2}\n', '- !custom [1, 2]\n- !m {a: 1}\n',
    '"1": x\n1: y\n', 'a: 1\na: 2\n', 'a: |\n  text\n  more\nb: >-\n  folded\n',
    '---\na: 1\n---\n---\nb: [1, 2]\n', '', '# only a comment\n', 'a: [1, 2\n',
    "a: 'single'\nb: \"double\"\nc: 0x1F\nd: 1e3\ne: 2024-01-01\n", 'x: !!binary aGk=\n',
    'a: "1"\nb: \'true\'\nc: ""\nd: 1\n',
]


def _outcome(build: Callable[[], object]) -> str:
    try:
        return repr(build())
    except InvalidYamlError as exc:  # compared as the user sees it
        return exc.message


def _from_nodes(text: str, located: bool) -> object:
    """PyYAML's node graph, the path kept for aliases and merge keys: the oracle."""
    try:
        return list(fast._composed(text, with_positions=located))
    except yaml.YAMLError as exc:
        raise fast._error('f.yaml', exc) from None


@pytest.mark.parametrize('text', _SNIPPETS)
@pytest.mark.parametrize('located', [False, True])
def test_building_from_events_equals_building_from_nodes(text: str, located: bool) -> None:
    assert _outcome(lambda: fast._documents(text, 'f.yaml', with_positions=located)) == (
        _outcome(lambda: _from_nodes(text, located)))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1), _trees, max_size=5), st.booleans())
def test_events_and_nodes_build_the_same_tree(tree: dict[str, object], flow: bool) -> None:
    text = to_flow(tree) if flow else yaml_io.to_yaml(tree)
    for located in (False, True):
        assert repr(fast._from_events(text, with_positions=located)) == repr(
            _from_nodes(text, located))


def test_aliases_of_a_large_string_are_bounded_by_bytes() -> None:
    # Few nodes, but 2,000 copies of 1 MB: 2 GB for whoever walks the values.
    text = 'big: &big "' + 'x' * 1_000_000 + '"\ncopies: [' + ', '.join(['*big'] * 2000) + ']\n'
    with pytest.raises(InvalidYamlError, match='aliases expand to more than 10 MiB') as info:
        yaml_io.load(text, 'bomb.yaml')  # ten times the file's size
    assert info.value.location is not None
    assert info.value.location.path == 'bomb.yaml'


def test_aliases_of_a_large_mapping_count_its_keys() -> None:
    keys = ', '.join(f'{"k" * 1000}{i}: 1' for i in range(1000))
    text = f'big: &big {{{keys}}}\ncopies: [' + ', '.join(['*big'] * 200) + ']\n'
    with pytest.raises(InvalidYamlError, match='aliases expand to more than'):
        yaml_io.load(text, 'bomb.yaml')


def test_ordinary_anchors_expand() -> None:
    text = ('defaults: &d {timeout: 30, retries: 3, note: "' + 'x' * 1000 + '"}\n'
            + ''.join(f'svc{i}:\n  <<: *d\n  name: s{i}\n' for i in range(200)))
    assert yaml_io.load(text, 'f.yaml')['svc199']['timeout'] == 30


def _nested(depth: int, *, block: bool) -> str:
    if block:
        return ''.join(f'{"  " * i}k{i}:\n' for i in range(depth)) + f'{"  " * depth}leaf\n'
    return 'k: ' + '[' * depth + ']' * depth + '\n'


@pytest.mark.parametrize('block', [False, True])
@pytest.mark.parametrize('anchor', ['', 'a: &a 1\n'])  # an anchor takes the node-graph path
@pytest.mark.parametrize('located', [False, True])
def test_nesting_is_limited(block: bool, anchor: str, located: bool) -> None:
    from gitops_config import constants as C

    too_deep = anchor + _nested(C.YAML_MAX_DEPTH + 1, block=block)
    with pytest.raises(InvalidYamlError, match=f'nested deeper than {C.YAML_MAX_DEPTH}') as info:
        fast._documents(too_deep, 'deep.yaml', with_positions=located)
    assert info.value.location is not None
    assert info.value.location.line is not None
    fast._documents(anchor + _nested(C.YAML_MAX_DEPTH - 2, block=block), 'ok.yaml',
                    with_positions=located)


def test_nesting_at_libyaml_s_own_limit_is_one_clear_error() -> None:
    with pytest.raises(InvalidYamlError, match='nest'):
        yaml_io.load('a: &a 1\nk: ' + '[' * 999 + ']' * 999 + '\n', 'deep.yaml')
