"""`--ref` answers from the commit, in any clone (issue 11, item 6).

Everything read for a revision comes from that revision's tree: values, templates,
`.sops.yaml`, schemas, policies and the project file. Each test changes every input
in the working tree after the commit, and checks that each command given a revision
still gives the commit's answer; the same commands work in a `git clone --bare`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyrage
import pytest

from gitops_config import sops
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli

# The commit's recipients, and the ones the working tree switches to.
COMMITTED = pyrage.x25519.Identity.generate()
WORKING = pyrage.x25519.Identity.generate()

PROJECT = """\
version: 1
environments:
  - name: dev
    layers: [values/common.yaml, values/dev.yaml, secrets/dev.enc.yaml]
  - name: prod
    layers: [values/common.yaml, values/prod.yaml]
templates: templates
output: rendered/{env}
schemas:
  values:
    - {files: "values/*.yaml", schema: schemas/values.json}
policies:
  paths: [policies]
"""

SCHEMA = {
    'type': 'object',
    'properties': {'app': {'type': 'object', 'properties': {'replicas': {'type': 'integer'}}}},
}

POLICY = """\
rules:
  - id: local/replicas-cap
    severity: error
    message: too many replicas
    match: {files: [config.yaml]}
    expr: doc.replicas <= {cap}
"""


def _files(replicas: int, recipient: str, cap: int) -> dict[str, str | bytes | None]:
    return {
        'values/common.yaml': 'app:\n  name: gateway\n',
        'values/dev.yaml': f'app:\n  replicas: {replicas}\n',
        'values/prod.yaml': f'app:\n  replicas: {replicas + 1}\n',
        'templates/config.yaml.j2': 'name: {{ app.name }}\nreplicas: {{ app.replicas }}\n',
        'templates/secret.yaml.j2': "upstream: {{ token | default('none') }}\n",
        '.sops.yaml': f'creation_rules:\n  - path_regex: ^rendered/.*\n    age: {recipient}\n',
        'schemas/values.json': json.dumps(SCHEMA),
        'policies/local.yaml': POLICY.replace('{cap}', str(cap)),
    }


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """Two commits (replicas 1, then 2), then every input changed, uncommitted: values
    (replicas 7), templates, .sops.yaml (another recipient), the schema (replicas must
    be a string), the policy (cap 0) and the project file (one more environment)."""
    monkeypatch.setenv('SOPS_AGE_KEY', f'{COMMITTED}\n{WORKING}')
    secret = sops.encrypt_text(
        'token: sk-dev-0123456789abcdef\n', 'secrets/dev.enc.yaml', age=[str(COMMITTED.to_public())]
    )
    git_repo.commit(
        {
            'gitops-config.yaml': PROJECT,
            'secrets/dev.enc.yaml': secret,
            **_files(1, str(COMMITTED.to_public()), 5),
        },
        'one replica',
    )
    git_repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'}, 'two replicas')
    git_repo.write(
        {
            **_files(7, str(WORKING.to_public()), 0),
            'gitops-config.yaml': PROJECT.replace(
                'environments:\n',
                (
                    'environments:\n  - name: qa\n'
                    '    layers: [values/common.yaml, values/dev.yaml]\n'
                ),
            ),
            'templates/config.yaml.j2': 'name: {{ app.name }}\nreplicas: {{ app.replicas }}\n'
            'edited: true\n',
            'schemas/values.json': json.dumps(
                {'properties': {'app': {'properties': {'replicas': {'type': 'string'}}}}}
            ),
        }
    )
    return git_repo


def _bare(repo: GitRepo, tmp_path: Path) -> Path:
    bare = tmp_path / 'bare.git'
    subprocess.run(['git', 'clone', '-q', '--bare', str(repo.path), str(bare)], check=True)
    return bare


@pytest.fixture(params=['working tree', 'bare clone'])
def where(request: pytest.FixtureRequest, repo: GitRepo, tmp_path: Path) -> Path:
    """Where the commands run: the dirty checkout, or a bare clone of it."""
    return repo.path if request.param == 'working tree' else _bare(repo, tmp_path)


def _recipients(encrypted: bytes) -> list[str]:
    return sorted(sops.recipients(encrypted))


def test_render_ref_renders_and_encrypts_as_the_commit_says(
    where: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    out = tmp_path / 'out'
    result = run_cli('render', '--ref', 'HEAD', '--out', str(out), cwd=where)
    assert result.exit_code == 0, result.output
    assert (out / 'dev' / 'config.yaml').read_text() == 'name: gateway\nreplicas: 2\n'
    assert _recipients((out / 'dev' / 'secret.yaml').read_bytes()) == [str(COMMITTED.to_public())]
    assert sorted(p.name for p in out.iterdir()) == ['dev', 'prod']


def test_render_ref_sealed_in_a_bare_clone(
    repo: GitRepo,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = _bare(repo, tmp_path)
    result = run_cli('render', '--ref', 'HEAD', '--sealed', '--out', str(tmp_path / 'o'), cwd=bare)
    assert result.exit_code == 0, result.output
    assert _recipients((tmp_path / 'o' / 'dev' / 'secret.yaml').read_bytes()) == [
        str(COMMITTED.to_public())
    ]


def test_get_and_explain_ref_read_the_commit(where: Path, run_cli: RunCli) -> None:
    result = run_cli('get', 'dev', 'app.replicas', '--ref', 'HEAD~1', cwd=where)
    assert (result.exit_code, result.stdout) == (0, '1\n'), result.output
    result = run_cli('explain', 'dev', 'app.replicas', '--ref', 'HEAD', cwd=where)
    assert result.exit_code == 0, result.output
    assert 'app.replicas = 2' in result.stdout
    assert 'values/dev.yaml:2:' in result.stdout
    result = run_cli('get', 'qa', 'app', '--ref', 'HEAD', cwd=where)
    assert result.exit_code == 2  # qa exists only in the working tree's project file
    result = run_cli('status', '--ref', 'HEAD', cwd=where)
    assert (result.exit_code, result.stdout.splitlines()[0]) == (0, 'dev -> prod: up to date')


def test_validate_ref_uses_the_commits_schemas_and_policies(where: Path, run_cli: RunCli) -> None:
    result = run_cli('validate', '--ref', 'HEAD', '--format', 'json', cwd=where)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)['findings'] == []


def test_the_working_tree_gives_another_answer(repo: GitRepo, run_cli: RunCli) -> None:
    """The same commands without --ref see every change: the tests above can fail."""
    result = run_cli('validate', '--format', 'json', cwd=repo.path)
    assert result.stdout.startswith('{'), result.output
    rules = {f['rule'] for f in json.loads(result.stdout)['findings']}
    assert {'schema', 'local/replicas-cap'} <= rules, result.output
    assert run_cli('get', 'dev', 'app.replicas', cwd=repo.path).stdout == '7\n'


def test_diff_and_history_read_the_commits(where: Path, run_cli: RunCli) -> None:
    result = run_cli('diff', 'HEAD~1', 'HEAD', '--format', 'json', cwd=where)
    assert result.exit_code == 0, result.output
    changed = [
        (e['name'], c['file'], c['path'], c['old'], c['new'])
        for e in json.loads(result.stdout)['environments']
        for c in e['changes']
    ]
    assert changed == [('dev', 'config.yaml', 'replicas', 1, 2)]
    result = run_cli('history', 'dev', 'app.replicas', '--format', 'json', cwd=where)
    assert result.exit_code == 0, result.output
    assert [(e['old'], e['new']) for e in json.loads(result.stdout)['entries']] == [
        (1, 2),
        (None, 1),
    ]


def test_drift_ref_compares_with_the_commits_render(
    where: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    live = tmp_path / 'config.yaml'
    live.write_text('name: gateway\nreplicas: 2\n')
    result = run_cli('drift', 'dev', '--live', str(live), '--ref', 'HEAD', cwd=where)
    assert result.exit_code == 0, result.output
    assert 'no drift' in result.stdout
    live.write_text('name: gateway\nreplicas: 3\n')
    result = run_cli('drift', 'dev', '--live', str(live), '--ref', 'HEAD', cwd=where)
    assert result.exit_code == 1, result.output


def test_a_sops_config_above_the_project_is_read_from_the_commit_too(
    git_repo: GitRepo, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A monorepo: .sops.yaml at the top, the project in config/, rules matching paths
    from the top (as sops reads them); nothing above the repository is read."""
    monkeypatch.setenv('SOPS_AGE_KEY', f'{COMMITTED}\n{WORKING}')
    secret = sops.encrypt_text(
        'token: sk-dev-0123456789abcdef\n', 'secrets/dev.enc.yaml', age=[str(COMMITTED.to_public())]
    )
    files = {f'config/{k}': v for k, v in _files(1, '', 5).items() if k != '.sops.yaml'}
    rules = 'creation_rules:\n  - path_regex: ^config/rendered/.*\n    age: {}\n'
    git_repo.commit(
        {
            **files,
            'config/gitops-config.yaml': PROJECT,
            'config/secrets/dev.enc.yaml': secret,
            '.sops.yaml': rules.format(COMMITTED.to_public()),
        }
    )
    git_repo.write({'.sops.yaml': rules.format(WORKING.to_public())})
    (tmp_path / '.sops.yaml').write_text(rules.format(WORKING.to_public()))  # not ours
    project = git_repo.path / 'config'
    for ref, recipient in ((['--ref', 'HEAD'], COMMITTED), ([], WORKING)):
        out = tmp_path / f'out{len(ref)}'
        result = run_cli('render', '--env', 'dev', '--out', str(out), *ref, cwd=project)
        assert result.exit_code == 0, result.output
        assert _recipients((out / 'dev' / 'secret.yaml').read_bytes()) == [
            str(recipient.to_public())
        ]
    (git_repo.path / '.sops.yaml').unlink()
    result = run_cli('render', '--env', 'dev', '--out', str(tmp_path / 'o'), cwd=project)
    assert result.exit_code == 3
    assert 'no .sops.yaml found in the working tree' in result.stderr
