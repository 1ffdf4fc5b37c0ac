from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests._helpers.git_repo import GitRepo
from tests._helpers.keys import use_keys
from tests._helpers.review import FILES
from tests._helpers.review import text
from tests.conftest import RunCli

LIVE_PROD = (
    'image: v1\nreplicas: 3\nbuild: 1\nmodels: [{"name": "a", "rpm": 10}, '
    '{"name": "b", "rpm": 20}]\n'
)


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(FILES, 'init')
    git_repo.commit({'values/prod.yaml': 'app:\n  replicas: 3\n  note: x\n'}, 'unrelated')
    return git_repo


def _configmap(tmp_path: Path, body: str) -> Path:
    indented = ''.join(f'    {line}\n' for line in body.splitlines())
    path = tmp_path / 'cm.yaml'
    path.write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n'
        f'  resourceVersion: "123"\ndata:\n  app.yaml: |\n{indented}'
    )
    return path


def test_live_folder_in_sync(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    live = tmp_path / 'live'
    live.mkdir()
    (live / 'app.yaml').write_text(LIVE_PROD)
    (live / 'notes.txt').write_text('plain text\n')
    result = run_cli('drift', 'prod', '--live', str(live), cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert 'no drift' in result.stdout


def test_drifted_key_shows_both_values_and_last_commit(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
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
    cmd = (
        f'{shlex.quote(sys.executable)} -c "import sys; print(open(sys.argv[1]).read())" '
        f'{shlex.quote(str(path))}'
    )
    result = run_cli('drift', 'prod', '--live-cmd', cmd, '--format', 'markdown', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert '`models[name=b].rpm`' in result.stdout
    assert '`99`' in result.stdout


def test_plain_yaml_from_a_command_stands_for_the_file_named_by_as(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    # e.g. a proxy's own /config endpoint: plain YAML, no Kubernetes object around it
    path = tmp_path / 'live-config.yaml'
    path.write_text(LIVE_PROD.replace('replicas: 3', 'replicas: 4'))
    cmd = (
        f'{shlex.quote(sys.executable)} -c "import sys; print(open(sys.argv[1]).read())" '
        f'{shlex.quote(str(path))}'
    )
    result = run_cli('drift', 'prod', '--live-cmd', cmd, cwd=repo.path)
    assert result.exit_code == 3
    assert 'holds no Kubernetes object' in result.stderr
    assert '--as FILE' in result.stderr
    result = run_cli(
        'drift', 'prod', '--live-cmd', cmd, '--as', 'app.yaml', '--format', 'json', cwd=repo.path
    )
    assert result.exit_code == 1, result.output
    [change] = json.loads(result.stdout)['changes']
    assert (change['path'], change['desired'], change['live']) == ('replicas', 3, 4)


def test_desired_state_is_the_deployed_commit(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    assert run_cli('mark-deployed', 'prod', cwd=repo.path).exit_code == 0
    repo.commit({'values/prod.yaml': 'app:\n  replicas: 8\n'}, 'not deployed yet')
    live = tmp_path / 'app.yaml'
    live.write_text(LIVE_PROD)
    assert run_cli('drift', 'prod', '--live', str(live), cwd=repo.path).exit_code == 0
    head = run_cli('drift', 'prod', '--live', str(live), '--ref', 'HEAD', cwd=repo.path)
    assert head.exit_code == 1
    assert 'replicas: 8 → 3' in head.stdout


def test_ignore_rules_apply_to_drift(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    project = text('gitops-config.yaml').replace('path: app.build_id', 'path: build')
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


def test_live_object_compared_on_declared_fields_only(
    git_repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    deployment = (
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n'
        'spec:\n  replicas: {{ app.replicas }}\n'
    )
    git_repo.commit({**FILES, 'templates/deploy.yaml.j2': deployment})
    live = tmp_path / 'live.yaml'
    live.write_text(
        'apiVersion: v1\nkind: List\nitems:\n'
        '  - apiVersion: apps/v1\n    kind: Deployment\n'
        '    metadata: {name: app, uid: abc, resourceVersion: "9"}\n'
        '    spec: {replicas: 4, strategy: {type: RollingUpdate}}\n'
        '    status: {readyReplicas: 4}\n'
    )
    result = run_cli('drift', 'prod', '--live', str(live), '-f', 'json', cwd=git_repo.path)
    assert result.exit_code == 1, result.output
    changes = json.loads(result.stdout)['changes']
    assert [(c['document'], c['path'], c['desired'], c['live']) for c in changes] == [
        ('Deployment/app', 'spec.replicas', 3, 4)
    ]


EXAMPLE = Path(__file__).resolve().parents[1] / 'example-repo'
EXAMPLE_KEYS = (
    EXAMPLE / 'keys/demo-dev.agekey',
    *sorted((Path(__file__).parent / 'fixtures/example-repo-keys').glob('*.agekey')),
)


@pytest.fixture
def example(git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """example-repo committed, with the keys of all three environments at hand."""
    shutil.copytree(
        EXAMPLE, git_repo.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns('out')
    )
    git_repo.commit(message='example')
    keys = tmp_path / 'all.agekey'
    keys.write_text(''.join(k.read_text() for k in EXAMPLE_KEYS))
    use_keys(monkeypatch, keys)
    return git_repo


def _no_drift(run_cli: RunCli, repo: GitRepo, env: str, live: Path) -> str:
    result = run_cli('drift', env, '--live', str(live), cwd=repo.path)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.endswith(': no drift'), result.stdout
    assert 'sops' not in result.stdout
    return result.stdout


@pytest.mark.parametrize('env', ['dev', 'staging', 'prod'])
def test_the_tools_own_render_is_no_drift(
    example: GitRepo, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    """render --out X, then drift --live X/ENV: nothing, with and without keys; the same
    for a copy of the committed rendered/ENV."""
    out = tmp_path / 'out'
    result = run_cli('render', '--env', env, '--out', str(out), cwd=example.path)
    assert result.exit_code == 0, result.output
    committed = tmp_path / 'committed'
    shutil.copytree(example.path / 'rendered' / env, committed)
    for live in (out / env, committed):
        assert 'not compared' not in _no_drift(run_cli, example, env, live)
    use_keys(monkeypatch, None)
    for live in (out / env, committed):
        assert '5 secret(s) not compared (no key)' in _no_drift(run_cli, example, env, live)


def test_drift_says_so_and_exits_1_only_when_there_is_drift(
    example: GitRepo, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / 'staging'
    shutil.copytree(example.path / 'rendered/staging', live)
    config = live / 'litellm/config.yaml'
    config.write_text(config.read_text().replace('rpm: 60\n', 'rpm: 61\n', 1))
    for keys in ('with', 'without'):
        if keys == 'without':
            use_keys(monkeypatch, None)
        result = run_cli('drift', 'staging', '--live', str(live), cwd=example.path)
        assert result.exit_code == 1, (keys, result.output)
        assert result.stdout.splitlines()[0].endswith(': drift')
        assert 'litellm_params.rpm: 60 → 61' in result.stdout


def test_reference_values_are_not_secrets(
    example: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    """`api_key: os.environ/OPENAI_API_KEY` is a reference: compared, never 'became a
    secret'; a real key put in its place is drift, masked."""
    live = tmp_path / 'config.yaml'
    text = (example.path / 'rendered/dev/litellm/config.yaml').read_text()
    live.write_text(text)
    _no_drift(run_cli, example, 'dev', live)
    planted = 'sk-live-planted-0123456789abcdef'
    live.write_text(text.replace('os.environ/ANTHROPIC_API_KEY', planted, 1))
    result = run_cli('drift', 'dev', '--live', str(live), cwd=example.path)
    assert result.exit_code == 1
    assert planted not in result.output
    [line] = [x for x in result.stdout.splitlines() if 'api_key' in x]
    assert 'os.environ' not in line  # the desired side is masked beside it
    assert '**** (fp:' in line


def test_a_live_file_that_matches_nothing_is_an_error(
    example: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    stray = tmp_path / 'values.yaml'
    stray.write_text('a: 1\n')
    result = run_cli('drift', 'dev', '--live', str(stray), cwd=example.path)
    assert result.exit_code == 3
    assert 'matches nothing rendered for dev' in result.stderr
    assert 'litellm/config.yaml' in result.stderr
    assert 'Deployment/llm-gateway/litellm-proxy' in result.stderr
    out = tmp_path / 'out'
    run_cli('render', '--env', 'dev', '--out', str(out), cwd=example.path)
    result = run_cli('drift', 'dev', '--live', str(out), cwd=example.path)
    assert result.exit_code == 3
    assert f'--live {out / "dev"}' in result.stderr


def test_a_folder_is_the_whole_live_state(
    example: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    live = tmp_path / 'dev'
    shutil.copytree(example.path / 'rendered/dev', live)
    (live / 'k8s/deployment.yaml').unlink()
    (live / 'k8s/extra.yaml').write_text('kind: Job\n')
    result = run_cli('drift', 'dev', '--live', str(live), cwd=example.path)
    assert result.exit_code == 1
    assert '+ k8s/extra.yaml: not in the desired state' in result.stdout
    assert '- k8s/deployment.yaml: missing in the live state' in result.stdout


def test_an_encrypted_live_file_is_compared_by_its_sealed_shape(
    example: GitRepo, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a key: a leaf left plain where it is encrypted is drift (masked); so is a
    plain leaf edited by hand, which also breaks the file's MAC (seen with the key)."""
    rendered = (example.path / 'rendered/dev/k8s/secret.yaml').read_text()
    live = tmp_path / 'secret.yaml'
    leak = 'sk-ant-handedited-0123456789abcdef'
    lines = [
        f'    ANTHROPIC_API_KEY: {leak}' if 'ANTHROPIC_API_KEY:' in line else line
        for line in rendered.splitlines()
    ]
    live.write_text('\n'.join(lines) + '\n')
    use_keys(monkeypatch, None)
    result = run_cli('drift', 'dev', '--live', str(live), cwd=example.path)
    assert result.exit_code == 1, result.output
    assert leak not in result.output
    assert 'stringData.ANTHROPIC_API_KEY: **** (sealed) → **** (fp:' in result.stdout, result.stdout
    assert '(not encrypted in the live state)' in result.stdout
    live.write_text(rendered.replace('namespace: llm-gateway', 'namespace: default'))
    result = run_cli(
        'drift', 'dev', '--live', str(live), '--as', 'k8s/secret.yaml', cwd=example.path
    )
    assert result.exit_code == 1, result.output
    assert 'metadata.namespace: llm-gateway → default' in result.stdout
    use_keys(monkeypatch, example.path / 'keys/demo-dev.agekey')
    result = run_cli(
        'drift', 'dev', '--live', str(live), '--as', 'k8s/secret.yaml', cwd=example.path
    )
    assert result.exit_code == 1, result.output
    assert 'sops MAC mismatch: the live file was edited outside sops' in result.stdout
    assert 'metadata.namespace: llm-gateway → default' in result.stdout


def test_the_drift_workflow_fails_the_job_and_keeps_secrets_out_of_the_summary(
    example: GitRepo, shim: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """example-repo's config-drift.yml step, run as GitHub runs it (bash -eo pipefail),
    against a fake kubectl printing a cluster where someone pasted credentials."""
    import subprocess

    from gitops_config import yaml_io

    workflow = yaml_io.load((EXAMPLE / '.github/workflows/config-drift.yml').read_text(), 'wf')
    [step] = [s for s in workflow['jobs']['drift']['steps'] if 'drift' in s.get('run', '')]
    assert step['shell'] == 'bash'  # pipefail: the exit code survives `| tee`
    master, password = 'sk-live-pasted-0123456789abcdef', 'correct-horse-battery-staple'
    objects = [
        (example.path / f'rendered/prod/k8s/{name}.yaml').read_text()
        for name in ('deployment', 'configmap')
    ]
    objects[1] = (
        objects[1]
        .replace('master_key: os.environ/LITELLM_MASTER_KEY', f'master_key: {master}')
        .replace(
            'database_url: os.environ/DATABASE_URL', f'database_url: postgres://u:{password}@db/x'
        )
    )
    secret = (
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: litellm-proxy-secrets\n'
        '  namespace: llm-gateway\ntype: Opaque\ndata:\n'
        f'  LITELLM_MASTER_KEY: {base64.b64encode(master.encode()).decode()}\n'
    )
    items = [yaml_io.load(text, 'x') for text in objects] + [yaml_io.load(secret, 'x')]
    live = tmp_path / 'cluster.json'
    live.write_text(json.dumps({'apiVersion': 'v1', 'kind': 'List', 'items': items}))
    bin_dir = tmp_path / 'kubectl-bin'
    bin_dir.mkdir()
    (bin_dir / 'kubectl').write_text(f'#!/bin/sh\ncat {shlex.quote(str(live))}\n')
    (bin_dir / 'kubectl').chmod(0o755)
    summary = tmp_path / 'summary.md'
    use_keys(monkeypatch, None)
    env = {
        **os.environ,
        'PATH': f'{bin_dir}:{shim}:{os.environ["PATH"]}',
        'ENV_NAME': 'prod',
        'GITHUB_STEP_SUMMARY': str(summary),
    }
    done = subprocess.run(
        ['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c', step['run']],
        cwd=example.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    report = summary.read_text()
    assert '### prod: 🔴 drift' in report
    assert 'general_settings.master_key' in report
    for shown in (report, done.stdout, done.stderr):
        for plain in (master, password, base64.b64encode(master.encode()).decode()):
            assert plain not in shown
