from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_config.sops import decrypt_file
from gitops_config.sops import recipients
from gitops_config.sops.cipher import Cipher
from gitops_config.sops.cipher import DecryptionFailed
from gitops_config.sops.errors import MacMismatchError
from tests.sops.conftest import SHARED_VECTORS
from tests.sops.conftest import VECTORS
from tests.sops.conftest import sops


def _cases(root: Path) -> list[tuple[Path, Path]]:
    out = []
    for expected_dir in sorted(root.glob('*/decrypted-by-sops-3.11.0')):
        for expected in sorted(expected_dir.iterdir()):
            out.append((expected_dir.parent / expected.name, expected))
    return out


CASES = _cases(VECTORS)


@pytest.mark.parametrize(
    ('encrypted', 'expected'), CASES, ids=[f'{c[0].parent.name}/{c[0].name}' for c in CASES]
)
def test_vector_decrypts_to_what_sops_printed(encrypted: Path, expected: Path) -> None:
    ignore = 'no_mac' in encrypted.name  # this fixture has no MAC at all
    assert decrypt_file(encrypted, ignore_mac=ignore) == expected.read_bytes()


def test_vectors_cover_every_directory() -> None:
    assert {c[0].parent.name for c in CASES} == {'main-3.13.2', 'age-branch-3.7.1', 'legacy-1.x'}
    assert len(CASES) >= 22


def test_shared_vectors_match_the_copy() -> None:
    if not SHARED_VECTORS.is_dir():
        pytest.skip(f'{SHARED_VECTORS} is not present on this machine')
    shared = _cases(SHARED_VECTORS)
    assert [c[0].name for c in shared] == [c[0].name for c in CASES]
    for encrypted, expected in shared:
        ignore = 'no_mac' in encrypted.name
        assert decrypt_file(encrypted, ignore_mac=ignore) == expected.read_bytes()


def test_file_without_mac_fails_unless_ignored() -> None:
    path = VECTORS / 'main-3.13.2' / 'functional-tests_res_no_mac.yaml'
    with pytest.raises(MacMismatchError, match='no MAC'):
        decrypt_file(path)


def test_legacy_files_that_sops_3_refuses_still_decrypt() -> None:
    # version is a JSON number (sops 1.0); Go sops 3 cannot unmarshal it
    plain = decrypt_file(VECTORS / 'legacy-1.x' / 'example.txt')
    assert plain.startswith(b'Welcome to SOPS')


def test_real_sops_agrees_on_a_vector(tmp_path: Path) -> None:
    src = VECTORS / 'age-branch-3.7.1' / 'example.yaml'
    assert decrypt_file(src) == sops('-d', str(src))


def test_aes_vector_and_its_aad() -> None:
    raw = json.loads((VECTORS / 'aes' / 'cipher_test_vector.json').read_text())
    cipher = Cipher(bytes.fromhex(raw['key_hex']))
    assert cipher.decrypt(raw['ciphertext'], raw['aad']) == raw['expected_plaintext']
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(raw['ciphertext'], raw['must_fail_with_aad'])


def test_recipients_of_a_vector() -> None:
    text = (VECTORS / 'main-3.13.2' / 'example.yaml').read_bytes()
    assert recipients(text) == [
        'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4',
        'D7229043384BCC60326C6FB9D8720D957C3D3074',
    ]


def test_age_stanza_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops_config.sops.keys import age
    from gitops_config.sops.keys.ring import KeyRing
    from gitops_config.sops.metadata import MasterKey

    stanzas = VECTORS / 'age-stanzas'
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(stanzas / 'mock_identity_keys.txt'))
    enc = (stanzas / 'mock_encrypted_key.age.txt').read_text()
    assert not enc.endswith('\n')  # Go's armor reader accepts that; so must we
    assert age.SOURCE.unwrap(MasterKey('age', {'recipient': '', 'enc': enc}), KeyRing()) == b'data'
