"""The verifying trace cache is sound: a cached output is only reused when it is
exactly what rendering again would produce."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import render as render_mod
from gitops_config.incremental.reuse import Reuse
from gitops_config.incremental.store import Store
from gitops_config.render import Template
from gitops_config.values import Values


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp('trace-cache')


def _run(directory: Path) -> Reuse:
    """A new run on the cache in DIRECTORY."""
    return Reuse(Store(directory))


class Counter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = render_mod.render_template

        def counting(*args: Any, **kwargs: Any) -> str:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(render_mod, 'render_template', counting)


def _render(source: str, data: dict[str, Any], run: Reuse) -> bytes:
    template = Template.of('templates/t.yaml.j2', 't.yaml.j2', source.encode())
    return run.output(template, run.prepared(Values('dev', data))).content


@pytest.mark.parametrize(
    ('source', 'before', 'unrelated', 'related'),
    [
        (
            'x: {{ a.b }}\n',
            {'a': {'b': 1, 'c': 2}},
            {'a': {'b': 1, 'c': 3}},
            {'a': {'b': 5, 'c': 2}},
        ),
        (
            'x: {{ a | to_json }}\n',
            {'a': {'b': 1}, 'z': 1},
            {'a': {'b': 1}, 'z': 2},
            {'a': {'b': 1, 'c': 2}, 'z': 1},
        ),
        (
            '{% for k in a %}{{ k }}: 1\n{% endfor %}',
            {'a': {'b': 1}, 'z': 1},
            {'a': {'b': 1}, 'z': 2},
            {'a': {'b': 1, 'c': 1}, 'z': 1},
        ),
        (
            'x: {{ l[-1] }}\n',
            {'l': [1, 2], 'z': 1},
            {'l': [1, 2], 'z': 2},
            {'l': [1, 2, 3], 'z': 1},
        ),
        (
            'x: {{ l[0].n }}\n',
            {'l': [{'n': 1, 'm': 1}]},
            {'l': [{'n': 1, 'm': 2}]},
            {'l': [{'n': 2, 'm': 1}]},
        ),
        ('x: {{ a.b | default("d") }}\n', {'a': {'c': 1}}, {'a': {'c': 2}}, {'a': {'b': 'set'}}),
        ('x: {{ a.b is defined }}\n', {'a': {}}, {'a': {'c': 1}}, {'a': {'b': 1}}),
        (
            'x: {{ values.a.b }}\n',
            {'a': {'b': 1}, 'z': 1},
            {'a': {'b': 1}, 'z': 2},
            {'a': {'b': 2}, 'z': 1},
        ),
        (
            'x: {{ a.b | length }}\n',
            {'a': {'b': [1]}, 'z': 1},
            {'a': {'b': [1]}, 'z': 2},
            {'a': {'b': [1, 2]}, 'z': 1},
        ),
        (
            'x: {{ a.b == 1 }}\n',
            {'a': {'b': 1}, 'z': 1},
            {'a': {'b': 1}, 'z': 2},
            {'a': {'b': True}, 'z': 1},
        ),
        (
            '{% for k, v in a.items() %}{{ k }}: {{ v }}\n{% endfor %}',
            {'a': {'b': 1}, 'z': 1},
            {'a': {'b': 1}, 'z': 2},
            {'a': {'b': 2}, 'z': 1},
        ),
        # a container is there, then it is not: its existence was read
        (
            'x: {{ a.b is defined }}\n',
            {'a': {'b': {'c': 1}}},
            {'a': {'b': {'c': 1}, 'd': 2}},
            {'a': {}},
        ),
        (
            'x: {{ a.b is mapping }}\n',
            {'a': {'b': {'c': 1}}, 'z': 1},
            {'a': {'b': {'c': 1}}, 'z': 2},
            {'a': {'b': [1]}, 'z': 1},
        ),
        ("x: {{ 'k' in a }}\n", {'a': {'j': 1}}, {'a': {'j': 2}}, {'a': {'j': 1, 'k': 1}}),
        ("x: {{ a.get('k', 0) }}\n", {'a': {'j': 1}}, {'a': {'j': 2}}, {'a': {'j': 1, 'k': 1}}),
        (
            'x: {{ a.keys() | list }}\n',
            {'a': {'j': 1}, 'z': 1},
            {'a': {'j': 1}, 'z': 2},
            {'a': {'j': 1, 'k': 1}, 'z': 1},
        ),
        (
            'x: {{ a[1:] }}\n',
            {'a': [1, 2], 'z': 1},
            {'a': [1, 2], 'z': 2},
            {'a': [1, 2, 3], 'z': 1},
        ),
        (
            '{% if a %}x: 1{% endif %}\n',
            {'a': {}, 'z': 1},
            {'a': {}, 'z': 2},
            {'a': {'b': 1}, 'z': 1},
        ),
        ('x: {{ a ~ "" }}\n', {'a': [1], 'z': 1}, {'a': [1], 'z': 2}, {'a': [2], 'z': 1}),
        ('x: {{ a == [1] }}\n', {'a': [1], 'z': 1}, {'a': [1], 'z': 2}, {'a': [2], 'z': 1}),
        (
            '{% for x in a %}{% endfor %}x: 1\n',
            {'a': [], 'z': 1},
            {'a': [], 'z': 2},
            {'a': [3], 'z': 1},
        ),
    ],
)
def test_reused_only_while_what_was_read_is_unchanged(
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    before: dict[str, Any],
    unrelated: dict[str, Any],
    related: dict[str, Any],
) -> None:
    counter = Counter(monkeypatch)
    run = _run(store)
    first = _render(source, before, run)
    assert counter.calls == 1
    assert _render(source, unrelated, run) == first
    assert counter.calls == 1, 'a change the template never read must not re-render'
    run.finish()
    fresh = _render(source, related, _run(store))
    assert counter.calls == 2, 'a change to what the template read must re-render'
    assert fresh == _render(source, related, Reuse())


def test_nothing_that_touches_a_secret_is_cached(store: Path) -> None:
    from gitops_config.redact import Secret

    run = _run(store)
    _render('x: {{ s }}\n', {'s': Secret('hunter2-hunter2')}, run)
    _render('x: {{ a | to_json }}\n', {'a': {'k': Secret('hunter2-hunter2')}}, run)
    run.finish()
    assert not Path(run.packs.location('dev')).exists()
    _render('x: {{ p }}\n', {'p': 'public', 's': Secret('hunter2-hunter2')}, run)
    run.finish()
    assert [p for p in store.rglob('*') if p.is_file()]
    assert not any(b'hunter2' in p.read_bytes() for p in store.rglob('*') if p.is_file())


TEMPLATES = [
    'x: {{ a.b | default(0) }}\n',
    'x: {{ a | to_json }}\n',
    '{% for k, v in a | dictsort %}{{ k }}: {{ v | to_json }}\n{% endfor %}x: 1\n',
    'x: {{ l | length }}\ny: {{ (l[0] if l else "none") | to_json }}\n',
    'x: {{ z | to_json }}\n',
    'x: {{ a.b | default("d") | to_json }}\ny: {{ l | join(",") | to_json }}\n',
    '{% if a.c is defined %}c: {{ a.c | to_json }}{% else %}c: none{% endif %}\n',
    'x:\n  {{ values.a | to_yaml | indent(2) }}\n',
]
_scalar = st.one_of(st.integers(-3, 3), st.sampled_from(['p', 'q', 'yes']), st.booleans())
_values = st.fixed_dictionaries(
    {
        'a': st.dictionaries(st.sampled_from(['b', 'c', 'd']), _scalar, max_size=3),
        'l': st.lists(_scalar, max_size=3),
        'z': _scalar,
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(template=st.sampled_from(TEMPLATES), first=_values, second=_values)
def test_cached_output_always_equals_a_fresh_render(
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    template: str,
    first: dict[str, Any],
    second: dict[str, Any],
) -> None:
    run = _run(store)
    _render(template, first, run)  # leaves a trace for FIRST
    cached = _render(template, second, run)  # reuses it only if SECOND reads the same
    run.finish()
    assert cached == _render(template, second, _run(store))
    assert cached == _render(template, second, Reuse())


def test_a_container_at_two_paths_is_read_at_both(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = Counter(monkeypatch)
    run = _run(store)
    shared = {'c': 1}
    first = _render('x: {{ b.c }}\n', {'a': shared, 'b': shared}, run)  # a YAML alias
    assert _render('x: {{ b.c }}\n', {'a': {'c': 1}, 'b': {'c': 1}}, run) == first
    assert counter.calls == 1
    assert _render('x: {{ b.c }}\n', {'a': {'c': 1}, 'b': {'c': 2}}, run) == b'x: 2\n'
    assert counter.calls == 2
