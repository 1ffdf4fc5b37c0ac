from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitops_config import promote
from gitops_config.project import open_project
from tests._helpers.git_repo import GitRepo
from tests._helpers.github import TOKEN
from tests._helpers.github import FakeGitHub
from tests._helpers.projects import TWO_ENVIRONMENTS
from tests.conftest import RunCli

PROJECT = (
    TWO_ENVIRONMENTS
    + """\
promotion:
  promotable: [app, features]
  pinned: [app.replicas]
"""
)
PROD = """\
# production values
app:
  image:
    tag: "v1"   # released 2024-01-01
  replicas: 3
"""
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
        ('app.image.tag', 'v1', 'v2'),
        ('features', None, {'new_ui': True}),
    ]
    assert [(s.key, s.reason) for s in plan.skipped] == [('app.replicas', 'pinned')]


def test_promote_commits_minimal_edit_to_new_branch(repo: GitRepo, run_cli: RunCli) -> None:
    (repo.path / 'scratch.txt').write_text('uncommitted work\n')
    head = repo.git('rev-parse', 'HEAD').strip()
    status_before = repo.git('status', '--porcelain')
    result = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert result.exit_code == 0, result.output
    branch = 'promote/dev-to-prod'
    assert f'created: branch {branch} at' in result.stdout
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
    repo.commit(
        {
            'values/prod.yaml': 'app:\n  image:\n    tag: v2\n  replicas: 3\n'
            'features:\n  new_ui: true\n'
        }
    )
    result = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert result.exit_code == 0
    assert 'nothing to promote' in result.stdout
    assert _branches(repo) == ['main']


def test_a_branch_holding_other_work_is_never_replaced(repo: GitRepo, run_cli: RunCli) -> None:
    repo.git('branch', 'promote/dev-to-prod')  # same name, someone else's commit
    before = repo.git('rev-parse', 'promote/dev-to-prod')
    result = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert result.exit_code == 3
    assert 'not a promotion of dev to prod: not replacing them' in result.stderr
    assert repo.git('rev-parse', 'promote/dev-to-prod') == before


def test_rerun_at_same_commit_reuses_the_branch(repo: GitRepo, run_cli: RunCli) -> None:
    first = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    second = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout.splitlines()[-1].startswith('created: branch promote/dev-to-prod at')
    assert second.stdout.splitlines()[-1] == first.stdout.splitlines()[-1].replace(
        'created', 'up to date'
    )


def test_status_shows_what_waits(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('status', cwd=repo.path)
    assert result.exit_code == 0
    assert 'dev -> prod: 2 change(s) waiting' in result.stdout


def test_open_pr_pushes_and_opens_then_updates(
    repo: GitRepo,
    run_cli: RunCli,
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = _origin(repo, tmp_path, github, monkeypatch)
    result = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert result.exit_code == 0, result.output
    [pull] = github.pulls
    assert pull['base'] == 'main'
    assert pull['head'] == 'promote/dev-to-prod'
    assert 'app.image.tag: v1 -> v2' in pull['body']
    assert '| **prod** |' in pull['body']
    pushed = subprocess.run(
        ['git', 'branch', '--list', 'promote/*'],
        cwd=remote,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert pull['head'] in pushed
    again = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert again.exit_code == 0, again.output
    assert len(github.pulls) == 1


def test_items_of_a_keyed_list_are_added_with_their_key(git_repo: GitRepo) -> None:
    project = PROJECT.replace(
        'templates: templates\n', 'templates: templates\nmerge:\n  - {path: models, key: info.id}\n'
    ).replace('promotable: [app, features]', 'promotable: ["models[*].model"]')
    git_repo.commit(
        {
            **FILES,
            'gitops-config.yaml': project,
            'values/common.yaml': 'models:\n  - {info: {id: a}, model: m1, rpm: 1}\n'
            '  - {info: {id: b}, model: m1, rpm: 1}\n',
            'values/dev.yaml': 'models:\n  - info: {id: a}\n    model: m2\n'
            '  - info: {id: b}\n    model: m3\n    rpm: 9\n',
            'values/prod.yaml': '# prod\n',
        }
    )
    source, loaded = open_project(git_repo.path)
    plan = promote.plan(source, loaded, 'dev', 'prod')
    assert [(e.key, e.old, e.new) for e in plan.edits] == [
        ('models[info.id=a].model', 'm1', 'm2'),
        ('models[info.id=b].model', 'm1', 'm3'),
    ]
    assert plan.text == (
        '# prod\nmodels:\n- info:\n    id: a\n  model: m2\n- info:\n    id: b\n  model: m3\n'
    )
    # the promoted layer merges to FROM's promotable values, and nothing else moved
    from gitops_config import values as values_mod
    from gitops_config.source import WorkTree

    (git_repo.path / 'values/prod.yaml').write_text(plan.text)
    merged = values_mod.merge(WorkTree(git_repo.path), loaded, 'prod').data
    assert [(m['model'], m['rpm']) for m in merged['models']] == [('m2', 1), ('m3', 1)]


OUTPUT = {
    **FILES,
    'gitops-config.yaml': PROJECT.replace(
        'templates: templates\n', 'templates: templates\noutput: rendered/{env}\n'
    ),
}


@pytest.fixture
def rendered(git_repo: GitRepo, run_cli: RunCli) -> GitRepo:
    """FILES with the rendered output committed (the rendered-manifest pattern)."""
    git_repo.write(OUTPUT)
    assert run_cli('render', cwd=git_repo.path).exit_code == 0
    git_repo.commit(message='init')
    return git_repo


def test_the_promotion_commit_passes_render_check(rendered: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('promote', 'dev', 'prod', cwd=rendered.path)
    assert result.exit_code == 0, result.output
    assert '  re-rendered rendered/prod/app.yaml' in result.stdout
    check = run_cli('render', '--check', '--ref', 'promote/dev-to-prod', cwd=rendered.path)
    assert check.exit_code == 0, check.output
    assert rendered.git('show', 'promote/dev-to-prod:rendered/prod/app.yaml') == (
        'image: ghcr.io/x/app:v2\n'
    )
    changed = rendered.git('diff', '--name-only', 'HEAD', 'promote/dev-to-prod').split()
    assert changed == ['rendered/prod/app.yaml', 'values/prod.yaml']
    assert 'Re-rendered for prod:\n- rendered/prod/app.yaml' in rendered.git(
        'log', '-1', '--format=%B', 'promote/dev-to-prod'
    )


def test_promoting_against_the_order_is_a_usage_error(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('promote', 'prod', 'dev', cwd=repo.path)
    assert result.exit_code == 2
    assert 'prod comes after dev in the promotion order (dev -> prod)' in result.stderr
    assert '--allow-backwards' in result.stderr
    assert _branches(repo) == ['main']
    assert run_cli('promote', 'dev', 'dev', cwd=repo.path).exit_code == 2
    allowed = run_cli('promote', 'prod', 'dev', '--allow-backwards', cwd=repo.path)
    assert allowed.exit_code == 0, allowed.output
    assert 'promote/prod-to-dev' in _branches(repo)


def test_a_promotion_that_fails_validation_makes_no_branch(repo: GitRepo, run_cli: RunCli) -> None:
    schema = (
        '{"type": "object", "properties": {"app": {"type": "object", "properties": '
        '{"image": {"type": "object", "properties": {"tag": {"type": "string", '
        '"pattern": "^v1$"}}}}}}}'
    )
    repo.commit(
        {
            'schemas/prod.json': schema,
            'gitops-config.yaml': PROJECT
            + """\
schemas:
  values:
    - files: values/prod.yaml
      schema: schemas/prod.json
""",
        }
    )
    result = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert 'values/prod.yaml:4' in result.stderr  # the finding, at the edited line
    assert 'app.image.tag: "v2" does not match "^v1$"' in result.stderr
    assert 'not promoted: prod would not pass validation; no branch made' in result.stderr
    assert _branches(repo) == ['main']
    dry = run_cli('promote', 'dev', 'prod', '--dry-run', cwd=repo.path)
    assert dry.exit_code == 1


def test_a_new_commit_on_from_updates_the_one_branch_in_place(
    repo: GitRepo, run_cli: RunCli
) -> None:
    assert run_cli('promote', 'dev', 'prod', cwd=repo.path).exit_code == 0
    first = repo.git('rev-parse', 'promote/dev-to-prod').strip()
    head = repo.commit({'values/dev.yaml': str(FILES['values/dev.yaml']).replace('v2', 'v3')})
    result = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert 'updated: branch promote/dev-to-prod' in result.stdout
    assert _branches(repo) == ['main', 'promote/dev-to-prod']
    tip = repo.git('rev-parse', 'promote/dev-to-prod').strip()
    assert tip != first
    assert repo.git('rev-parse', 'promote/dev-to-prod~1').strip() == head
    assert 'tag: "v3"' in repo.git('show', 'promote/dev-to-prod:values/prod.yaml')
    # prod catches up by hand: nothing left, and the branch goes
    repo.commit({'values/prod.yaml': PROD.replace('"v1"', '"v3"') + 'features:\n  new_ui: true\n'})
    done = run_cli('promote', 'dev', 'prod', cwd=repo.path)
    assert done.exit_code == 0, done.output
    assert 'deleted branch promote/dev-to-prod: nothing left on it to promote' in done.stdout
    assert _branches(repo) == ['main']


def test_dry_run_prints_the_plan_and_the_rendered_diff_per_file(
    rendered: GitRepo, run_cli: RunCli
) -> None:
    text = run_cli('promote', 'dev', 'prod', '--dry-run', cwd=rendered.path)
    assert text.exit_code == 0, text.output
    assert 'app.image.tag: v1 -> v2' in text.stdout
    assert '  app.yaml\n    ~ image: ghcr.io/x/app:v1 → ghcr.io/x/app:v2' in text.stdout
    assert 'dry run: would commit to promote/dev-to-prod' in text.stdout
    data = json.loads(
        run_cli('promote', 'dev', 'prod', '--dry-run', '-f', 'json', cwd=rendered.path).stdout
    )
    assert data['valid'] is True
    assert [e['key'] for e in data['plan']['edits']] == ['app.image.tag', 'features']
    assert data['rendered'] == ['rendered/prod/app.yaml']
    [env] = data['diff']['environments']
    assert [(c['file'], c['path'], c['old'], c['new']) for c in env['changes']] == [
        ('app.yaml', 'image', 'ghcr.io/x/app:v1', 'ghcr.io/x/app:v2')
    ]
    markdown = run_cli(
        'promote', 'dev', 'prod', '--dry-run', '-f', 'markdown', cwd=rendered.path
    ).stdout
    assert markdown.startswith('### Promote dev to prod')
    assert '| **prod** |' in markdown
    assert _branches(rendered) == ['main']


def _origin(
    repo: GitRepo, tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> Path:
    remote = tmp_path / 'origin.git'
    subprocess.run(['git', 'init', '-q', '--bare', str(remote)], check=True)
    repo.git('remote', 'add', 'origin', str(remote))
    monkeypatch.setenv('GITHUB_TOKEN', TOKEN)
    monkeypatch.setenv('GITHUB_REPOSITORY', 'acme/config')
    monkeypatch.setenv('GITHUB_API_URL', github.url)
    return remote


def _remote_tip(remote: Path, branch: str) -> str:
    return subprocess.run(
        ['git', 'rev-parse', '--verify', '--quiet', f'refs/heads/{branch}'],
        cwd=remote,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_one_pull_request_per_pair_updated_in_place_and_closed_when_done(
    repo: GitRepo,
    run_cli: RunCli,
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = _origin(repo, tmp_path, github, monkeypatch)
    assert run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path).exit_code == 0
    [pull] = github.pulls
    first = _remote_tip(remote, 'promote/dev-to-prod')
    repo.commit({'values/dev.yaml': str(FILES['values/dev.yaml']).replace('v2', 'v3')})
    again = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert again.exit_code == 0, again.output
    assert len(github.pulls) == 1
    assert 'app.image.tag: v1 -> v3' in pull['body']
    assert _remote_tip(remote, 'promote/dev-to-prod') not in ('', first)
    assert ('PATCH', '/repos/acme/config/pulls/1') in github.requests
    # prod caught up: the pull request is closed, saying why, and its branch deleted
    repo.commit({'values/prod.yaml': PROD.replace('"v1"', '"v3"') + 'features:\n  new_ui: true\n'})
    done = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert done.exit_code == 0, done.output
    assert 'closed pull request #1: nothing left to promote' in done.stdout
    assert pull['state'] == 'closed'
    assert 'Nothing is left to promote from dev to prod' in github.comments[1][0]['body']
    assert _remote_tip(remote, 'promote/dev-to-prod') == ''


def test_someone_elses_commits_on_the_remote_branch_are_kept(
    repo: GitRepo,
    run_cli: RunCli,
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = _origin(repo, tmp_path, github, monkeypatch)
    assert run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path).exit_code == 0
    other = tmp_path / 'other'
    subprocess.run(
        ['git', 'clone', '-q', '-b', 'promote/dev-to-prod', str(remote), str(other)], check=True
    )
    (other / 'NOTES.md').write_text('reviewed: ship it after the freeze\n')
    subprocess.run(['git', 'add', '-A'], cwd=other, check=True)
    subprocess.run(['git', 'commit', '-qm', 'review notes'], cwd=other, check=True)
    subprocess.run(['git', 'push', '-q'], cwd=other, check=True)
    theirs = _remote_tip(remote, 'promote/dev-to-prod')
    repo.commit({'values/dev.yaml': str(FILES['values/dev.yaml']).replace('v2', 'v3')})
    result = run_cli('promote', 'dev', 'prod', '--open-pr', cwd=repo.path)
    assert result.exit_code == 3
    assert 'origin/promote/dev-to-prod holds commits that are not a promotion' in result.stderr
    assert _remote_tip(remote, 'promote/dev-to-prod') == theirs


def test_promote_runs_git_only_through_the_git_module() -> None:
    """One place owns git: promote builds commits and moves refs through git.Repo."""
    import ast

    import gitops_config.cli.commands.promote as cli_module

    for module in (promote, cli_module):
        tree = ast.parse(Path(str(module.__file__)).read_text())
        names = {
            a.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names
        }
        assert not names & {'process', 'subprocess', 'clean_env'}, module.__name__
