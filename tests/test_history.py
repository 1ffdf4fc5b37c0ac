from __future__ import annotations

import json

import pytest

from gitops_config.history import history
from gitops_config.model import ChangeKind
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
