from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests._helpers.git_repo import GitRepo
from tests._helpers.review import FILES
from tests._helpers.review import text
from tests.conftest import RunCli


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(FILES, 'init')
    git_repo.write({'values/common.yaml': text('values/common.yaml').replace('v1', 'v2')})
    return git_repo


@pytest.mark.parametrize(
    'name', ['diff', 'history', 'promote', 'status', 'drift', 'mark-deployed', 'action']
)
def test_help_loads(run_cli: RunCli, name: str) -> None:
    result = run_cli(name, '--help')
    assert result.exit_code == 0
    assert 'Usage:' in result.stdout


def test_exit_code_flag(repo: GitRepo, run_cli: RunCli) -> None:
    assert run_cli('diff', 'HEAD', cwd=repo.path).exit_code == 0
    assert run_cli('diff', 'HEAD', '--exit-code', cwd=repo.path).exit_code == 1
    repo.commit()
    assert run_cli('diff', 'HEAD', '--exit-code', cwd=repo.path).exit_code == 0


def test_text_output(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('diff', 'HEAD', cwd=repo.path)
    assert '~ image: v1 → v2' in result.stdout
    assert 'values/common.yaml: dev, prod' in result.stdout  # shared input listed
    assert '\033[' not in result.stdout
    coloured = run_cli('--color', 'always', 'diff', 'HEAD', cwd=repo.path)
    assert '\033[33m~\033[0m' in coloured.stdout


def test_a_text_file_shows_how_it_changed_never_a_null_value(
    git_repo: GitRepo, run_cli: RunCli
) -> None:
    git_repo.commit({**FILES, 'templates/gone.txt': 'bye\n', 'templates/notes.txt': 'a\n'})
    git_repo.write({'templates/notes.txt': 'b\n', 'templates/new.txt': 'hello\n'})
    (git_repo.path / 'templates/gone.txt').unlink()
    out = run_cli('diff', 'HEAD', '--env', 'dev', cwd=git_repo.path).stdout
    assert '    + (whole document)  (file added)\n' in out
    assert '    - (whole document)  (file removed)\n' in out
    assert '    ~ (whole document)  (text: +1 -1 lines)\n' in out
    assert 'null' not in out


def test_json_is_deterministic_and_shaped(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('GITOPS_CONFIG_FINGERPRINT_KEY', 'fixed')
    first = run_cli('diff', 'HEAD', '--format', 'json', cwd=repo.path).stdout
    second = run_cli('diff', 'HEAD', '--format', 'json', cwd=repo.path).stdout
    assert first == second
    data = json.loads(first)
    assert set(data) == {
        'version',
        'status',
        'base',
        'head',
        'sealed',
        'fingerprints',
        'environments',
    }
    dev = data['environments'][0]
    assert set(dev) == {
        'name',
        'status',
        'summary',
        'causes',
        'errors',
        'changes',
        'ignored',
        'findings',
    }
    assert dev['changes'] == [
        {
            'file': 'app.yaml',
            'document': None,
            'path': 'image',
            'kind': 'changed',
            'old': 'v1',
            'new': 'v2',
            'secret': False,
            'detail': None,
        }
    ]
    assert dev['causes'] == [{'path': 'values/common.yaml', 'kind': 'layer'}]


def test_markdown_output(repo: GitRepo, run_cli: RunCli) -> None:
    out = run_cli('diff', 'HEAD', '--format', 'markdown', cwd=repo.path).stdout
    assert out.startswith('### gitops-config diff')
    assert '<details><summary><b>prod</b>' in out
    assert '| `app.yaml` | `image` |' in out


def test_unknown_base_exits_3_with_hint(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('diff', 'nope', cwd=repo.path)
    assert result.exit_code == 3
    assert "revision 'nope' not found" in result.stderr
    assert 'hint:' in result.stderr


def test_env_filter(repo: GitRepo, run_cli: RunCli) -> None:
    data = json.loads(run_cli('diff', 'HEAD', '-e', 'prod', '-f', 'json', cwd=repo.path).stdout)
    assert [e['name'] for e in data['environments']] == ['prod']


def test_module_entry_point(repo: GitRepo) -> None:
    proc = subprocess.run(
        [sys.executable, '-m', 'gitops_config', 'diff', 'HEAD', '--exit-code'],
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert 'image: v1 → v2' in proc.stdout


def test_validate_adds_findings_to_the_summary(git_repo: GitRepo, run_cli: RunCli) -> None:
    schema = '{"type": "object", "properties": {"replicas": {"maximum": 2}}}'
    project = text('gitops-config.yaml') + (
        'schemas:\n  rendered:\n    - {files: app.yaml, schema: schemas/app.json}\n'
    )
    git_repo.commit({**FILES, 'gitops-config.yaml': project, 'schemas/app.json': schema})
    git_repo.write({'values/dev.yaml': 'app:\n  replicas: 5\n'})
    data = json.loads(run_cli('diff', 'HEAD', '--validate', '-f', 'json', cwd=git_repo.path).stdout)
    dev = data['environments'][0]
    assert dev['summary']['findings'] == 1
    assert dev['findings'][0]['rule'] == 'schema'


def test_unknown_environment_is_a_usage_error(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('diff', 'HEAD', '-e', 'qa', cwd=repo.path)
    assert result.exit_code == 2
    assert "unknown environment 'qa'" in result.stderr


def test_text_block_change_shows_its_lines(git_repo: GitRepo, run_cli: RunCli) -> None:
    git_repo.commit({**FILES, 'templates/run.yaml.j2': 'script: |\n  set -e\n  echo one\n'})
    git_repo.write({'templates/run.yaml.j2': 'script: |\n  set -e\n  echo two\n'})
    out = run_cli('diff', 'HEAD', '-e', 'dev', cwd=git_repo.path).stdout
    assert '~ script:\n' in out
    assert '        -echo one\n        +echo two\n' in out
