from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import yaml_io
from gitops_config.errors import InvalidYamlError
from gitops_config.yaml_io import fast
from gitops_config.yaml_io.dump import to_flow
from tests.yaml_io import previous_builder


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('yes', 'yes'),
        ('on', 'on'),
        ('n', 'n'),
        ('true', True),
        ('FALSE', False),
        ('~', None),
        ('null', None),
        ('', None),
        ('0777', 511),
        ('0o17', 15),
        ('0x1F', 31),
        ('-0x1f', -31),
        ('0b101', 5),
        ('+5', 5),
        ('1_000', 1000),
        ('08', 8.0),
        ('1e3', 1000.0),
        ('3.14', 3.14),
        ('.5', 0.5),
        ('2024-01-01', '2024-01-01'),
        ('1.2.3', '1.2.3'),
        ('18446744073709551615', 2**64 - 1),
        ('18446744073709551616', float(2**64)),
        # Go's ParseFloat fails out of float64's range, so the text stays a string;
        # below it, the number rounds to zero
        ('1e400', '1e400'),
        ('-1e400', '-1e400'),
        ('.5e400', '.5e400'),
        ('1e-400', 0.0),
        ('-0.0', -0.0),
        ('1e308', 1e308),
    ],
)
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


@pytest.mark.parametrize(
    'value',
    [
        'yes',
        'on',
        'no',
        'y',
        '0o17',
        '1_000',
        '08',
        '0777',
        '2024-01-01',
        'true',
        'null',
        '~',
        '1e3',
        '.inf',
        '',
    ],
)
def test_to_yaml_quotes_anything_a_reader_could_misread(value: str) -> None:
    import yaml

    dumped = yaml_io.to_yaml({'k': value})
    assert yaml_io.load(dumped, 'd.yaml') == {'k': value}
    assert yaml.safe_load(dumped) == {'k': value}  # a YAML 1.1 reader (LiteLLM's) agrees


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text()
)
_trees = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1), _trees, max_size=5))
def test_to_yaml_round_trips(tree: dict[str, object]) -> None:
    assert yaml_io.load(yaml_io.to_yaml(tree), 'd.yaml') == tree


_SNIPPETS = [
    'a: 1\nb: [x, {c: d}]\n',
    '!!int "3"\n',
    'k: !delete\n',
    '? [a]\n: 1\n',
    'a: &x {b: 1}\nc: *x\n',
    'a: {b: 1}\n<<: {c: 2}\n',
    '- !custom [1, 2]\n- !m {a: 1}\n',
    '"1": x\n1: y\n',
    'a: 1\na: 2\n',
    'a: |\n  text\n  more\nb: >-\n  folded\n',
    '---\na: 1\n---\n---\nb: [1, 2]\n',
    '',
    '# only a comment\n',
    'a: [1, 2\n',
    'a: \'single\'\nb: "double"\nc: 0x1F\nd: 1e3\ne: 2024-01-01\n',
    'x: !!binary aGk=\n',
    'a: "1"\nb: \'true\'\nc: ""\nd: 1\n',
]


def _outcome(build: Callable[[], object]) -> str:
    try:
        return repr(build())
    except InvalidYamlError as exc:  # compared as the user sees it
        return f'{exc.message} at {exc.location}'


def _agrees_with_the_previous_builder(text: str) -> None:
    for located in (False, True):
        now = _outcome(partial(fast._documents, text, 'f.yaml', with_positions=located))
        try:
            before = _outcome(
                partial(previous_builder.documents, text, 'f.yaml', with_positions=located)
            )
        except RecursionError:  # a mapping that merged itself crashed it
            before = 'nested deeper than'
        if 'nested deeper than' in before:  # a merge counts as a level now: stops sooner
            assert 'nested deeper than' in now
            continue
        assert now == before


@pytest.mark.parametrize('text', _SNIPPETS)
def test_the_builder_agrees_with_the_previous_one(text: str) -> None:
    _agrees_with_the_previous_builder(text)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1), _trees, max_size=5), st.booleans())
def test_the_builder_agrees_with_the_previous_one_on_trees(
    tree: dict[str, object], flow: bool
) -> None:
    _agrees_with_the_previous_builder(to_flow(tree) if flow else yaml_io.to_yaml(tree))


def _yaml_text(draw: st.DrawFn, depth: int, anchors: list[str]) -> str:
    """A flow node that may anchor, alias (perhaps an anchor not yet defined),
    merge, repeat a key, or carry a tag: what a hostile or careless file holds."""
    choice = draw(st.integers(0, 7 if depth < 3 else 2))
    anchor = ''
    if draw(st.booleans()) and choice != 2:
        anchor = f'&a{len(anchors)} '
        anchors.append(f'a{len(anchors)}')
    if choice == 0:
        return anchor + draw(
            st.sampled_from(
                ['1', 'x', '"q"', 'yes', '0o17', '~', '<<', '!t v', '!!int "3"', "''", '2024-01-01']
            )
        )
    if choice == 1:
        return anchor + '!!str 5'
    if choice == 2:
        return '*' + draw(st.sampled_from([*anchors, 'nowhere'])) if anchors else '*nowhere'
    if choice in (3, 4):
        items = [_yaml_text(draw, depth + 1, anchors) for _ in range(draw(st.integers(0, 3)))]
        return anchor + ('!s ' if choice == 4 else '') + '[' + ', '.join(items) + ']'
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(['a', 'b', '<<', '"<<"', '? [k]']))
        entries.append(f'{key}: {_yaml_text(draw, depth + 1, anchors)}')
    return anchor + '{' + ', '.join(entries) + '}'


@st.composite
def _yaml_texts(draw: st.DrawFn) -> str:
    return '\n---\n'.join(_yaml_text(draw, 0, []) for _ in range(draw(st.integers(1, 2))))


@settings(max_examples=300, deadline=None)
@given(_yaml_texts())
def test_the_builder_agrees_with_the_previous_one_on_aliases_and_merges(text: str) -> None:
    _agrees_with_the_previous_builder(text)


def test_an_anchor_defined_again_names_the_new_node_from_there_on() -> None:
    # go-yaml v3 (and so sops) reads it so; PyYAML's composer refused it, but only
    # when the file also had an alias somewhere
    text = 'a: &x 1\nb: *x\nc: &x 2\nd: *x\n'
    assert yaml_io.load(text, 'f.yaml') == {'a': 1, 'b': 1, 'c': 2, 'd': 2}


def test_a_mapping_that_merges_itself_is_one_clear_error() -> None:
    with pytest.raises(InvalidYamlError, match='nested deeper than'):
        yaml_io.load('a: &a {b: 1, <<: *a}\n', 'f.yaml')


def test_an_alias_without_an_anchor_is_an_error() -> None:
    with pytest.raises(InvalidYamlError, match='found undefined alias') as info:
        yaml_io.load('a: 1\nb: *x\n', 'f.yaml')
    assert str(info.value.location) == 'f.yaml:2:4'


def test_without_libyaml_every_command_stops_with_one_line(tmp_path: Path) -> None:
    # PyYAML built from source without libyaml's headers has no yaml._yaml
    script = (
        'import sys; sys.modules["yaml._yaml"] = None\n'
        'from gitops_config.cli.main import main\n'
        'sys.exit(main(["render"]))\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.startswith('error: libyaml-missing: PyYAML ')
    assert 'was built without libyaml' in done.stderr
    assert 'hint: reinstall PyYAML from a wheel' in done.stderr
    assert 'Traceback' not in done.stderr


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
    text = (
        'defaults: &d {timeout: 30, retries: 3, note: "'
        + 'x' * 1000
        + '"}\n'
        + ''.join(f'svc{i}:\n  <<: *d\n  name: s{i}\n' for i in range(200))
    )
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
    fast._documents(
        anchor + _nested(C.YAML_MAX_DEPTH - 2, block=block), 'ok.yaml', with_positions=located
    )


def test_nesting_at_libyaml_s_own_limit_is_one_clear_error() -> None:
    with pytest.raises(InvalidYamlError, match='nest'):
        yaml_io.load('a: &a 1\nk: ' + '[' * 999 + ']' * 999 + '\n', 'deep.yaml')
