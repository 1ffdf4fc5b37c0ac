from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitops_config import promote
from gitops_config.workspace import open_project
from tests._helpers.git_repo import GitRepo
from tests._helpers.github import TOKEN
from tests._helpers.github import FakeGitHub
from tests._helpers.projects import TWO_ENVIRONMENTS
from tests.conftest import RunCli

PROJECT = TWO_ENVIRONMENTS + '''\
promotion:
  promotable: [app, features]
  pinned: [app.replicas]
'''
PROD = '''\
# production values
app:
  image:
    tag: "v1"   # released 2024-01-01
  replicas: 3
'''
FILES: dict[str, str | bytes | None] = {
    'gitops-config.yaml': PROJECT,
    'values/common.yaml': 'app:\n  image: {repo: ghcr.io/x/app, tag: v0}\n  replicas: 1\n',
    'values/dev.yaml': 'app:\n  image:\n    tag: v2\n  replicas: 1\nfeatures:\n  new_ui: true\n',
    'values/prod.yaml': PROD,
    'templates/app.yaml.j2': 'image: {{ app.image.repo }}:{{ app.image.tag }}\n',
}


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(FILES, 'init')
    return git_repo


def _branches(repo: GitRepo) -> list[str]:
    return repo.git('for-each-ref', '--format=%(refname:short)', 'refs/heads/').split()


def test_plan_lists_promotable_changes_and_skips_pinned(repo: GitRepo) -> None:
    source, project = open_project(repo.path)
    plan = promote.plan(source, project, 'dev', 'prod')
    assert plan.layer == 'values/prod.yaml'
    assert [(e.key, e.old, e.new) for e in plan.edits] == [
        ('app.image.tag', 'v1', 'v2'), ('features', None, {'new_ui': True})]
    assert [(s.key, s.reason) for s in plan.skipped] == [('app.replicas', 'pinned')]


def test_promote_commits_minimal_edit_to_new_branch(repo: GitRepo, run_cli: RunCli) -> None:
    (repo.path / 'scratch.txt').write_text('uncommitted work\n')
    head = repo.git('rev-parse', 'HEAD').strip()
    status_before = repo.git('status', '--porcelain')
    result = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert result.exit_code == 0, result.output
    branch = f'promote/dev-to-prod-{head[:7]}'
    assert branch in result.stdout
    assert branch in _branches(repo)
    promoted = repo.git('show', f'{branch}:values/prod.yaml')
    assert promoted == (
        '# production values\n'
        'app:\n'
        '  image:\n'
        '    tag: "v2"   # released 2024-01-01\n'
        '  replicas: 3\n'
        'features:\n'
        '  new_ui: true\n'
    )
    message = repo.git('log', '-1', '--format=%B', branch)
    assert 'app.image.tag: v1 -> v2' in message
    assert 'app.replicas: pinned' in message
    assert repo.git('rev-parse', f'{branch}~1').strip() == head
    # the checkout, the index and the current branch are untouched
    assert repo.git('rev-parse', 'HEAD').strip() == head
    assert repo.git('status', '--porcelain') == status_before
    assert (repo.path / 'values/prod.yaml').read_text() == PROD


def test_dry_run_creates_nothing(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('promote', 'dev', 'prod', '--dry-run', cwd=repo.path)
    assert result.exit_code == 0
    assert 'app.image.tag: v1 -> v2' in result.stdout
    assert 'dry run' in result.stdout
    assert _branches(repo) == ['main']


def test_nothing_to_promote(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit({'values/prod.yaml': 'app:\n  image:\n    tag: v2\n  replicas: 3\n'
                                     'features:\n  new_ui: true\n'})
    result = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert result.exit_code == 0
    assert 'nothing to promote' in result.stdout
    assert _branches(repo) == ['main']


def test_existing_branch_is_a_clear_error(repo: GitRepo, run_cli: RunCli) -> None:
    head = repo.git('rev-parse', 'HEAD').strip()
    repo.git('branch', f'promote/dev-to-prod-{head[:7]}')  # same name, other content
    result = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert result.exit_code == 3
    assert 'already exists' in result.stderr


def test_rerun_at_same_commit_reuses_the_branch(repo: GitRepo, run_cli: RunCli) -> None:
    first = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    second = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]


def test_status_shows_what_waits(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('status', cwd=repo.path)
    assert result.exit_code == 0
    assert 'dev -> prod: 2 change(s) waiting' in result.stdout




def test_open_pr_pushes_and_opens_then_updates(repo: GitRepo, run_cli: RunCli,
                                               github: FakeGitHub, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    remote = tmp_path / 'origin.git'
    subprocess.run(['git', 'init', '-q', '--bare', str(remote)], check=True)
    repo.git('remote', 'add', 'origin', str(remote))
    monkeypatch.setenv('GITHUB_TOKEN', TOKEN)
    monkeypatch.setenv('GITHUB_REPOSITORY', 'acme/config')
    monkeypatch.setenv('GITHUB_API_URL', github.url)
    result = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert result.exit_code == 0, result.output
    [pull] = github.pulls
    assert pull['base'] == 'main'
    assert pull['head'].startswith('promote/dev-to-prod-')
    assert 'app.image.tag: v1 -> v2' in pull['body']
    assert '| **prod** |' in pull['body']
    pushed = subprocess.run(['git', 'branch', '--list', 'promote/*'], cwd=remote, check=True,
                            capture_output=True, text=True).stdout
    assert pull['head'] in pushed
    again = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert again.exit_code == 0, again.output
    assert len(github.pulls) == 1


def test_items_of_a_keyed_list_are_added_with_their_key(git_repo: GitRepo) -> None:
    project = PROJECT.replace('templates: templates\n', 'templates: templates\nmerge:\n'
                              '  - {path: models, key: info.id}\n').replace(
        'promotable: [app, features]', 'promotable: ["models[*].model"]')
    git_repo.commit({
        **FILES, 'gitops-config.yaml': project,
        'values/common.yaml': 'models:\n  - {info: {id: a}, model: m1, rpm: 1}\n'
                              '  - {info: {id: b}, model: m1, rpm: 1}\n',
        'values/dev.yaml': 'models:\n  - info: {id: a}\n    model: m2\n'
                           '  - info: {id: b}\n    model: m3\n    rpm: 9\n',
        'values/prod.yaml': '# prod\n',
    })
    source, loaded = open_project(git_repo.path)
    plan = promote.plan(source, loaded, 'dev', 'prod')
    assert [(e.key, e.old, e.new) for e in plan.edits] == [
        ('models[info.id=a].model', 'm1', 'm2'), ('models[info.id=b].model', 'm1', 'm3')]
    assert plan.text == ('# prod\n'
                         'models:\n'
                         '- info:\n'
                         '    id: a\n'
                         '  model: m2\n'
                         '- info:\n'
                         '    id: b\n'
                         '  model: m3\n')
    # the promoted layer merges to FROM's promotable values, and nothing else moved
    from gitops_config import values as values_mod
    from gitops_config.source import WorkTree

    (git_repo.path / 'values/prod.yaml').write_text(plan.text)
    merged = values_mod.merge(WorkTree(git_repo.path), loaded, 'prod').data
    assert [(m['model'], m['rpm']) for m in merged['models']] == [('m2', 1), ('m3', 1)]
