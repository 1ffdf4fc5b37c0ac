"""Who can read a secret is part of the state (issue 12 item 4), and committed output of
secret files is checked, with a key by its plaintext, without one never vouched for
(issue 14 item 6). Real age keys, the real sops binary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest

from gitops_config import sops
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli

SECRET = 'sk-test-PLANTED-0123456789abcdef'
SOPS = str(Path(sys.executable).parent / 'sops')
SCHEMA = json.dumps(
    {
        'type': 'object',
        'properties': {'api_key': {'type': 'string', 'pattern': '^sk-', 'maxLength': 40}},
    }
)


def _key(path: Path) -> str:
    ident = pyrage.x25519.Identity.generate()
    path.write_text(f'{ident}\n')
    return str(ident.to_public())


def _rules(*recipients: str) -> str:
    joined = ','.join(recipients)
    return (
        f'creation_rules:\n  - path_regex: (secrets/prod\\.enc\\.yaml|rendered/prod/.*)$\n'
        f'    age: {joined}\n'
    )


def _use_key(monkeypatch: pytest.MonkeyPatch, key: Path | None) -> None:
    if key is None:
        monkeypatch.delenv('SOPS_AGE_KEY_FILE', raising=False)
    else:
        monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(key))


@pytest.fixture
def repo(
    project: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> tuple[GitRepo, Path, str]:
    """BASIC with prod's secrets encrypted (by the real sops) to key A, a template that
    writes them, and the rendered output committed."""
    key = tmp_path / 'a.txt'
    recipient = _key(key)
    project.write(
        {
            '.sops.yaml': _rules(recipient),
            'secrets/prod.enc.yaml': f'api_key: {SECRET}\n',
            'schemas/secrets.schema.json': SCHEMA,
            'gitops-config.yaml': (project.path / 'gitops-config.yaml')
            .read_text()
            .replace('values/prod.yaml]', 'values/prod.yaml, secrets/prod.enc.yaml]')
            + (
                'schemas:\n  values:\n    - files: secrets/*.enc.yaml\n'
                '      schema: schemas/secrets.schema.json\n'
            ),
            'values/dev.yaml': 'app:\n  replicas: 1\napi_key: os.environ/API_KEY\n',
            'templates/secret.yaml.j2': 'token: {{ api_key }}\nname: {{ app.name }}\n',
        }
    )
    subprocess.run(
        [
            SOPS,
            '--encrypt',
            '--in-place',
            '--age',
            recipient,
            str(project.path / 'secrets/prod.enc.yaml'),
        ],
        check=True,
        capture_output=True,
    )
    _use_key(monkeypatch, key)
    assert run_cli('render', cwd=project.path).exit_code == 0
    project.commit(message='secrets, rendered')
    return project, key, recipient


def _readers(path: Path) -> list[str]:
    return sorted(sops.recipients(path.read_bytes(), str(path)))


def test_stale_recipients_are_flagged_and_render_re_encrypts(
    repo: tuple[GitRepo, Path, str], run_cli: RunCli, tmp_path: Path
) -> None:
    git_repo, _, a = repo
    b = _key(tmp_path / 'b.txt')
    (git_repo.path / '.sops.yaml').write_text(_rules(a, b))
    assert (
        run_cli('secrets', 'updatekeys', 'secrets/prod.enc.yaml', cwd=git_repo.path).exit_code == 0
    )
    output = git_repo.path / 'rendered/prod/secret.yaml'
    result = run_cli('render', '--check', cwd=git_repo.path)
    assert result.exit_code == 1
    assert f'rendered/prod/secret.yaml: recipients differ from .sops.yaml: + {b}' in (result.stdout)
    status = run_cli(
        'secrets', 'status', 'secrets/prod.enc.yaml', 'rendered/prod/secret.yaml', cwd=git_repo.path
    )
    assert status.exit_code == 1
    assert 'rendered/prod/secret.yaml: RECIPIENTS DIFFER' in status.stdout
    assert 'secrets/prod.enc.yaml: RECIPIENTS' not in status.stdout  # updatekeys did it
    assert run_cli('render', cwd=git_repo.path).exit_code == 0
    assert _readers(output) == sorted([a, b])
    assert run_cli('render', '--check', cwd=git_repo.path).exit_code == 0
    # the new reader really can: the real sops opens it with B's key alone
    plain = subprocess.run(
        [SOPS, '--decrypt', str(output)],
        check=True,
        capture_output=True,
        env={**os.environ, 'SOPS_AGE_KEY_FILE': str(tmp_path / 'b.txt')},
    )
    assert SECRET.encode() in plain.stdout


@pytest.mark.parametrize('keyed', [True, False])
def test_diff_and_comment_show_who_can_read_each_file(
    repo: tuple[GitRepo, Path, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keyed: bool,
) -> None:
    git_repo, _, a = repo
    base = git_repo.git('rev-parse', 'HEAD').strip()
    b = _key(tmp_path / 'b.txt')
    git_repo.write({'.sops.yaml': _rules(b)})  # A loses access, B gains it
    assert (
        run_cli('secrets', 'updatekeys', 'secrets/prod.enc.yaml', cwd=git_repo.path).exit_code == 0
    )
    _use_key(monkeypatch, tmp_path / 'b.txt')
    assert run_cli('render', cwd=git_repo.path).exit_code == 0
    head = git_repo.commit(message='hand prod to B')
    _use_key(monkeypatch, tmp_path / 'b.txt' if keyed else None)
    data = json.loads(run_cli('diff', base, head, '-f', 'json', cwd=git_repo.path).stdout)
    prod = data['environments'][1]
    readers = {c['file']: c['detail'] for c in prod['changes'] if c['path'] == 'sops.recipients'}
    assert readers == {
        'secrets/prod.enc.yaml': f'+ {b} - {a}',
        'rendered/prod/secret.yaml': f'+ {b} - {a}',
    }
    assert prod['status'] == 'changed', prod['errors']
    markdown = run_cli('diff', base, head, '-f', 'markdown', cwd=git_repo.path).stdout
    assert f'+ {b} - {a}' in markdown
    text = run_cli('diff', base, head, cwd=git_repo.path).stdout
    assert 'secrets/prod.enc.yaml' in text
    assert f'+ {b} - {a}' in text


def test_can_decrypt_is_a_pre_flight_check(
    repo: tuple[GitRepo, Path, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo, _, _ = repo
    result = run_cli('secrets', 'status', '--can-decrypt', cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert 'secrets/prod.enc.yaml: encrypted, MAC ok' in result.stdout
    _use_key(monkeypatch, None)
    result = run_cli('secrets', 'status', '--can-decrypt', cwd=git_repo.path)
    assert result.exit_code == 1
    assert 'secrets/prod.enc.yaml: CANNOT DECRYPT with the keys at hand' in result.stdout
    # without --can-decrypt a missing key is no failure
    assert run_cli('secrets', 'status', 'secrets/prod.enc.yaml', cwd=git_repo.path).exit_code == 0


def test_schema_rules_check_a_secret_s_plaintext_or_say_they_were_skipped(
    repo: tuple[GitRepo, Path, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo, _, _ = repo
    result = run_cli('validate', '-f', 'json', cwd=git_repo.path)
    assert result.exit_code == 0, result.output  # ENC[...] would fail ^sk- and maxLength
    assert json.loads(result.stdout)['findings'] == []
    run_cli(
        'secrets',
        'set',
        'secrets/prod.enc.yaml',
        'api_key',
        'pk-WRONG-PLANTED-value',
        cwd=git_repo.path,
    )
    result = run_cli('validate', cwd=git_repo.path)
    assert result.exit_code == 1
    assert 'secrets/prod.enc.yaml:1:' in result.stdout
    assert 'api_key' in result.stdout
    assert 'does not match' in result.stdout
    assert 'PLANTED' not in result.output
    _use_key(monkeypatch, None)
    result = run_cli('validate', '--sealed', cwd=git_repo.path)
    assert result.exit_code == 0  # not failed: but not passed either
    assert 'skipped 1 secret value(s) not checked against the schema' in result.stdout
    assert '1 not checked' in result.stdout


def test_plaintext_secrets_in_committed_output_are_an_error(
    repo: tuple[GitRepo, Path, str], run_cli: RunCli
) -> None:
    git_repo, _, _ = repo
    assert run_cli('render', '--decrypt', cwd=git_repo.path).exit_code == 0
    output = git_repo.path / 'rendered/prod/secret.yaml'
    assert SECRET in output.read_text()
    assert output.stat().st_mode & 0o777 == 0o600
    result = run_cli('render', '--check', cwd=git_repo.path)
    assert result.exit_code == 1
    assert 'rendered/prod/secret.yaml: holds secrets in plaintext' in result.stdout
    hook = run_cli('hook', 'render-check', 'rendered/prod/secret.yaml', cwd=git_repo.path)
    assert hook.exit_code == 1
    result = run_cli('validate', cwd=git_repo.path)
    assert result.exit_code == 1
    assert 'rendered/prod/secret.yaml:1:1' in result.stdout
    assert 'holds secrets, but the committed file is not encrypted' in result.stdout
    assert SECRET not in result.output


def test_an_output_re_encrypted_without_the_key_is_never_vouched_for(
    repo: tuple[GitRepo, Path, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo, key, a = repo
    base = git_repo.git('rev-parse', 'HEAD').strip()
    output = git_repo.path / 'rendered/prod/secret.yaml'
    # the attacker: no private key, only the public recipient from .sops.yaml
    _use_key(monkeypatch, None)
    output.write_text('token: sk-chosen-by-the-attacker-000000\nname: gateway\n')
    subprocess.run(
        [
            SOPS,
            '--encrypt',
            '--in-place',
            '--age',
            a,
            '--encrypted-regex',
            '^(token)$',
            str(output),
        ],
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != 'SOPS_AGE_KEY_FILE'},
    )
    for args in (('render', '--check'), ('hook', 'render-check', 'rendered/prod/secret.yaml')):
        result = run_cli(*args, cwd=git_repo.path)
        assert result.exit_code == 1, args
        assert 'rendered/prod/secret.yaml: changed, unverifiable without a key' in (result.stdout)
    head = git_repo.commit(message='forged')
    result = run_cli('render', '--check', '--ref', head, cwd=git_repo.path)  # against its parent
    assert result.exit_code == 1
    assert 'unverifiable without a key' in result.stdout
    data = json.loads(run_cli('diff', base, head, '-f', 'json', cwd=git_repo.path).stdout)
    prod = data['environments'][1]
    assert prod['status'] == 'changed'  # never 'skipped' or 'unchanged'
    [change] = prod['changes']
    assert change['file'] == 'rendered/prod/secret.yaml'
    assert 'unverifiable without a key' in change['detail']
    comment = run_cli('diff', base, head, '-f', 'markdown', cwd=git_repo.path).stdout
    assert 'unverifiable without a key' in comment
    # with the key: the plaintext is compared, and does not match
    _use_key(monkeypatch, key)
    result = run_cli('render', '--check', cwd=git_repo.path)
    assert result.exit_code == 1
    assert 'rendered/prod/secret.yaml: changed' in result.stdout
    data = json.loads(run_cli('diff', base, head, '-f', 'json', cwd=git_repo.path).stdout)
    [error] = data['environments'][1]['errors']
    assert 'rendered/prod/secret.yaml: committed output does not match its inputs' in error
    assert 'attacker' not in json.dumps(data)


def test_keys_sops_yaml_names_only_in_part_are_not_compared(tmp_path: Path) -> None:
    from gitops_config import recipients
    from gitops_config.project import Project
    from gitops_config.source import WorkTree

    (tmp_path / '.sops.yaml').write_text(
        'creation_rules:\n'
        '  - path_regex: vault/.*\n'
        '    hc_vault_transit_uri: https://vault.example.com:8200/v1/transit/keys/app\n'
        '  - path_regex: age/.*\n'
        '    age: age1ykg3e4n2p72dcmq44mjtcrnp0y7du6lkth9gzxw2l45y5e07t5lsttnnve\n'
    )
    source, project = WorkTree(tmp_path), Project.empty(tmp_path)
    assert recipients.expected(source, project, 'vault/x.yaml') is None  # no opinion
    assert recipients.expected(source, project, 'age/x.yaml') == (
        'age1ykg3e4n2p72dcmq44mjtcrnp0y7du6lkth9gzxw2l45y5e07t5lsttnnve',
    )
    assert recipients.expected(source, project, 'other/x.yaml') is None
