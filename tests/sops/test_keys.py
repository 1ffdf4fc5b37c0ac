"""Where age identities come from, and PGP through the real gpg."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_config.sops import decrypt_text
from gitops_config.sops import encrypt_text
from gitops_config.sops import keys_available
from gitops_config.sops.errors import KeySourceError
from gitops_config.sops.keys import age
from tests.sops.conftest import PGP_FP
from tests.sops.conftest import VECTORS
from tests.sops.conftest import AgeKey
from tests.sops.conftest import sops

PLAIN = 'token: s3cret\n'


@pytest.fixture
def only_second_key(monkeypatch: pytest.MonkeyPatch, age_keys: tuple[AgeKey, AgeKey]) -> bytes:
    """A file for key two, with no identity configured yet."""
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    age.clear_cache()
    return encrypt_text(PLAIN, 'x.yaml', age=[age_keys[1].recipient])


def test_sops_age_key_variable(only_second_key: bytes, age_keys: tuple[AgeKey, AgeKey],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert not keys_available(only_second_key)
    monkeypatch.setenv('SOPS_AGE_KEY', f'{age_keys[0].identity} {age_keys[1].identity}')
    age.clear_cache()
    assert decrypt_text(only_second_key, 'x.yaml') == PLAIN.encode()


def test_sops_age_key_cmd(only_second_key: bytes, age_keys: tuple[AgeKey, AgeKey],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('SOPS_AGE_KEY_CMD', f'cat {age_keys[1].file}')
    age.clear_cache()
    assert decrypt_text(only_second_key, 'x.yaml') == PLAIN.encode()


def test_default_keys_file_under_xdg_config_home(
        only_second_key: bytes, age_keys: tuple[AgeKey, AgeKey], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / 'xdg' / 'sops' / 'age' / 'keys.txt'
    target.parent.mkdir(parents=True)
    shutil.copy(age_keys[1].file, target)
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'xdg'))
    age.clear_cache()
    assert keys_available(only_second_key)


def test_default_keys_file_under_home(only_second_key: bytes, age_keys: tuple[AgeKey, AgeKey],
                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / 'home' / '.config' / 'sops' / 'age' / 'keys.txt'
    target.parent.mkdir(parents=True)
    target.write_text('# created: today\n# public key: x\n\n' + age_keys[1].file.read_text())
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('XDG_CONFIG_HOME')
    age.clear_cache()
    assert keys_available(only_second_key)


def test_passphrase_protected_identity_file_without_terminal(
        only_second_key: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted_identity = VECTORS / 'age-stanzas' / 'mock_encrypted_identity.age.txt'
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(encrypted_identity))
    monkeypatch.setattr(age, '_ask_passphrase', lambda origin: None)
    age.clear_cache()
    with pytest.raises(KeySourceError, match='passphrase-protected'):
        decrypt_text(only_second_key, 'x.yaml')


def test_passphrase_protected_identity_file_unlocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vector identity file (passphrase `passphrase`) opens the vector age stanza."""
    from gitops_config.sops.metadata import MasterKey

    stanzas = VECTORS / 'age-stanzas'
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(stanzas / 'mock_encrypted_identity.age.txt'))
    monkeypatch.setattr(age, '_ask_passphrase', lambda origin: 'passphrase')
    age.clear_cache()
    enc = (stanzas / 'mock_encrypted_key.age.txt').read_text()
    assert age.SOURCE.unwrap(MasterKey('age', {'recipient': '', 'enc': enc})) == b'data'
    monkeypatch.setattr(age, '_ask_passphrase', lambda origin: 'wrong')
    age.clear_cache()
    with pytest.raises(KeySourceError, match='wrong passphrase'):
        age.identities()


def test_pgp_wrap_is_read_by_sops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / 'p.yaml'
    path.write_bytes(encrypt_text(PLAIN, str(path), pgp=[PGP_FP]))
    text = path.read_text()
    assert f'fp: {PGP_FP}' in text
    assert '-----BEGIN PGP MESSAGE-----' in text
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    age.clear_cache()
    assert sops('decrypt', str(path)) == PLAIN.encode()
    assert decrypt_text(path.read_bytes(), str(path)) == PLAIN.encode()
