"""Small pieces: Shamir, number and time formats, rules, KEYPATH, the public API."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from gitops_config.errors import UsageError
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.sops import NoKeyError
from gitops_config.sops import decrypt_text
from gitops_config.sops import encrypt_text
from gitops_config.sops import is_encrypted
from gitops_config.sops import keys_available
from gitops_config.sops import open_values
from gitops_config.sops import recipients
from gitops_config.sops import shamir
from gitops_config.sops.errors import RulesError
from gitops_config.sops.format import format_float_f
from gitops_config.sops.format import format_float_g
from gitops_config.sops.keypath import parse
from gitops_config.sops.rules import rule_for
from gitops_config.sops.stores.yaml_load import go_timestamp
from tests.sops.conftest import PGP_FP
from tests.sops.conftest import AgeKey
from tests.sops.conftest import write_rules


def test_shamir_any_threshold_subset_recovers() -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, 4, 3)
    assert all(len(s) == 33 and s[-1] == i + 1 for i, s in enumerate(shares))
    for subset in itertools.combinations(shares, 3):
        assert shamir.combine(list(subset)) == secret
    assert shamir.combine(shares[:2]) != secret


@pytest.mark.parametrize(
    ('value', 'f', 'g'),
    [
        (3.14, '3.14', '3.14'),
        (1.0, '1', '1'),
        (1e21, '1000000000000000000000', '1e+21'),
        (1e-6, '0.000001', '1e-06'),
        (float('inf'), '+Inf', '+Inf'),
        (1234567890123456789.0, '1234567890123456800', '1.2345678901234568e+18'),
        (1234568000.0, '1234568000', '1.234568e+09'),
    ],
)
def test_go_float_formats(value: float, f: str, g: str) -> None:
    assert format_float_f(value) == f
    assert format_float_g(value) == g


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('2024-01-01', '2024-01-01T00:00:00Z'),
        ('2001-12-14 21:59:43.10', '2001-12-14T21:59:43.1Z'),
        ('2006-01-02T15:04:05+07:00', '2006-01-02T15:04:05+07:00'),
        ('2006-01-02T15:04:05+00:00', '2006-01-02T15:04:05Z'),
        ('2001-12-14 21:59:43.10 -5', None),
        ('2024-13-01', None),
    ],
)
def test_go_yaml_timestamps(text: str, expected: str | None) -> None:
    found = go_timestamp(text)
    assert (found.text if found else None) == expected


def test_keypath_syntax() -> None:
    assert parse('a.b[0].c') == ['a', 'b', 0, 'c']
    assert parse('a.list[name=x].c') == ['a', 'list', ('name', 'x'), 'c']
    with pytest.raises(UsageError):
        parse('a..b[')


def test_rules_first_match_and_comma_lists(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        f"""creation_rules:
  - path_regex: ^prod/
    age: 'age1aaa, age1bbb'
    pgp: [{PGP_FP}]
    encrypted_regex: ^data$
  - path_regex: ''
    age: [age1ccc]
""",
    )
    prod = rule_for(tmp_path / 'prod' / 'x.yaml')
    assert prod.recipients() == ['age1aaa', 'age1bbb', PGP_FP]
    assert (prod.selection.kind, prod.selection.value) == ('encrypted_regex', '^data$')
    assert rule_for(tmp_path / 'dev' / 'x.yaml').recipients() == ['age1ccc']


def test_rules_key_groups_merge(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """creation_rules:
  - key_groups:
      - merge:
          - age: [age1aaa]
        pgp: [FP1]
      - age: [age1bbb]
""",
    )
    rule = rule_for(tmp_path / 'x.yaml')
    assert [[k.identity() for k in g] for g in rule.key_groups] == [['age1aaa', 'FP1'], ['age1bbb']]


def test_no_sops_yaml(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r'no \.sops\.yaml'):
        rule_for(tmp_path / 'x.yaml')


@pytest.fixture
def encrypted(age_keys: tuple[AgeKey, AgeKey]) -> bytes:
    plain = 'a: secret\nn: 5\nwhen: 2024-01-01\nb_unencrypted: clear\nl:\n    - x\n'
    return encrypt_text(plain, 'v.yaml', age=[age_keys[0].recipient])


def test_open_values_with_key(encrypted: bytes, age_keys: tuple[AgeKey, AgeKey]) -> None:
    values = open_values(encrypted, 'v.yaml', sealed=False)
    assert isinstance(values, dict)
    assert isinstance(values['a'], Secret)
    assert values['a'].reveal() == 'secret'
    assert values['n'].reveal() == 5
    assert values['when'].reveal().year == 2024
    assert values['b_unencrypted'] == 'clear'
    assert [v.reveal() for v in values['l']] == ['x']
    assert 'secret' not in repr(values)


def test_open_values_without_key(
    encrypted: bytes, age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    assert not keys_available(encrypted)
    sealed = open_values(encrypted, 'v.yaml', sealed=True)
    assert isinstance(sealed, dict)
    assert isinstance(sealed['a'], SealedSecret)
    assert sealed['a'].ciphertext.startswith('ENC[AES256_GCM')
    assert sealed['b_unencrypted'] == 'clear'
    with pytest.raises(NoKeyError) as info:
        open_values(encrypted, 'v.yaml', sealed=False)
    assert 'v.yaml' in info.value.message
    assert age_keys[0].recipient in info.value.message
    assert info.value.code == 'sops-no-key'


def test_small_api(encrypted: bytes, age_keys: tuple[AgeKey, AgeKey]) -> None:
    assert is_encrypted(encrypted)
    assert is_encrypted(encrypted.decode())
    assert not is_encrypted('a: 1\nsops_thing: 2\n')
    assert recipients(encrypted) == [age_keys[0].recipient]
    assert keys_available(encrypted)


def test_encrypt_text_selection_override(age_keys: tuple[AgeKey, AgeKey]) -> None:
    out = encrypt_text(
        'data: x\nkind: Secret\n', 's.yaml', age=[age_keys[0].recipient], encrypted_regex='^data$'
    ).decode()
    assert 'kind: Secret' in out
    assert 'encrypted_regex: ^data$' in out


@pytest.mark.parametrize('number', ['0.0', '-0.0', '1.0', '123456.0', '1e+300', '5e-324'])
def test_a_plain_float_beside_a_secret_stays_a_float(
    number: str, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    """Unencrypted leaves are written back as text: go-yaml prints the float 0.0 as `0`,
    which reads back as the int 0 (drift then saw `0.0 → 0`), and -0.0 as `-0`, which
    fails the MAC (sops's own files too)."""
    plain = f'token: secret\nratio: {number}\n'
    out = encrypt_text(plain, 's.yaml', age=[age_keys[0].recipient], encrypted_regex='^token$')
    assert f'\nratio: {number}\n' in out.decode()
    values = open_values(out, 's.yaml', sealed=False)
    assert isinstance(values, dict)
    assert type(values['ratio']) is float
    assert repr(values['ratio']) == repr(float(number))
    assert decrypt_text(out, 's.yaml').decode() == plain


def test_open_values_without_sops_for_cloud_keys(
    encrypted: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file only a KMS key opens, and no sops to reach it: sealed, or NoKeyError."""

    text = encrypted.decode()
    start, end = text.index('    age:\n'), text.index('    lastmodified:')
    kms = (
        '    kms:\n        - arn: arn:aws:kms:us-east-1:1:key/k\n'
        '          created_at: "2024-01-01T00:00:00Z"\n          enc: AQ==\n'
        '          aws_profile: ""\n'
    )
    kms_file = (text[:start] + kms + text[end:]).encode()
    monkeypatch.setenv('PATH', str(tmp_path / 'nothing'))
    sealed = open_values(kms_file, 'v.yaml', sealed=True)
    assert isinstance(sealed, dict)
    assert isinstance(sealed['a'], SealedSecret)
    with pytest.raises(NoKeyError, match='kms arn:aws:kms.*no sops executable on PATH'):
        open_values(kms_file, 'v.yaml', sealed=False)
    broken = tmp_path / 'broken' / 'sops'  # on PATH, but it cannot start
    broken.parent.mkdir()
    broken.write_text('#!/nonexistent/interpreter\n')
    broken.chmod(0o755)
    monkeypatch.setenv('PATH', str(broken.parent))
    again = open_values(kms_file, 'v.yaml', sealed=True)
    assert isinstance(again, dict)
    assert isinstance(again['a'], SealedSecret)


def test_open_values_multidoc_and_list_comments(
    age_keys: tuple[AgeKey, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = 'a:\n    - x\n    # note\n    - y\n---\nb: 2\n'
    enc = encrypt_text(plain, 'm.yaml', age=[age_keys[0].recipient])
    assert enc.count(b'type:comment]') == 1  # sops's comment-in-a-list quirk
    docs = open_values(enc, 'm.yaml', sealed=False)
    assert isinstance(docs, list)
    assert [v.reveal() for v in docs[0]['a']] == ['x', 'y']
    assert docs[1]['b'].reveal() == 2
    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    sealed = open_values(enc, 'm.yaml', sealed=True)
    assert isinstance(sealed, list)
    assert len(sealed[0]['a']) == 2
    assert all(isinstance(v, SealedSecret) for v in sealed[0]['a'])


def test_merge_key_needs_a_mapping() -> None:
    from gitops_config.sops.errors import SopsFormatError
    from gitops_config.sops.stores.yaml_load import load

    with pytest.raises(SopsFormatError, match='map merge requires'):
        load('a:\n    <<: x\n', 'x.yaml')
    assert load('a: &a\n    k: 1\nb:\n    <<: *a\n', 'x.yaml')[0].get('b') == [('<<', [('k', 1)])]


def test_relative_path_is_matched_from_config_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rules(tmp_path, 'creation_rules:\n  - path_regex: ^rendered/dev/\n    age: age1dev\n')
    monkeypatch.chdir('/')
    assert rule_for(Path('rendered/dev/x.yaml'), config_root=tmp_path).recipients() == ['age1dev']
