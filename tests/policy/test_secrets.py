from __future__ import annotations

import pytest

from gitops_config.policy.secrets import creation_rules
from gitops_config.policy.secrets import plaintext_secrets
from gitops_config.policy.secrets import scan_text
from gitops_config.policy.secrets import secret_key
from gitops_config.policy.secrets import unencrypted


@pytest.mark.parametrize('key', [
    'password', 'db_password', 'api_key', 'apiKey', 'x-api-key', 'master_key', 'MASTER_KEY',
    'client_secret', 'token', 'access_token', 'privateKey', 'credentials', 'passphrase'])
def test_keys_named_like_secrets(key: str) -> None:
    assert secret_key(key)


@pytest.mark.parametrize('key', [
    'max_tokens', 'tpm', 'key', 'secretName', 'secret_ref', 'token_ttl', 'api_base',
    'model_name', 'keys', 'primary_key_column'])
def test_keys_that_only_look_close(key: str) -> None:
    assert not secret_key(key)


@pytest.mark.parametrize(('value', 'what'), [
    ('sk-proj-4f9a8b7c6d5e4f3a2b1c', 'OpenAI'),
    ('sk-ant-api03-abcdefghijklmnopqrst', 'OpenAI/Anthropic'),
    ('AKIAIOSFODNN7EXAMPLE', 'AWS'),
    ('ghp_' + 'a' * 36, 'GitHub'),
    ('Bearer abcdefghijklmnopqrstuvwxyz012345', 'bearer'),
    ('-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', 'private key'),
    ('-----BEGIN OPENSSH PRIVATE KEY-----', 'private key'),
    ('AGE-SECRET-KEY-1' + 'Q' * 58, 'age secret key'),
])
def test_credential_shapes_are_found_under_any_key(value: str, what: str) -> None:
    [hit] = plaintext_secrets({'notes': {'anything': value}})
    assert hit['path'] == ['notes', 'anything']
    assert what in hit['message']


@pytest.mark.parametrize('value', [
    '<secret>', 'ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]', 'os.environ/OPENAI_API_KEY',
    '${OPENAI_API_KEY}', '{{ .Values.key }}', '', 'SEALED-SECRET-0123456789abcdef'])
def test_encrypted_or_referenced_values_pass(value: str) -> None:
    assert plaintext_secrets({'api_key': value, 'password': value}) == []


def test_sops_metadata_is_never_flagged() -> None:
    doc = {'sops': {'age': [{'enc': '-----BEGIN AGE ENCRYPTED FILE-----\nabc'}],
                    'mac': 'ENC[...]'}}
    assert plaintext_secrets(doc) == []


def test_extra_key_patterns_from_the_project() -> None:
    import re

    assert plaintext_secrets({'dsn': 'postgres://u:p@h/db'}) == []
    assert len(plaintext_secrets({'dsn': 'postgres://u:p@h/db'}, [re.compile('^dsn$')])) == 1


def test_text_files_are_scanned_line_by_line() -> None:
    text = 'OPENAI=fine\nOPENAI_API_KEY=sk-proj-4f9a8b7c6d5e4f3a2b1c\n'
    assert scan_text(text) == [(2, 16, 'an OpenAI/Anthropic-style API key (sk-...)')]


SOPS = '''\
creation_rules:
  - path_regex: secrets/.*\\.yaml$
    encrypted_regex: ^(password|api_key)$
  - path_regex: rendered/.*
'''


def test_creation_rules_say_which_values_must_be_encrypted() -> None:
    rules = creation_rules(SOPS)
    doc = {'db': {'password': 'plain', 'host': 'db.local'},
           'api_key': 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]',
           'sops': {'mac': 'ENC[...]', 'encrypted_regex': '^(password|api_key)$'}}
    assert [h['path'] for h in unencrypted(doc, 'secrets/prod.yaml', rules)] == [
        ['db', 'password']]
    assert unencrypted(doc, 'values/prod.yaml', rules) == []


def test_a_covered_file_without_sops_metadata_fails_once() -> None:
    [hit] = unencrypted({'a': 'x', 'b': 'y'}, 'secrets/dev.yaml', creation_rules(SOPS))
    assert 'no sops metadata' in hit['message']
