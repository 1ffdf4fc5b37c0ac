"""Snapshots, verdicts and kept reviews: reused work gives exactly what doing it again gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitops_config import render as render_mod
from gitops_config import revision
from gitops_config.incremental import reviews
from gitops_config.incremental import snapshot
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.pipeline import comparison
from gitops_config.pipeline import results
from gitops_config.pipeline.review import KEPT_RECORDS
from gitops_config.redact import Secret
from gitops_config.run import Run
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import TWO_ENVIRONMENTS
from tests.conftest import RunCli

# --- which values differ ---


def test_changed_paths_are_the_highest_that_differ() -> None:
    old = {'a': {'b': 1, 'c': [1, 2]}, 'd': 'x', 'gone': 1}
    new = {'a': {'b': 2, 'c': [1, 2, 3]}, 'd': 'x', 'added': 1}
    assert sorted(snapshot.changed_paths(old, new), key=repr) == [
        ('a', 'b'),
        ('a', 'c'),
        ('added',),
        ('gone',),
    ]


@pytest.mark.parametrize(('before', 'after'), [(1, True), (1, 1.0), (0, False), ('1', 1)])
def test_values_equal_in_python_but_not_in_yaml_differ(before: object, after: object) -> None:
    assert snapshot.changed_paths({'n': before}, {'n': after}) == [('n',)]


def test_key_order_is_a_change_of_the_mapping() -> None:
    # a template iterating the mapping would print its keys in another order
    assert snapshot.changed_paths({'m': {'a': 1, 'b': 2}}, {'m': {'b': 2, 'a': 1}}) == [('m',)]


def test_secrets_compare_by_plaintext_without_marshal() -> None:
    assert snapshot.changed_paths({'k': Secret('a')}, {'k': Secret('a')}) == []
    assert snapshot.changed_paths({'k': Secret('a')}, {'k': Secret('b')}) == [('k',)]


def _entry(*reads: tuple[Any, ...]) -> snapshot.Entry:
    return snapshot.Entry('blob', 'out.yaml', 'digest', reads)


@pytest.mark.parametrize(
    ('read', 'changed', 'same'),
    [
        (('svc', 'a', 'tag'), ('svc', 'b', 'tag'), True),  # another service
        (('svc', 'a', 'tag'), ('svc', 'a', 'tag'), False),
        (('svc', 'a', 'env'), ('svc', 'a', 'env', 'NEW'), False),  # read whole, a key added
        (('svc', 'a', 'tag'), ('svc', 'a'), False),  # the service replaced
        (('svc', 'a', 'extra'), ('svc', 'a', 'extra'), False),  # was missing, now there
        ((), ('svc', 'b'), False),  # the whole values, printed
        (('svc', 'a', 'tag'), ('svc',), False),  # a one-step change holds every service
        (('other', 'x'), ('svc', 'a', 'tag'), True),
        (('svc',), ('svc', 'a', 'tag'), False),  # the mapping iterated, one step read
    ],
)
def test_a_template_is_unaffected_unless_a_read_meets_a_change(
    read: tuple[Any, ...], changed: tuple[Any, ...], same: bool
) -> None:
    known = {'t.j2': _entry(read)}
    assert snapshot.unaffected(known, {'t.j2': 'blob'}, [changed]) == ({'t.j2'} if same else set())


def test_a_changed_template_is_affected_whatever_it_reads() -> None:
    assert snapshot.unaffected({'t.j2': _entry()}, {'t.j2': 'other'}, []) == set()


# --- a diff from snapshots equals a diff without any cache ---

PROJECT = (
    TWO_ENVIRONMENTS + 'schemas:\n  rendered:\n    - files: "*.yaml"\n'
    '      schema: schemas/out.json\n'
    'merge:\n  - path: models\n    key: name\n'
)
PROD = 'x: 2\nmodels:\n  - {name: m2, rpm: 20}\n'  # merged by name: item 0 here, 1 there
SCHEMA = '{"type": "object", "required": ["name"]}'
TEMPLATES = {
    'templates/name.yaml.j2': 'name: {{ svc.a.name }}\n',
    'templates/env.yaml.j2': 'name: env\nenv:\n{% for k, v in svc.a.env | dictsort %}'
    '  {{ k }}: {{ v }}\n{% endfor %}',
    'templates/opt.yaml.j2': 'name: opt\n{% if svc.a.extra is defined %}extra: yes\n{% endif %}',
    'templates/num.yaml.j2': 'name: num\nreplicas: {{ svc.b.replicas }}\n',
    'templates/other.yaml.j2': 'name: {{ svc.c.name }}\n',
    'templates/models.yaml.j2': 'name: models\nrpm: {{ models[1].rpm }}\n',
}


def _common(**a: str) -> str:
    extra = ''.join(f'    {k}: {v}\n' for k, v in a.items())
    return (
        'svc:\n  a:\n    name: a\n    env: {X: "1"}\n'
        + extra
        + '  b:\n    replicas: 1\n  c:\n    name: c\n'
        'models:\n  - {name: m1, rpm: 1}\n  - {name: m2, rpm: 2}\n'
    )


@pytest.fixture
def history(git_repo: GitRepo) -> dict[str, str]:
    """A base and heads that each change what some templates read, and not others."""
    files: dict[str, str | bytes | None] = {
        'gitops-config.yaml': PROJECT,
        'schemas/out.json': SCHEMA,
        'values/common.yaml': _common(),
        'values/dev.yaml': 'x: 1\n',
        'values/prod.yaml': PROD,
        **TEMPLATES,
    }
    shas = {'base': git_repo.commit(files)}
    heads = {
        'env-key': _common().replace('env: {X: "1"}', 'env: {X: "1", Y: "2"}'),
        'now-defined': _common(extra='1'),
        'int-to-float': _common().replace('replicas: 1', 'replicas: 1.0'),
        'int-to-bool': _common().replace('replicas: 1', 'replicas: true'),
        'other-only': _common().replace('name: c', 'name: d'),
        'list-item': _common().replace('rpm: 2', 'rpm: 3'),
        'list-order': _common().replace(
            '{name: m1, rpm: 1}', '{name: m0, rpm: 0}\n  - {name: m1, rpm: 1}'
        ),
    }
    for name, common in heads.items():
        git_repo.git('checkout', '-q', shas['base'])
        shas[name] = git_repo.commit({'values/common.yaml': common}, name)
    git_repo.git('checkout', '-q', shas['base'])
    shas['keyed-override'] = git_repo.commit({'values/prod.yaml': PROD.replace('20', '30')})
    return shas


def _changes(
    root: Path,
    base: str,
    head: str,
    *,
    cache: bool = True,
) -> list[tuple[str, str, str, str, str]]:
    """BASE...HEAD diffed in one run of the environment (with its cache, unless CACHE is
    off)."""
    old, new = revision.open_pair(root, base, head)
    run = Run.from_environment(cache=cache)
    review = comparison.compare(old, new, key=b'k' * 32, jobs=1, run=run)
    run.finish()
    return sorted(
        (c.env, c.file, c.path, repr(c.old), repr(c.new)) for e in review.envs for c in e.changes
    )


class _Counter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.templates: list[str] = []
        real = render_mod.render_template

        def counting(text: str, path: str, *args: Any) -> Any:
            self.templates.append(path)
            return real(text, path, *args)

        monkeypatch.setattr(render_mod, 'render_template', counting)


@pytest.mark.parametrize(
    'head',
    [
        'env-key',
        'now-defined',
        'int-to-float',
        'int-to-bool',
        'other-only',
        'list-item',
        'list-order',
        'keyed-override',
    ],
)
def test_diff_through_snapshots_equals_diff_without_cache(
    head: str,
    history: dict[str, str],
    git_repo: GitRepo,
    fresh_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = git_repo.path
    expected = _changes(root, history['base'], history[head], cache=False)
    assert expected  # every head changes something
    # another PR on the same base leaves the base's snapshots
    other = 'other-only' if head != 'other-only' else 'env-key'
    _changes(root, history['base'], history[other])
    counter = _Counter(monkeypatch)
    assert _changes(root, history['base'], history[head]) == expected
    # only what reads a changed value was rendered, on both sides of the diff
    rendered = {t.removeprefix('templates/') for t in counter.templates}
    assert len(rendered) < len(TEMPLATES)
    assert 'name.yaml.j2' not in rendered


def test_a_re_run_renders_only_what_differs(
    history: dict[str, str], git_repo: GitRepo, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _changes(git_repo.path, history['base'], history['env-key'])
    counter = _Counter(monkeypatch)
    assert _changes(git_repo.path, history['base'], history['env-key']) == first
    # both snapshots are known: only env.yaml differs, in both environments. The render
    # pack keeps one output per template: one side is read back, the other rendered.
    assert sorted(counter.templates) == ['templates/env.yaml.j2'] * 2


def test_a_damaged_snapshot_is_recomputed(
    history: dict[str, str], git_repo: GitRepo, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _changes(git_repo.path, history['base'], history['now-defined'])
    for entry in (fresh_cache / 'snapshot').rglob('*'):
        if entry.is_file():
            entry.write_bytes(entry.read_bytes()[:40])  # truncated
    assert _changes(git_repo.path, history['base'], history['now-defined']) == expected


# --- verdicts: a clean file is not checked again, a finding always is ---


def test_validate_reuses_clean_files_but_not_findings(
    history: dict[str, str], git_repo: GitRepo, fresh_cache: Path, run_cli: RunCli
) -> None:
    root = git_repo.path
    assert run_cli('validate', cwd=root).exit_code == 0
    assert list((fresh_cache / 'verdicts').rglob('*'))
    assert run_cli('validate', cwd=root).exit_code == 0
    # a stricter schema changes every verdict's key: the same files now fail
    git_repo.write({'schemas/out.json': '{"type": "object", "required": ["kind"]}'})
    result = run_cli('validate', cwd=root)
    assert result.exit_code == 1
    assert result.stdout.count('"kind" is a required property') == 12
    assert run_cli('validate', cwd=root).stdout == result.stdout


# --- kept reviews ---


def test_a_re_run_of_the_same_diff_is_read_back(
    history: dict[str, str],
    git_repo: GitRepo,
    fresh_cache: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ('diff', history['base'], history['env-key'], '--validate', '-f', 'json')
    first = run_cli(*argv, cwd=git_repo.path)
    assert first.exit_code == 0

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError('computed again')

    monkeypatch.setattr(comparison, 'compare', refuse)
    assert run_cli(*argv, cwd=git_repo.path).stdout == first.stdout
    other = run_cli('diff', history['base'], history['now-defined'], cwd=git_repo.path)
    assert 'computed again' in other.stderr  # another pair is not read back


def test_a_review_holding_a_secret_is_never_kept(fresh_cache: Path) -> None:
    change = Change(
        'prod',
        'secret.yaml',
        'data.key',
        ChangeKind.CHANGED,
        old=Secret('s3cr3t'),
        new=Secret('other'),
        secret=True,
    )
    review = results.Review(
        'a', 'b', (results.EnvDiff('prod', [change]),), sealed=False, fingerprints=True
    )
    run = Run.from_environment()
    reviews.save('0' * 64, review, KEPT_RECORDS, run.reuse)
    assert not (fresh_cache / 'review').exists()
    reviews.save(
        '1' * 64,
        results.Review('a', 'b', (), sealed=False, fingerprints=False),
        KEPT_RECORDS,
        run.reuse,
    )
    assert reviews.load('1' * 64, KEPT_RECORDS, run.reuse) is not None
