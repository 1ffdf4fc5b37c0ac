"""`gitops-config secrets ...` end to end, with real sops, gpg and git."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result

from gitops_config.cli.main import cli
from tests._helpers.git_repo import GitRepo
from tests.sops.conftest import AgeKey
from tests.sops.conftest import age_keys  # noqa: F401  # fixtures shared with tests/sops
from tests.sops.conftest import gnupg_home  # noqa: F401
from tests.sops.conftest import sops
from tests.sops.conftest import sops_env  # noqa: F401
from tests.sops.conftest import write_rules

PLAIN = 'db:\n    user: admin\n    password: hunter2\nreplicas: 3\n'


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ['secrets', *args], catch_exceptions=False)


@pytest.fixture
def rules(
    tmp_path: Path,
    age_keys: tuple[AgeKey, AgeKey],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_rules(
        tmp_path,
        f'creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {age_keys[0].recipient}\n',
    )


@pytest.fixture
def secret_file(tmp_path: Path, rules: Path) -> Path:
    path = tmp_path / 'app.enc.yaml'
    path.write_text(PLAIN)
    assert run('encrypt', '-i', str(path)).exit_code == 0
    return path


def test_keygen_writes_a_private_identity(tmp_path: Path) -> None:
    out = tmp_path / 'keys' / 'me.txt'
    result = run('keygen', '--output', str(out))
    assert result.exit_code == 0
    assert result.stdout.startswith('age1')
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert 'AGE-SECRET-KEY-1' in out.read_text()
    assert 'AGE-SECRET-KEY' not in result.stdout
    assert run('keygen', '--output', str(out)).exit_code == 3  # never overwrites


def test_keygen_default_goes_to_the_sops_keys_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'cfg'))
    result = run('keygen')
    keys = tmp_path / 'cfg' / 'sops' / 'age' / 'keys.txt'
    assert result.exit_code == 0
    assert f'# public key: {result.stdout.strip()}' in keys.read_text()


def test_encrypt_in_place_then_decrypt(secret_file: Path, tmp_path: Path) -> None:
    text = secret_file.read_text()
    assert 'hunter2' not in text
    assert 'sops:' in text
    result = run('decrypt', str(secret_file))
    assert result.exit_code == 0
    assert result.stdout == PLAIN
    assert sops('decrypt', str(secret_file)).decode() == PLAIN


def test_decrypt_output_file_is_private(secret_file: Path, tmp_path: Path) -> None:
    out = tmp_path / 'plain.yaml'
    assert run('decrypt', str(secret_file), '--output', str(out)).exit_code == 0
    assert out.read_text() == PLAIN
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_decrypt_several_files_to_a_directory(secret_file: Path, tmp_path: Path) -> None:
    other = tmp_path / 'other.enc.yaml'
    other.write_bytes(secret_file.read_bytes())
    other = other.rename(tmp_path / 'copy.enc.yaml')
    result = run('decrypt', '--output-dir', str(tmp_path / 'out'), str(secret_file), str(other))
    assert result.exit_code == 0
    assert (tmp_path / 'out' / 'app.enc.yaml').read_text() == PLAIN
    assert (tmp_path / 'out' / 'copy.enc.yaml').read_text() == PLAIN


def test_decrypt_in_place_keeps_mode(secret_file: Path) -> None:
    secret_file.chmod(0o640)
    assert run('decrypt', '-i', str(secret_file)).exit_code == 0
    assert secret_file.read_text() == PLAIN
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o640


def test_edit_with_editor(
    secret_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / 'editor.sh'
    editor.write_text('#!/bin/sh\nsed -i "s/replicas: 3/replicas: 4/" "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv('EDITOR', str(editor))
    before = secret_file.read_text().splitlines()
    assert run('edit', str(secret_file)).exit_code == 0
    after = secret_file.read_text().splitlines()
    assert [
        a.split(':')[0]
        for a, b in zip(before, after, strict=True)
        if a != b and 'lastmodified' not in a
    ] == ['replicas', '    mac']
    assert b'replicas: 4' in sops('decrypt', str(secret_file))


def test_set_yaml_and_string_values(secret_file: Path) -> None:
    assert run('set', str(secret_file), 'db.port', '5432').exit_code == 0
    assert run('set', str(secret_file), 'db.tag', '--string', '5432').exit_code == 0
    plain = sops('decrypt', str(secret_file)).decode()
    assert '    port: 5432\n    tag: "5432"\n' in plain
    assert ',type:int]' in secret_file.read_text()


def test_rotate_and_updatekeys(
    secret_file: Path,
    rules: Path,
    age_keys: tuple[AgeKey, AgeKey],  # noqa: F811
) -> None:
    before = secret_file.read_text()
    assert run('rotate', str(secret_file)).exit_code == 0
    assert secret_file.read_text() != before
    assert sops('decrypt', str(secret_file)).decode() == PLAIN
    rules.write_text(f'creation_rules:\n  - age: {age_keys[1].recipient}\n')
    result = run('updatekeys', str(secret_file))
    assert result.exit_code == 0
    text = secret_file.read_text()
    assert age_keys[1].recipient in text
    assert age_keys[0].recipient not in text
    assert (
        sops('decrypt', str(secret_file), env={'SOPS_AGE_KEY_FILE': str(age_keys[1].file)}).decode()
        == PLAIN
    )


def test_status(secret_file: Path, tmp_path: Path) -> None:
    plain_needed = tmp_path / 'new.enc.yaml'
    plain_needed.write_text(PLAIN)
    plain_ok = tmp_path / 'values.json'
    plain_ok.write_text('{}')
    result = run('status', str(secret_file), str(plain_ok))
    assert result.exit_code == 0
    assert 'encrypted, MAC ok; recipients: age:age1' in result.stdout
    result = run('status', str(secret_file), str(plain_needed))
    assert result.exit_code == 1
    assert 'NOT ENCRYPTED' in result.stdout
    assert 'hunter2' not in result.stdout


def test_whole_process_smoke(secret_file: Path) -> None:
    proc = subprocess.run(
        [sys.executable, '-m', 'gitops_config', 'secrets', 'decrypt', str(secret_file)],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == PLAIN


def test_git_drivers_diff_and_merge(
    tmp_path: Path,
    age_keys: tuple[AgeKey, AgeKey],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = GitRepo(tmp_path / 'repo')
    monkeypatch.chdir(repo.path)
    write_rules(repo.path, f'creation_rules:\n  - age: {age_keys[0].recipient}\n')
    secret = repo.path / 'app.enc.yaml'
    secret.write_text('a: one\nb: two\nc: three\n')
    assert run('encrypt', '-i', str(secret)).exit_code == 0
    result = run('git-setup', '--write-attributes')
    assert result.exit_code == 0, result.stderr
    assert 'app.enc.yaml' not in (repo.path / '.gitattributes').read_text()
    assert '*.enc.yaml diff=sops merge=sops' in (repo.path / '.gitattributes').read_text()
    repo.commit(message='base')

    assert run('set', str(secret), 'a', 'ONE').exit_code == 0
    diff = repo.git('diff')
    assert '-a: one' in diff
    assert '+a: ONE' in diff
    repo.commit(message='ours')
    repo.git('checkout', '-q', '-b', 'theirs', 'HEAD~1')
    assert run('set', str(secret), 'c', 'THREE').exit_code == 0
    repo.commit(message='theirs')
    repo.git('checkout', '-q', 'main')
    proc = subprocess.run(
        ['git', 'merge', '--no-edit', 'theirs'],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    merged = sops('decrypt', str(secret)).decode()
    assert merged == 'a: ONE\nb: two\nc: THREE\n'


def test_merge_driver_reports_a_real_conflict(
    tmp_path: Path,
    age_keys: tuple[AgeKey, AgeKey],  # noqa: F811
) -> None:
    write_rules(tmp_path, f'creation_rules:\n  - age: {age_keys[0].recipient}\n')
    files = {}
    for name, value in (('base', 'one'), ('ours', 'mine'), ('theirs', 'yours')):
        path = tmp_path / f'{name}.enc.yaml'
        path.write_text(f'a: {value}\nb: two\n')
        assert run('encrypt', '-i', str(path)).exit_code == 0
        files[name] = path
    before = files['ours'].read_bytes()
    result = run(
        'merge-driver', str(files['base']), str(files['ours']), str(files['theirs']), 'app.enc.yaml'
    )
    assert result.exit_code == 1
    assert 'conflicting changes at a' in result.stderr
    assert 'mine' not in result.stderr
    assert files['ours'].read_bytes() == before


def test_encrypt_several_files_needs_in_place(tmp_path: Path, rules: Path) -> None:
    one, two = tmp_path / 'one.enc.yaml', tmp_path / 'two.enc.yaml'
    one.write_text(PLAIN)
    two.write_text(PLAIN)
    result = run('encrypt', str(one), str(two))
    assert result.exit_code == 2
    assert one.read_text() == PLAIN
    assert run('encrypt', '-i', str(one), str(two)).exit_code == 0
    assert run('status', str(one), str(two)).exit_code == 0
