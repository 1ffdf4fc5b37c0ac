"""Secrets in the core: decrypted in memory, never written or printed in plaintext."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest

from gitops_config import project as project_mod
from gitops_config.pipeline import rendering
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.source import WorkTree
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli

SECRET = 'sk-test-PLANTED-0123456789abcdef'
SOPS = str(Path(sys.executable).parent / 'sops')


def _sops_encrypt(path: Path, recipient: str) -> None:
    subprocess.run(
        [SOPS, '--encrypt', '--in-place', '--age', recipient, str(path)],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def secret_project(
    project: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[GitRepo, Path]:
    """BASIC plus a prod secrets layer (encrypted by the real sops) and templates that
    use it as is, base64-encoded, and inside a longer string."""
    ident = pyrage.x25519.Identity.generate()
    key_file = tmp_path / 'keys.txt'
    key_file.write_text(f'{ident}\n')
    recipient = str(ident.to_public())
    project.write(
        {
            'secrets/prod.enc.yaml': f'api_key: {SECRET}\n',
            '.sops.yaml': f'creation_rules:\n  - path_regex: rendered/prod/.*\n'
            f'    age: {recipient}\n',
            'gitops-config.yaml': (project.path / 'gitops-config.yaml')
            .read_text()
            .replace('values/prod.yaml]', 'values/prod.yaml, secrets/prod.enc.yaml]'),
            'values/dev.yaml': 'app:\n  replicas: 1\napi_key: dev-not-secret\n',
            'templates/secret.yaml.j2': 'token: {{ api_key }}\nb64: {{ api_key | b64encode }}\n'
            'header: "Bearer {{ api_key }}"\nname: {{ app.name }}\n',
        }
    )
    _sops_encrypt(project.path / 'secrets/prod.enc.yaml', recipient)
    project.commit(message='secrets')
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(key_file))
    return project, key_file


def _render(repo: GitRepo, *, sealed: bool = False) -> dict[str, rendering.EnvRender]:
    source = WorkTree(repo.path)
    renders = rendering.render(source, project_mod.load(source, repo.path), sealed=sealed)
    return {r.env: r for r in renders}


def test_decrypted_values_travel_as_secrets(secret_project: tuple[GitRepo, Path]) -> None:
    repo, _ = secret_project
    prod = _render(repo)['prod']
    assert isinstance(prod.values.data['api_key'], Secret)
    assert SECRET not in repr(prod.values.data)
    assert SECRET not in str(prod.values.data)
    [doc] = {f.path: f for f in prod.files}['secret.yaml'].documents or []
    assert all(isinstance(doc[k], Secret) for k in ('token', 'b64', 'header'))
    assert doc['name'] == 'gateway'
    assert doc['token'] == Secret(SECRET)


def test_rendered_secrets_are_written_encrypted(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli
) -> None:
    repo, key_file = secret_project
    result = run_cli('render', cwd=repo.path)
    assert result.exit_code == 0, result.output
    written = (repo.path / 'rendered/prod/secret.yaml').read_text()
    assert SECRET not in written
    assert 'ENC[AES256_GCM' in written
    assert 'name: gateway' in written  # only the secret leaves are encrypted
    plain = subprocess.run(
        [SOPS, '-d', str(repo.path / 'rendered/prod/secret.yaml')],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, SOPS_AGE_KEY_FILE=str(key_file)),
    ).stdout
    assert f'token: {SECRET}' in plain
    assert SECRET not in result.output


def test_rerender_keeps_the_encrypted_file_byte_for_byte(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli
) -> None:
    repo, _ = secret_project
    run_cli('render', cwd=repo.path)
    first = (repo.path / 'rendered/prod/secret.yaml').read_bytes()
    run_cli('render', cwd=repo.path)
    assert (repo.path / 'rendered/prod/secret.yaml').read_bytes() == first
    assert run_cli('render', '--check', cwd=repo.path).exit_code == 0


def test_without_keys_render_names_env_file_and_recipients(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = secret_project
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    result = run_cli('render', cwd=repo.path)
    assert result.exit_code == 3
    assert 'prod: secrets/prod.enc.yaml' in result.stderr
    assert 'age1' in result.stderr
    assert '--sealed' in result.stderr
    assert not (repo.path / 'rendered').exists()


def test_sealed_renders_placeholders_and_keeps_secret_files(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = secret_project
    run_cli('render', cwd=repo.path)
    repo.commit(message='render')  # without a key, only what was committed is vouched for
    committed = (repo.path / 'rendered/prod/secret.yaml').read_bytes()
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    prod = _render(repo, sealed=True)['prod']
    [doc] = {f.path: f for f in prod.files}['secret.yaml'].documents or []
    assert isinstance(doc['token'], SealedSecret)
    result = run_cli('render', '--sealed', cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert 'rendered/prod/secret.yaml (kept' in result.stdout
    assert (repo.path / 'rendered/prod/secret.yaml').read_bytes() == committed
    assert run_cli('render', '--check', cwd=repo.path).exit_code == 0


def test_sealed_says_which_secret_files_it_could_not_write(
    secret_project: tuple[GitRepo, Path],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fresh --out folder has no file to keep: the line says it was not written."""
    repo, _ = secret_project
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    result = run_cli(
        'render', '--sealed', '--env', 'prod', '--out', str(tmp_path / 'out'), cwd=repo.path
    )
    assert result.exit_code == 0, result.output
    assert (
        f'{tmp_path}/out/prod/secret.yaml (not written: holds secrets, and --sealed has '
        'no keys)' in result.stdout
    )
    assert not (tmp_path / 'out/prod/secret.yaml').exists()


def test_decrypt_writes_plaintext_only_when_asked(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    repo, _ = secret_project
    result = run_cli('render', '--decrypt', '--out', str(tmp_path / 'plain'), cwd=repo.path)
    assert result.exit_code == 0
    assert f'token: {SECRET}' in (tmp_path / 'plain/prod/secret.yaml').read_text()


def test_get_and_explain_mask_secrets(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli
) -> None:
    repo, _ = secret_project
    shown = run_cli('get', 'prod', 'api_key', cwd=repo.path).stdout
    assert shown.startswith('**** (fp:')  # a keyed fingerprint: equal values look equal
    assert SECRET not in shown
    result = run_cli('explain', 'prod', 'api_key', cwd=repo.path)
    assert SECRET not in result.output
    assert 'secrets/prod.enc.yaml' in result.stdout


def test_get_decrypt_without_a_key_says_how_to_go_on(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`get` has no --sealed: its way on without the key is to drop --decrypt."""
    repo, _ = secret_project
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    result = run_cli('get', 'prod', 'api_key', '--decrypt', cwd=repo.path)
    assert result.exit_code == 3
    error, hint = result.stderr.splitlines()
    assert error.startswith('error: sops-no-key: prod: secrets/prod.enc.yaml: ')
    assert hint == (
        '  hint: set SOPS_AGE_KEY_FILE or import the PGP secret key into GNUPGHOME; '
        'or drop --decrypt to print the secrets masked'
    )
    assert run_cli('get', 'prod', 'api_key', cwd=repo.path).stdout.startswith('**** (')


@pytest.mark.parametrize(
    'template',
    [
        '{{ {}[api_key] }}\n',  # "has no attribute 'sk-...'"
        '{{ {}[api_key | b64encode] }}\n',
        '{{ [1][api_key ~ "-suffix"] }}\n',
    ],
)
def test_template_errors_never_quote_a_secret(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli, template: str
) -> None:
    repo, _ = secret_project
    repo.write({'templates/boom.txt.j2': template})
    result = run_cli('render', '--env', 'prod', cwd=repo.path)
    assert result.exit_code == 1
    assert 'templates/boom.txt.j2:1' in result.stderr
    assert SECRET not in result.output
    assert base64.b64encode(SECRET.encode()).decode() not in result.output


def test_secret_in_a_text_file_encrypts_the_whole_file(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli
) -> None:
    repo, key_file = secret_project
    repo.write({'templates/env.txt.j2': 'KEY={{ api_key }}\nOTHER=plain\n'})
    result = run_cli('render', cwd=repo.path)
    assert result.exit_code == 0, result.output
    written = (repo.path / 'rendered/prod/env.txt').read_text()
    assert SECRET not in written
    assert 'OTHER' not in written
    plain = subprocess.run(
        [SOPS, '-d', str(repo.path / 'rendered/prod/env.txt')],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, SOPS_AGE_KEY_FILE=str(key_file)),
    ).stdout
    assert plain == f'KEY={SECRET}\nOTHER=plain\n'
    assert run_cli('render', '--check', cwd=repo.path).exit_code == 0
    run_cli('render', cwd=repo.path)
    assert (repo.path / 'rendered/prod/env.txt').read_text() == written  # not re-encrypted


def test_secret_in_a_dotenv_file_is_refused(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli
) -> None:
    repo, _ = secret_project
    repo.write({'templates/app.env.j2': 'KEY={{ api_key }}\n'})
    result = run_cli('render', '--env', 'prod', cwd=repo.path)
    assert result.exit_code == 3
    assert 'app.env holds a secret but is neither YAML, JSON nor plain text' in result.stderr
    assert SECRET not in result.output


def test_diff_fails_when_an_environment_cannot_be_read(
    secret_project: tuple[GitRepo, Path], run_cli: RunCli
) -> None:
    repo, _ = secret_project
    layer = repo.path / 'secrets/prod.enc.yaml'
    text = layer.read_text()
    start = text.index('mac: ENC[AES256_GCM,data:') + len('mac: ENC[AES256_GCM,data:')
    layer.write_text(text[:start] + ('A' if text[start] != 'A' else 'B') + text[start + 1 :])
    result = run_cli('diff', 'HEAD', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert 'MAC' in result.output
    assert SECRET not in result.output
