from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_config import render
from gitops_config.history import history
from gitops_config.model import ChangeKind
from gitops_config.run import Run
from tests._helpers.git_repo import GitRepo
from tests._helpers.review import FILES
from tests._helpers.review import text
from tests.conftest import RunCli


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(FILES, 'init')
    git_repo.commit({'values/prod.yaml': 'app:\n  replicas: 4\n'}, 'prod: scale to 4')
    git_repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'}, 'dev only')
    git_repo.commit(
        {'values/common.yaml': text('values/common.yaml').replace('v1', 'v2')}, 'image v2'
    )
    git_repo.commit({'values/prod.yaml': 'app:\n  replicas: 4\n  extra: 1\n'}, 'unrelated key')
    return git_repo


def test_each_commit_that_changed_the_value(repo: GitRepo) -> None:
    entries = history(repo.path, 'prod', 'app.replicas')
    assert [(e.commit.subject, e.kind, e.old, e.new) for e in entries] == [
        ('prod: scale to 4', ChangeKind.CHANGED, 3, 4),
        ('init', ChangeKind.ADDED, None, 3),
    ]
    assert entries[0].commit.author == 'Test User <test@example.com>'


def test_rendered_key_history(repo: GitRepo) -> None:
    entries = history(repo.path, 'dev', 'image', file='app.yaml')
    assert [(e.commit.subject, e.old, e.new) for e in entries] == [
        ('image v2', 'v1', 'v2'),
        ('init', None, 'v1'),
    ]


def test_identity_selector_in_keypath(repo: GitRepo) -> None:
    repo.commit(
        {'values/common.yaml': text('values/common.yaml').replace('rpm: 20', 'rpm: 30')},
        'b: more rpm',
    )
    entries = history(repo.path, 'prod', 'models[name=b].rpm')
    assert [(e.old, e.new) for e in entries] == [(20, 30), (None, 20)]


def test_history_cli_json(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('history', 'prod', 'app.replicas', '--format', 'json', cwd=repo.path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(e['old'], e['new'], e['kind']) for e in data['entries']] == [
        (3, 4, 'changed'),
        (None, 3, 'added'),
    ]
    text = run_cli('history', 'prod', 'app.replicas', cwd=repo.path)
    assert '3 -> 4' in text.stdout
    assert 'prod: scale to 4' in text.stdout


def test_a_template_unchanged_between_commits_is_compiled_once(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk renders in its run: what one commit compiled, the next one reuses."""
    compiled: list[str] = []

    def counted(source_text: str, name: str) -> render.Compiled:
        compiled.append(name)
        return compile_template(source_text, name)

    compile_template = render.compile_template
    monkeypatch.setattr(render, 'compile_template', counted)
    entries = history(repo.path, 'dev', 'image', file='app.yaml', run=Run())
    assert [e.commit.subject for e in entries] == ['image v2', 'init']
    # dev's inputs differ at three commits (init, dev only, image v2): rendered three
    # times, compiled once
    assert compiled == ['templates/app.yaml.j2']


def test_history_is_the_same_with_and_without_a_store(
    repo: GitRepo, run_cli: RunCli, fresh_cache: Path
) -> None:
    args = ('history', 'dev', 'image', '--file', 'app.yaml', '--format', 'json')
    cold = run_cli(*args, cwd=repo.path)
    assert cold.exit_code == 0, cold.output
    assert any(fresh_cache.iterdir())  # the store was used
    warm = run_cli(*args, cwd=repo.path)
    none = run_cli('--no-cache', *args, cwd=repo.path)
    assert cold.stdout_bytes == warm.stdout_bytes == none.stdout_bytes
    assert [e['new'] for e in json.loads(cold.stdout)['entries']] == ['v2', 'v1']


def test_an_unknown_environment_is_a_usage_error_not_an_empty_history(
    repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli('history', 'prd', 'app.replicas', cwd=repo.path)
    assert result.exit_code == 2
    assert "unknown environment 'prd'" in result.output
    assert 'never set' not in result.output
