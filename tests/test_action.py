from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitops_config import constants as C
from gitops_config import yaml_io
from tests._helpers.action import ACTION
from tests._helpers.action import ROOT
from tests._helpers.action import run_action
from tests._helpers.git_repo import GitRepo
from tests._helpers.github import AUTHOR
from tests._helpers.github import FakeGitHub
from tests._helpers.review import FILES
from tests._helpers.review import text

WORKFLOWS = ROOT / 'example-repo' / '.github' / 'workflows'
SCHEMA = """{"type": "object", "properties": {"replicas": {"type": "integer", "maximum": 2}}}"""


@pytest.fixture
def pr(git_repo: GitRepo) -> tuple[GitRepo, str, str]:
    base = git_repo.commit(FILES, 'init')
    git_repo.git('checkout', '-q', '-b', 'feature')
    head = git_repo.commit({'values/prod.yaml': 'app:\n  replicas: 2\n'}, 'prod: 2 replicas')
    return git_repo, base, head


def _sticky(github: FakeGitHub, number: int = 5) -> list[dict[str, Any]]:
    return [c for c in github.comments.get(number, []) if C.STICKY_COMMENT_MARKER in c['body']]


def test_pull_request_gets_one_sticky_comment_summary_and_outputs(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    repo, base, head = pr
    result, outputs, summary = run_action(repo, github, shim, tmp_path, base=base, head=head)
    assert result.returncode == 0, result.stderr
    assert outputs == {'changed': 'true', 'environments': '["prod"]', 'findings': '0'}
    [comment] = _sticky(github)
    body = comment['body']
    assert body.index('| Environment |') < body.index('<details>')
    assert '`replicas`' in body
    assert '`3`' in body
    assert '`2`' in body
    assert '| Environment |' in summary
    assert 'replicas' in summary

    head2 = repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'}, 'dev too')
    result, outputs, _ = run_action(repo, github, shim, tmp_path, base=base, head=head2)
    assert result.returncode == 0, result.stderr
    assert outputs['environments'] == '["dev", "prod"]'
    [again] = _sticky(github)
    assert again['id'] == comment['id']
    assert '<b>dev</b>' in again['body']


def test_no_changes_says_so_or_skips_the_comment(
    git_repo: GitRepo, github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    base = git_repo.commit(FILES, 'init')
    head = git_repo.commit({'README.md': 'docs only\n'}, 'docs')
    result, outputs, _ = run_action(
        git_repo, github, shim, tmp_path, base=base, head=head, comment='changes'
    )
    assert result.returncode == 0, result.stderr
    assert outputs['changed'] == 'false'
    assert _sticky(github) == []
    run_action(git_repo, github, shim, tmp_path, base=base, head=head)
    [comment] = _sticky(github)
    assert 'No changes' in comment['body']
    github.comments[5][0]['body'] += '\nstale: prod changed'
    run_action(git_repo, github, shim, tmp_path, base=base, head=head, comment='changes')
    [updated] = _sticky(github)
    assert 'stale' not in updated['body']


def test_a_pr_authors_comment_with_the_marker_keeps_its_words(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    repo, base, head = pr
    planted = github.add_comment(5, f'{C.STICKY_COMMENT_MARKER}\nLGTM, merge me', user=AUTHOR)
    for _ in range(2):
        result, _, _ = run_action(repo, github, shim, tmp_path, base=base, head=head)
        assert result.returncode == 0, result.stderr
    theirs, ours = github.comments[5]
    assert theirs == planted
    assert ours['user']['login'] == 'github-actions[bot]'
    assert '| Environment |' in ours['body']


def test_hostile_keys_show_as_text_in_the_comment(
    git_repo: GitRepo, github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    import cmarkgfm
    from cmarkgfm.cmark import Options

    key = 'k``</details><img src=https://evil.example/p.png>@acme/admins #1'
    layer = 'app:\n  replicas: 3\nlabels:\n  {key}: {value}\n'
    base = git_repo.commit(
        {
            **FILES,
            'templates/labels.json.j2': '{{ labels | to_json }}\n',
            'values/dev.yaml': layer.format(key=json.dumps(key), value='a'),
            'values/prod.yaml': layer.format(key=json.dumps(key), value='a'),
        }
    )
    head = git_repo.commit(
        {
            'values/prod.yaml': layer.format(
                key=json.dumps(key), value=json.dumps('``</summary></details>@acme/admins')
            )
        }
    )
    result, _, _ = run_action(git_repo, github, shim, tmp_path, base=base, head=head)
    assert result.returncode == 0, result.stderr
    [comment] = _sticky(github)
    shown = cmarkgfm.github_flavored_markdown_to_html(
        comment['body'], options=Options.CMARK_OPT_UNSAFE
    )
    assert '<img' not in shown
    assert shown.count('<details>') == shown.count('</details>') == 1
    assert '@acme' not in shown
    assert 'labels.json' in shown
    assert html.escape(key.replace('@', '@\u200b').replace('#', '#\u200b'), quote=False) in shown


def test_shallow_checkout_asks_for_fetch_depth_0(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    repo, base, head = pr
    clone = GitRepo.__new__(GitRepo)
    clone.path = tmp_path / 'shallow'
    subprocess.run(
        [
            'git',
            'clone',
            '-q',
            '--depth',
            '1',
            '--branch',
            'feature',
            f'file://{repo.path}',
            str(clone.path),
        ],
        check=True,
    )
    result, _, _ = run_action(clone, github, shim, tmp_path, base=base, head=head)
    assert result.returncode == 3
    assert 'fetch-depth: 0' in result.stderr
    [comment] = _sticky(github)  # the PR says why there is no review
    assert 'fetch-depth: 0' in comment['body']


def test_policy_errors_fail_the_job_unless_configured(
    git_repo: GitRepo, github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    project = text('gitops-config.yaml') + (
        'schemas:\n  rendered:\n    - {files: app.yaml, schema: schemas/app.json}\n'
    )
    base = git_repo.commit(
        {
            **FILES,
            'gitops-config.yaml': project,
            'schemas/app.json': SCHEMA,
            'values/prod.yaml': 'app: {replicas: 2}\n',
        }
    )
    head = git_repo.commit({'values/prod.yaml': 'app:\n  replicas: 5\n'}, 'too many')
    result, outputs, _ = run_action(git_repo, github, shim, tmp_path, base=base, head=head)
    assert result.returncode == 1, result.stderr
    assert outputs['findings'] == '1'
    [comment] = _sticky(github)
    assert 'schema' in comment['body']
    result, _, _ = run_action(
        git_repo, github, shim, tmp_path, base=base, head=head, fail_on_findings='false'
    )
    assert result.returncode == 0, result.stderr
    assert len(_sticky(github)) == 1


def test_change_rules_run_against_the_pull_requests_base(
    tmp_path: Path, github: FakeGitHub, shim: Path
) -> None:
    """example-repo's prod rpm cut from 500 to 100: the built-in change rule fails the job."""
    repo = GitRepo(tmp_path / 'example-repo')
    shutil.copytree(ROOT / 'example-repo', repo.path, dirs_exist_ok=True)
    base = repo.commit(message='base')
    prod = repo.path / 'values/prod.yaml'
    head = repo.commit(
        {'values/prod.yaml': prod.read_text().replace('      rpm: 500\n', '      rpm: 100\n', 1)},
        'prod: rpm 100',
    )
    result, outputs, summary = run_action(
        repo, github, shim, tmp_path / 'run', base=base, head=head
    )
    assert result.returncode == 1, result.stderr
    assert outputs['findings'] == '1'
    [comment] = _sticky(github)
    assert (
        '- error: `rendered/prod/litellm/config.yaml:7:7` '
        'model_list\\[0\\].litellm_params.rpm: a prod rate limit may not fall by more than '
        'half in one change: openai-gpt-4o '
        'rpm 500 -\\> 100 (litellm/rate-limit-drop)'
    ) in comment['body']
    assert 'rate-limit-drop' in summary


def test_a_template_that_does_not_render_comes_first_in_the_comment(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    repo, base, head = pr
    assert run_action(repo, github, shim, tmp_path, base=base, head=head)[0].returncode == 0
    [green] = _sticky(github)
    typo = repo.commit(
        {
            'templates/app.yaml.j2': text('templates/app.yaml.j2')
            + 'extra: {{ modles | to_yaml }}\n'
        },
        'typo',
    )
    result, _, summary = run_action(repo, github, shim, tmp_path / 'typo', base=base, head=typo)
    assert result.returncode == 1, result.stderr
    assert 'internal-error' not in result.stderr
    [comment] = _sticky(github)
    assert comment['id'] == green['id']
    body = comment['body']
    assert "'modles' is undefined (did you mean 'models'?)" in body
    assert body.index('modles') < body.index('| Environment |')  # the failure first
    assert summary.index('modles') < summary.index('| Environment |')


def test_a_run_that_fails_replaces_the_green_comment(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    repo, base, head = pr
    assert run_action(repo, github, shim, tmp_path, base=base, head=head)[0].returncode == 0
    [green] = _sticky(github)
    broken = repo.commit({'gitops-config.yaml': 'version: 1\nenvironments: dev\n'}, 'broken')
    result, _, _ = run_action(repo, github, shim, tmp_path, base=base, head=broken)
    assert result.returncode == 3, result.stderr
    [comment] = _sticky(github)
    assert comment['id'] == green['id']
    assert 'gitops-config.yaml:2' in comment['body']
    assert 'environments must be' in comment['body']
    assert '`replicas`' not in comment['body']  # nothing of the stale green review is left


def test_read_only_token_warns_and_keeps_the_summary(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    repo, base, head = pr
    github.fail = [(403, {}, {'message': 'Resource not accessible by integration'})] * 3
    result, outputs, summary = run_action(repo, github, shim, tmp_path, base=base, head=head)
    assert result.returncode == 0, result.stderr
    assert '::warning::cannot comment' in result.stderr
    assert 'lacks permission' in result.stderr
    assert outputs['changed'] == 'true'
    assert 'replicas' in summary


def test_action_and_workflows_match_githubs_schemas() -> None:
    checker = Path(sys.executable).parent / 'check-jsonschema'
    for schema, files in (
        ('vendor.github-actions', [ACTION]),
        ('vendor.github-workflows', sorted(WORKFLOWS.glob('*.yml'))),
    ):
        assert files
        result = subprocess.run(
            [str(checker), '--builtin-schema', schema, *map(str, files)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_action_installs_from_its_own_checkout() -> None:
    spec = yaml_io.load(ACTION.read_text(), 'action.yml')
    assert spec['runs']['using'] == 'composite'
    runs = [s for s in spec['runs']['steps'] if 'run' in s]
    assert any(
        'pip install' in s['run']
        and '$ACTION_PATH' in s['run']
        and s['env']['ACTION_PATH'] == '${{ github.action_path }}'
        for s in runs
    )
    assert all(
        s['run'].startswith('gitops-config action ') for s in runs if 'gitops-config' in s['run']
    )


def test_the_review_keeps_its_cache_where_actions_cache_restores_it(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    spec = yaml_io.load(ACTION.read_text(), 'action.yml')
    [restore] = [s for s in spec['runs']['steps'] if s.get('uses', '').startswith('actions/cache@')]
    [review] = [s for s in spec['runs']['steps'] if s.get('id') == 'review']
    assert restore['with']['path'] == review['env']['GITOPS_CONFIG_CACHE_DIR']
    assert restore['if'] == "inputs.cache == 'true'"
    assert 'pull_request.base.sha' in restore['with']['key']
    # the step that runs the review fills that folder, for the next run to restore
    repo, base, head = pr
    result, _, _ = run_action(repo, github, shim, tmp_path, base=base, head=head)
    assert result.returncode == 0, result.stderr
    kept = tmp_path / 'runner-temp' / 'gitops-config-cache'
    assert [p for p in kept.rglob('*') if p.is_file()]


def _big_review(envs: int = 3, changes: int = 400) -> Any:
    from gitops_config.model import Change
    from gitops_config.model import ChangeKind
    from gitops_config.pipeline.results import EnvDiff
    from gitops_config.pipeline.results import Review

    names = ['dev', 'staging', 'prod'][:envs]
    return Review(
        'aaaa',
        'bbbb',
        tuple(
            EnvDiff(
                name,
                [
                    Change(
                        name,
                        'config.yaml',
                        f'model_list[model_name=m{i}].rpm',
                        ChangeKind.CHANGED,
                        i,
                        'x' * 150,
                    )
                    for i in range(changes)
                ],
            )
            for name in names
        ),
        sealed=False,
        fingerprints=False,
    )


def test_comment_is_trimmed_least_important_first_with_a_note() -> None:
    from gitops_config.report import comment

    review = _big_review()
    full = comment.build(review, limit=10**9)
    assert len(full) > C.GITHUB_COMMENT_LIMIT
    body = comment.build(review, report_url='https://github.example/acme/config/actions/runs/1')
    assert len(body) <= C.GITHUB_COMMENT_LIMIT
    assert body.startswith(C.STICKY_COMMENT_MARKER)
    assert body.index('| Environment |') < body.index('Trimmed')
    assert 'https://github.example/acme/config/actions/runs/1' in body
    # dev (earliest in promotion order) is cut first; prod keeps the most rows
    rows = {
        env: body.split(f'<b>{env}</b>')[1].split('</details>')[0].count('\n| `config')
        for env in ('dev', 'staging', 'prod')
    }
    assert rows['dev'] == 0
    assert rows['staging'] <= rows['prod']
    assert rows['prod'] >= 100
    assert 'change row(s) of dev' in body


def test_small_comment_is_not_trimmed() -> None:
    from gitops_config.report import comment

    body = comment.build(_big_review(changes=3))
    assert 'Trimmed' not in body
    assert body.count('| `config.yaml` |') == 9


def test_job_summary_is_cut_at_its_limit(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gitops_config.cli.commands.action import _append_summary

    summary = tmp_path / 'summary.md'
    summary.write_text('earlier step\n')
    monkeypatch.setenv('GITHUB_STEP_SUMMARY', str(summary))
    _append_summary('é' * C.GITHUB_STEP_SUMMARY_LIMIT)
    data = summary.read_bytes()
    assert len(data) <= C.GITHUB_STEP_SUMMARY_LIMIT
    assert data.startswith(b'earlier step\n')
    assert data.decode().rstrip().endswith('1 MiB limit._')


def test_matrix_shards_then_one_merge_post_the_same_comment(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    """The sharded workflow: N jobs write their share, the last merges and comments."""
    repo, base, head = pr
    head = repo.commit(
        {
            'values/common.yaml': f'{FILES["values/common.yaml"]!s}extra: 1\n',
            'values/dev.yaml': 'app:\n  replicas: 2\n',
        },
        'more changes',
    )
    whole, whole_outputs, _ = run_action(
        repo, github, shim, tmp_path / 'one', base=base, head=head, number=7
    )
    assert whole.returncode == 0, whole.stderr
    [expected] = _sticky(github, 7)
    for i in (1, 2, 3):
        result, _, _ = run_action(
            repo,
            github,
            shim,
            tmp_path / f's{i}',
            base=base,
            head=head,
            number=8,
            shard=f'{i}/3',
            report=f'shards/shard-{i}.json',
        )
        assert result.returncode == 0, result.stderr
        assert (repo.path / f'shards/shard-{i}.json').is_file()
    assert _sticky(github, 8) == []  # shard jobs never comment
    result, outputs, summary = run_action(
        repo,
        github,
        shim,
        tmp_path / 'merge',
        base=base,
        head=head,
        number=8,
        merge='shards/*.json',
    )
    assert result.returncode == 0, result.stderr
    [comment] = _sticky(github, 8)
    assert comment['body'] == expected['body']
    assert outputs == whole_outputs
    assert 'replicas' in summary


def test_merge_without_reports_is_a_clear_error(
    pr: tuple[GitRepo, str, str], github: FakeGitHub, shim: Path, tmp_path: Path
) -> None:
    repo, base, head = pr
    result, _, _ = run_action(
        repo, github, shim, tmp_path, base=base, head=head, merge='shards/*.json'
    )
    assert result.returncode == 3
    assert "no shard reports match 'shards/*.json'" in result.stderr


def test_sops_age_key_holding_keys_files_opens_every_environment(
    tmp_path: Path, github: FakeGitHub, shim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI secret holds the key files as they are (with `#` comment lines), one after
    the other, as sops reads SOPS_AGE_KEY: every environment's secrets open."""
    from gitops_config.sops import ops

    keys = ''.join(
        p.read_text()
        for p in [
            ROOT / 'example-repo/keys/demo-dev.agekey',
            *sorted((ROOT / 'tests/fixtures/example-repo-keys').glob('*.agekey')),
        ]
    )
    assert keys.count('\n#') >= 3
    repo = GitRepo(tmp_path / 'example-repo')
    shutil.copytree(ROOT / 'example-repo', repo.path, dirs_exist_ok=True)
    base = repo.commit(message='base')
    monkeypatch.setenv('SOPS_AGE_KEY', keys)
    for env in ('dev', 'staging', 'prod'):
        ops.set_value(
            repo.path / f'secrets/{env}.enc.yaml',
            'secrets.provider_keys.OPENAI_API_KEY',
            f'sk-rotated-{env}-0123456789',
        )
    head = repo.commit(message='rotate the OpenAI keys')
    result, outputs, _ = run_action(repo, github, shim, tmp_path / 'run', base=base, head=head)
    assert result.returncode == 0, result.stderr
    assert json.loads(outputs['environments']) == ['dev', 'staging', 'prod']
    [comment] = _sticky(github)
    body = comment['body']
    assert 'sk-rotated' not in body
    assert 'sealed' not in body.lower()
    assert body.count('OPENAI_API_KEY') >= 3
