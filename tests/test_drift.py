from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests._helpers.git_repo import GitRepo
from tests._helpers.review import FILES
from tests._helpers.review import text
from tests.conftest import RunCli

LIVE_PROD = 'image: v1\nreplicas: 3\nbuild: 1\nmodels: [{"name": "a", "rpm": 10}, ' \
            '{"name": "b", "rpm": 20}]\n'


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(FILES, 'init')
    git_repo.commit({'values/prod.yaml': 'app:\n  replicas: 3\n  note: x\n'}, 'unrelated')
    return git_repo


def _configmap(tmp_path: Path, body: str) -> Path:
    indented = ''.join(f'    {line}\n' for line in body.splitlines())
    path = tmp_path / 'cm.yaml'
    path.write_text('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n'
                    f'  resourceVersion: "123"\ndata:\n  app.yaml: |\n{indented}')
    return path


def test_live_folder_in_sync(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    live = tmp_path / 'live'
    live.mkdir()
    (live / 'app.yaml').write_text(LIVE_PROD)
    (live / 'notes.txt').write_text('plain text\n')
    result = run_cli('drift', 'prod', '--live', str(live), cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert 'no drift' in result.stdout


def test_drifted_key_shows_both_values_and_last_commit(repo: GitRepo, run_cli: RunCli,
                                                       tmp_path: Path) -> None:
    setter = repo.git('log', '--format=%H', '-1', '--', 'values/prod.yaml').strip()
    live = tmp_path / 'app.yaml'
    live.write_text(LIVE_PROD.replace('replicas: 3', 'replicas: 5'))
    result = run_cli('drift', 'prod', '--live', str(live), '--format', 'json', cwd=repo.path)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    [change] = data['changes']
    assert (change['path'], change['desired'], change['live']) == ('replicas', 3, 5)
    # `unrelated` touched the layer but not this value: `init` set it
    init = repo.git('rev-list', '--max-parents=0', 'HEAD').strip()
    assert change['last_set'] == init != setter


def test_configmap_from_a_command(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    path = _configmap(tmp_path, LIVE_PROD.replace('"rpm": 20', '"rpm": 99'))
    cmd = f'{shlex.quote(sys.executable)} -c "import sys; print(open(sys.argv[1]).read())" ' \
          f'{shlex.quote(str(path))}'
    result = run_cli('drift', 'prod', '--live-cmd', cmd, '--format', 'markdown', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert '`models[name=b].rpm`' in result.stdout
    assert '`99`' in result.stdout


def test_plain_yaml_from_a_command_stands_for_the_file_named_by_as(
        repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    # e.g. a proxy's own /config endpoint: plain YAML, no Kubernetes object around it
    path = tmp_path / 'live-config.yaml'
    path.write_text(LIVE_PROD.replace('replicas: 3', 'replicas: 4'))
    cmd = f'{shlex.quote(sys.executable)} -c "import sys; print(open(sys.argv[1]).read())" ' \
          f'{shlex.quote(str(path))}'
    result = run_cli('drift', 'prod', '--live-cmd', cmd, cwd=repo.path)
    assert result.exit_code == 3
    assert 'holds nothing to compare' in result.stderr
    assert '--as FILE' in result.stderr
    result = run_cli('drift', 'prod', '--live-cmd', cmd, '--as', 'app.yaml', '--format',
                     'json', cwd=repo.path)
    assert result.exit_code == 1, result.output
    [change] = json.loads(result.stdout)['changes']
    assert (change['path'], change['desired'], change['live']) == ('replicas', 3, 4)


def test_desired_state_is_the_deployed_commit(repo: GitRepo, run_cli: RunCli,
                                              tmp_path: Path) -> None:
    assert run_cli('mark-deployed', 'prod', cwd=repo.path).exit_code == 0
    repo.commit({'values/prod.yaml': 'app:\n  replicas: 8\n'}, 'not deployed yet')
    live = tmp_path / 'app.yaml'
    live.write_text(LIVE_PROD)
    assert run_cli('drift', 'prod', '--live', str(live), cwd=repo.path).exit_code == 0
    head = run_cli('drift', 'prod', '--live', str(live), '--ref', 'HEAD', cwd=repo.path)
    assert head.exit_code == 1
    assert 'replicas: 8 → 3' in head.stdout


def test_ignore_rules_apply_to_drift(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    project = text('gitops-config.yaml').replace('path: app.build_id',
                                                  'path: build')
    repo.commit({'gitops-config.yaml': project})
    live = tmp_path / 'app.yaml'
    live.write_text(LIVE_PROD.replace('build: 1', 'build: 77'))
    result = run_cli('drift', 'prod', '--live', str(live), cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert 'ignored: app.yaml build (changes on every build)' in result.stdout


def test_failing_live_command_is_a_clear_error(repo: GitRepo, run_cli: RunCli) -> None:
    cmd = f'{shlex.quote(sys.executable)} -c "import sys; sys.exit(\'no cluster\')"'
    result = run_cli('drift', 'prod', '--live-cmd', cmd, cwd=repo.path)
    assert result.exit_code == 3
    assert 'live command failed (exit 1)' in result.stderr
    assert 'no cluster' in result.stderr


def test_non_yaml_live_output_is_a_clear_error(repo: GitRepo, run_cli: RunCli) -> None:
    cmd = f'{shlex.quote(sys.executable)} -c "print(\'a: [b\')"'
    result = run_cli('drift', 'prod', '--live-cmd', cmd, cwd=repo.path)
    assert result.exit_code == 3
    assert 'not YAML or JSON' in result.stderr


def test_live_and_live_cmd_are_exclusive(repo: GitRepo, run_cli: RunCli) -> None:
    assert run_cli('drift', 'prod', cwd=repo.path).exit_code == 2


def test_live_object_compared_on_declared_fields_only(git_repo: GitRepo, run_cli: RunCli,
                                                       tmp_path: Path) -> None:
    deployment = ('apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n'
                  'spec:\n  replicas: {{ app.replicas }}\n')
    git_repo.commit({**FILES, 'templates/deploy.yaml.j2': deployment})
    live = tmp_path / 'live.yaml'
    live.write_text('apiVersion: v1\nkind: List\nitems:\n'
                    '  - apiVersion: apps/v1\n    kind: Deployment\n'
                    '    metadata: {name: app, uid: abc, resourceVersion: "9"}\n'
                    '    spec: {replicas: 4, strategy: {type: RollingUpdate}}\n'
                    '    status: {readyReplicas: 4}\n')
    result = run_cli('drift', 'prod', '--live', str(live), '-f', 'json', cwd=git_repo.path)
    assert result.exit_code == 1, result.output
    changes = json.loads(result.stdout)['changes']
    assert [(c['document'], c['path'], c['desired'], c['live']) for c in changes] == [
        ('Deployment/app', 'spec.replicas', 3, 4)]
