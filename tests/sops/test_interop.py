"""What we encrypt, sops decrypts to the same plaintext, and the other way round."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_config.sops import decrypt_file
from gitops_config.sops import encrypt_text
from tests.sops.conftest import PGP_FP
from tests.sops.conftest import AgeKey
from tests.sops.conftest import as_sops_prints
from tests.sops.conftest import sops
from tests.sops.conftest import write_rules

CASES = Path(__file__).parent / 'cases'

# (case file, extra creation-rule lines)
SCENARIOS = {
    'types': ('types.yaml', ''),
    'floats': ('floats.yaml', ''),
    # plain floats are written back as text; sops writes a plain -0.0 as `-0`, an int
    # its own MAC then fails, so that one is kept under the secret key
    'floats-beside-a-secret': ('floats.yaml', 'encrypted_regex: ^secret$'),
    'anchors-multidoc-comments': ('anchors_multidoc.yaml', ''),
    'comment-placement': ('comments.yaml', ''),
    'comments-2': ('comments2.yaml', ''),
    'sops-readme-example': ('../vectors/main-3.13.2/decrypted-by-sops-3.11.0/example.yaml', ''),
    'sops-comments-in-list': ('../vectors/main-3.13.2/functional-tests_res_comments_list.yaml', ''),
    'json': ('values.json', ''),
    'dotenv': ('values.env', ''),
    'ini': ('values.ini', ''),
    'binary': ('blob.bin', ''),
    'encrypted_suffix': ('selection.yaml', 'encrypted_suffix: _enc'),
    'encrypted_regex': ('selection.yaml', 'encrypted_regex: ^(data|stringData)$'),
    'unencrypted_regex': ('selection.yaml', 'unencrypted_regex: ^(kind|apiVersion)$'),
    'encrypted_comment_regex': ('selection.yaml', 'encrypted_comment_regex: sops:enc'),
    'unencrypted_comment_regex': ('selection.yaml', 'unencrypted_comment_regex: sops:enc'),
    'mac_only_encrypted': (
        'selection.yaml',
        'encrypted_regex: ^data$\n    mac_only_encrypted: true',
    ),
}


def _setup(tmp_path: Path, case: str, extra: str, recipient: str) -> Path:
    target = tmp_path / Path(case).name
    shutil.copy(CASES / case, target)
    body = f"creation_rules:\n  - path_regex: ''\n    age: {recipient}\n"
    if extra:
        body += f'    {extra}\n'
    write_rules(tmp_path, body)
    return target


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_both_ways(scenario: str, tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> None:
    case, extra = SCENARIOS[scenario]
    plain = _setup(tmp_path, case, extra, age_keys[0].recipient)
    ours = tmp_path / f'ours.{plain.name}'
    ours.write_bytes(encrypt_text(plain.read_bytes(), str(plain)))
    theirs = tmp_path / f'theirs.{plain.name}'
    theirs.write_bytes(sops('encrypt', str(plain), cwd=tmp_path))
    expected = sops('decrypt', str(theirs), cwd=tmp_path)
    # sops accepts our ciphertext and MAC, and we read sops's
    assert sops('decrypt', str(ours), cwd=tmp_path) == expected
    assert as_sops_prints(decrypt_file(theirs), expected) == expected
    # and both select the same leaves
    assert ours.read_text().count('ENC[') == theirs.read_text().count('ENC[')


def test_key_groups_with_shamir(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / 'secrets.yaml'
    shutil.copy(CASES / 'types.yaml', plain)
    write_rules(
        tmp_path,
        f"""creation_rules:
  - path_regex: secrets\\.yaml$
    shamir_threshold: 2
    key_groups:
      - age: [{age_keys[0].recipient}]
      - age:
          - {age_keys[1].recipient}
      - pgp: [{PGP_FP}]
""",
    )
    ours = tmp_path / 'ours.yaml'
    ours.write_bytes(encrypt_text(plain.read_bytes(), str(plain)))
    theirs = tmp_path / 'theirs.yaml'
    theirs.write_bytes(
        sops('encrypt', '--filename-override', 'secrets.yaml', str(plain), cwd=tmp_path)
    )
    assert 'key_groups:' in ours.read_text()
    assert 'shamir_threshold: 2' in ours.read_text()
    expected = sops('decrypt', str(theirs), cwd=tmp_path)
    assert sops('decrypt', str(ours), cwd=tmp_path) == expected
    assert as_sops_prints(decrypt_file(theirs), expected) == expected
    # two of three groups are enough: drop the first age key
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(age_keys[1].file))
    assert as_sops_prints(decrypt_file(ours), expected) == expected
    assert as_sops_prints(decrypt_file(theirs), expected) == expected


def test_metadata_layout_matches_sops(tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> None:
    plain = tmp_path / 'x.yaml'
    plain.write_text('a: 1\n')
    write_rules(
        tmp_path,
        f"creation_rules:\n  - age: '{age_keys[0].recipient},"
        f" {age_keys[1].recipient}'\n    pgp: {PGP_FP}\n",
    )
    ours = encrypt_text(plain.read_bytes(), str(plain)).decode()
    theirs = sops('encrypt', str(plain), cwd=tmp_path).decode()

    def shape(text: str) -> list[str]:
        return [
            line.split(':')[0]
            for line in text.splitlines()
            if line.startswith('    ') and not line.startswith('            ')
        ]

    assert shape(ours) == shape(theirs)
