"""Bad input: one clear line, exit 3, and the file left exactly as it was."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitops_config.cli.main import cli
from gitops_config.sops import encrypt_text
from tests.sops.conftest import AgeKey
from tests.sops.conftest import write_rules

PLAIN = 'db:\n    password: hunter2\n    port: 5432\n'


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


def _encrypted(tmp_path: Path, key: AgeKey) -> Path:
    path = tmp_path / 'secrets.yaml'
    path.write_bytes(encrypt_text(PLAIN, str(path), age=[key.recipient]))
    return path


def _assert_one_line_error(code: int, stderr: str, *needles: str) -> None:
    assert code == 3, stderr
    assert 'Traceback' not in stderr
    first = stderr.splitlines()[0]
    assert first.startswith('error: ')
    for needle in needles:
        assert needle in stderr
    assert 'hunter2' not in stderr  # never the plaintext


def _tamper(pattern: str, repl: str | Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return lambda text: re.sub(pattern, repl, text, count=1)


def _flip(m: re.Match[str]) -> str:
    data = m.group(1)
    return 'data:' + ('A' if data[0] != 'A' else 'B') + data[1:] + ','


TAMPERINGS = {
    'ciphertext': (_tamper(r'data:([^,]+),', _flip), 'password'),
    'mac': (
        _tamper(
            r'(mac: ENC\[AES256_GCM,data:)(.)',
            lambda m: m.group(1) + ('A' if m.group(2) != 'A' else 'B'),
        ),
        'MAC',
    ),
    'missing-mac': (_tamper(r'\n    mac: ENC\[[^\n]*', ''), 'no MAC'),
    'truncated-enc': (
        _tamper(r'(password: ENC\[AES256_GCM,data:[^,]+),iv[^\n]*', r'\1'),
        "does not match sops' data format",
    ),
}


@pytest.mark.parametrize('kind', TAMPERINGS)
def test_tampered_file_is_refused(
    kind: str, tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    change, needle = TAMPERINGS[kind]
    tampered = change(path.read_text())
    assert tampered != path.read_text()
    path.write_text(tampered)
    code, err = _run('secrets', 'decrypt', '-i', str(path))
    _assert_one_line_error(code, err, str(path), needle)
    assert path.read_text() == tampered


def test_ignore_mac_is_the_escape_hatch(tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    path.write_text(TAMPERINGS['missing-mac'][0](path.read_text()))
    result = CliRunner().invoke(cli, ['secrets', 'decrypt', '--ignore-mac', str(path)])
    assert result.exit_code == 0
    assert result.stdout == PLAIN


def test_wrong_key(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    before = path.read_bytes()
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(age_keys[1].file))
    code, err = _run('secrets', 'decrypt', '-i', str(path))
    _assert_one_line_error(code, err, 'sops-no-key', str(path), age_keys[0].recipient)
    assert path.read_bytes() == before


def test_no_key(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    code, err = _run('secrets', 'decrypt', str(path))
    _assert_one_line_error(code, err, 'sops-no-key', age_keys[0].recipient)


def test_unreadable_key_file(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(tmp_path / 'missing-keys.txt'))
    code, err = _run('secrets', 'decrypt', str(path))
    _assert_one_line_error(code, err, 'missing-keys.txt')


def test_garbage_key_file(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    bad = tmp_path / 'bad-keys.txt'
    bad.write_text('not a key\n')
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(bad))
    code, err = _run('secrets', 'decrypt', str(path))
    _assert_one_line_error(code, err, 'bad-keys.txt', 'line 1 is not an age identity')


def test_non_string_key(tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> None:
    path = tmp_path / 'plain.yaml'
    path.write_text('1: one\n')
    code, err = _run('secrets', 'encrypt', '-i', '--age', age_keys[0].recipient, str(path))
    _assert_one_line_error(code, err, 'non-string key')
    assert path.read_text() == '1: one\n'


def test_decrypt_of_a_plain_file(tmp_path: Path) -> None:
    path = tmp_path / 'plain.yaml'
    path.write_text(PLAIN)
    code, err = _run('secrets', 'decrypt', '-i', str(path))
    _assert_one_line_error(code, err, 'sops metadata not found')
    assert path.read_text() == PLAIN


def test_encrypt_refuses_an_encrypted_file(tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    before = path.read_bytes()
    code, err = _run('secrets', 'encrypt', '-i', '--age', age_keys[0].recipient, str(path))
    _assert_one_line_error(code, err, 'already encrypted')
    assert path.read_bytes() == before


def test_no_matching_creation_rule(tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> None:
    write_rules(
        tmp_path, f'creation_rules:\n  - path_regex: ^prod/\n    age: {age_keys[0].recipient}\n'
    )
    path = tmp_path / 'dev.yaml'
    path.write_text(PLAIN)
    code, err = _run('secrets', 'encrypt', '-i', str(path))
    _assert_one_line_error(code, err, 'no matching creation rules')
    assert path.read_text() == PLAIN


@pytest.mark.parametrize(
    'body',
    ['creation_rules: [\n', 'creation_rules: 5\n', 'creation_rules:\n  - shamir_threshold: many\n'],
)
def test_corrupt_sops_yaml(body: str, tmp_path: Path) -> None:
    write_rules(tmp_path, body)
    path = tmp_path / 'x.yaml'
    path.write_text(PLAIN)
    code, err = _run('secrets', 'encrypt', '-i', str(path))
    _assert_one_line_error(code, err, '.sops.yaml')
    assert path.read_text() == PLAIN


def _kms_only(path: Path) -> str:
    text = path.read_text()
    start = text.index('    age:\n')
    end = text.index('    lastmodified:')
    kms = (
        '    kms:\n        - arn: arn:aws:kms:us-east-1:111122223333:key/test\n'
        '          created_at: "2024-01-01T00:00:00Z"\n          enc: AQICAHh=\n'
        '          aws_profile: ""\n'
    )
    return text[:start] + kms + text[end:]


def test_kms_file_without_sops_binary(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    path.write_text(_kms_only(path))
    monkeypatch.setenv('PATH', str(tmp_path / 'empty-bin'))
    code, err = _run('secrets', 'decrypt', str(path))
    _assert_one_line_error(code, err, 'sops-no-key', 'kms arn:aws:kms:us-east-1', 'install sops')


def test_kms_file_is_delegated_to_sops(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _encrypted(tmp_path, age_keys[0])
    path.write_text(_kms_only(path))
    # sops (on PATH via the conftest) is asked, and fails without AWS credentials
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'none'))
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'none'))
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    code, err = _run('secrets', 'decrypt', str(path))
    _assert_one_line_error(code, err, 'sops could not decrypt the data key with', 'arn:aws:kms')


@pytest.mark.parametrize(
    ('body', 'needle'),
    [
        pytest.param(
            'big: &big "' + 'x' * 1_000_000 + '"\ncopies: [' + ', '.join(['*big'] * 2000) + ']\n',
            'aliases expand to more than 10 MiB',
            id='aliases-of-1MB',
        ),
        pytest.param(
            'a: &a 1\nk: ' + '[' * 500 + ']' * 500 + '\n',
            'nested deeper than',
            id='nested-with-anchor',
        ),
        pytest.param(
            ''.join(f'{"  " * i}k{i}:\n' for i in range(500)) + '  ' * 500 + 'leaf\n',
            'nested deeper than',
            id='nested-blocks',
        ),
    ],
)
def test_hostile_yaml_is_refused_by_the_sops_store(
    body: str, needle: str, tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    path = tmp_path / 'bomb.yaml'
    path.write_text(body)
    code, err = _run('secrets', 'encrypt', '-i', '--age', age_keys[0].recipient, str(path))
    _assert_one_line_error(code, err, needle, 'bomb.yaml')
    assert path.read_text() == body
