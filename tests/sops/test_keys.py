"""Where age identities come from, and PGP through the real gpg."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_config.sops import decrypt_text
from gitops_config.sops import encrypt_text
from gitops_config.sops import keys_available
from gitops_config.sops.errors import NoKeyError
from gitops_config.sops.keys import age
from gitops_config.sops.keys.ring import KeyRing
from tests.sops.conftest import BIN
from tests.sops.conftest import PGP_FP
from tests.sops.conftest import VECTORS
from tests.sops.conftest import AgeKey
from tests.sops.conftest import sops

PLAIN = 'token: s3cret\n'


@pytest.fixture
def only_second_key(monkeypatch: pytest.MonkeyPatch, age_keys: tuple[AgeKey, AgeKey]) -> bytes:
    """A file for key two, with no identity configured yet."""
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    return encrypt_text(PLAIN, 'x.yaml', age=[age_keys[1].recipient])


def _keys_file(*identities: str) -> str:
    """An ordinary keys file, as age-keygen and `secrets keygen` write them."""
    return ''.join(
        f'# created: 2024-01-01T00:00:00Z\n# public key: age1...\n{i}\n' for i in identities
    )


# SOPS_AGE_KEY values, and whether the identity of key two is found in them
AGE_KEY_VALUES: dict[str, tuple[Callable[[str, str], str], bool]] = {
    'keys file with comments': (lambda k1, k2: _keys_file(k1, k2), True),
    'CRLF lines': (lambda k1, k2: f'{k1}\r\n{k2}\r\n', True),
    'blank lines': (lambda k1, k2: f'\n{k1}\n\n{k2}\n\n', True),
    'a bad line spoils the variable': (lambda k1, k2: f'not-a-key\n{k2}\n', False),
    'comments only': (lambda k1, k2: '# nothing here\n', False),
    'lower case': (lambda k1, k2: k2.lower(), False),
}


@pytest.mark.parametrize('case', AGE_KEY_VALUES)
def test_sops_age_key_is_read_as_sops_reads_it(
    case: str,
    only_second_key: bytes,
    age_keys: tuple[AgeKey, AgeKey],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make, opens = AGE_KEY_VALUES[case]
    value = make(age_keys[0].identity, age_keys[1].identity)
    path = tmp_path / 'x.yaml'
    path.write_bytes(only_second_key)
    real = subprocess.run(
        [str(BIN / 'sops'), 'decrypt', str(path)],
        capture_output=True,
        env={**os.environ, 'SOPS_AGE_KEY': value},
        check=False,
    )
    assert (real.returncode == 0) is opens, real.stderr
    monkeypatch.setenv('SOPS_AGE_KEY', value)
    assert keys_available(only_second_key) is opens
    if opens:
        assert decrypt_text(only_second_key, 'x.yaml') == real.stdout == PLAIN.encode()
    else:
        with pytest.raises(NoKeyError, match='SOPS_AGE_KEY') as caught:
            decrypt_text(only_second_key, 'x.yaml')
        assert age_keys[1].identity not in str(caught.value)  # never the key itself


def test_a_bad_source_does_not_hide_the_others(
    only_second_key: bytes,
    age_keys: tuple[AgeKey, AgeKey],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As in sops: a broken SOPS_AGE_KEY, key file or command gives no identity, and the
    other sources still count."""
    path = tmp_path / 'x.yaml'
    path.write_bytes(only_second_key)
    env = {
        'SOPS_AGE_KEY': 'garbage',
        'SOPS_AGE_KEY_FILE': str(age_keys[1].file),
        'SOPS_AGE_KEY_CMD': 'false',
    }
    real = subprocess.run(
        [str(BIN / 'sops'), 'decrypt', str(path)],
        capture_output=True,
        env={**os.environ, **env},
        check=False,
    )
    assert real.returncode == 0, real.stderr
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert decrypt_text(only_second_key, 'x.yaml') == PLAIN.encode()
    assert len(KeyRing().age_errors()) == 2


def test_sops_age_key_may_hold_several_keys_on_a_line(
    only_second_key: bytes, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identities apart by spaces (one CI secret line), as sops reads SOPS_AGE_KEY since
    3.13 (sops 3.11, the reference binary here, wants one per line)."""
    monkeypatch.setenv('SOPS_AGE_KEY', f'{age_keys[0].identity} {age_keys[1].identity}')
    assert decrypt_text(only_second_key, 'x.yaml') == PLAIN.encode()


def test_sops_age_key_cmd(
    only_second_key: bytes, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('SOPS_AGE_KEY_CMD', f'cat {age_keys[1].file}')
    assert decrypt_text(only_second_key, 'x.yaml') == PLAIN.encode()


def test_default_keys_file_under_xdg_config_home(
    only_second_key: bytes,
    age_keys: tuple[AgeKey, AgeKey],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / 'xdg' / 'sops' / 'age' / 'keys.txt'
    target.parent.mkdir(parents=True)
    shutil.copy(age_keys[1].file, target)
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'xdg'))
    assert keys_available(only_second_key)


def test_default_keys_file_under_home(
    only_second_key: bytes,
    age_keys: tuple[AgeKey, AgeKey],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / 'home' / '.config' / 'sops' / 'age' / 'keys.txt'
    target.parent.mkdir(parents=True)
    target.write_text('# created: today\n# public key: x\n\n' + age_keys[1].file.read_text())
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('XDG_CONFIG_HOME')
    assert keys_available(only_second_key)


def test_passphrase_protected_identity_file_without_terminal(
    only_second_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    encrypted_identity = VECTORS / 'age-stanzas' / 'mock_encrypted_identity.age.txt'
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(encrypted_identity))
    monkeypatch.setattr(age, '_ask_passphrase', lambda origin: None)
    with pytest.raises(NoKeyError, match='passphrase-protected'):
        decrypt_text(only_second_key, 'x.yaml')


def test_passphrase_protected_identity_file_unlocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vector identity file (passphrase `passphrase`) opens the vector age stanza."""
    from gitops_config.sops.metadata import MasterKey

    stanzas = VECTORS / 'age-stanzas'
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(stanzas / 'mock_encrypted_identity.age.txt'))
    monkeypatch.setattr(age, '_ask_passphrase', lambda origin: 'passphrase')
    enc = (stanzas / 'mock_encrypted_key.age.txt').read_text()
    assert age.SOURCE.unwrap(MasterKey('age', {'recipient': '', 'enc': enc}), KeyRing()) == b'data'
    monkeypatch.setattr(age, '_ask_passphrase', lambda origin: 'wrong')
    ring = KeyRing()
    assert ring.age_identities() == ()
    assert any('wrong passphrase' in e for e in ring.age_errors())


def test_pgp_wrap_is_read_by_sops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / 'p.yaml'
    path.write_bytes(encrypt_text(PLAIN, str(path), pgp=[PGP_FP]))
    text = path.read_text()
    assert f'fp: {PGP_FP}' in text
    assert '-----BEGIN PGP MESSAGE-----' in text
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    assert sops('decrypt', str(path)) == PLAIN.encode()
    assert decrypt_text(path.read_bytes(), str(path)) == PLAIN.encode()
