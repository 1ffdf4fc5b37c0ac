from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config.policy.secrets import _plaintext
from gitops_config.policy.secrets import creation_rules
from gitops_config.policy.secrets import credential
from gitops_config.policy.secrets import plaintext_secrets
from gitops_config.policy.secrets import scan_text
from gitops_config.policy.secrets import secret_key
from gitops_config.policy.secrets import unencrypted


@pytest.mark.parametrize(
    'key',
    [
        'password',
        'db_password',
        'api_key',
        'apiKey',
        'x-api-key',
        'master_key',
        'MASTER_KEY',
        'client_secret',
        'token',
        'access_token',
        'privateKey',
        'credentials',
        'passphrase',
    ],
)
def test_keys_named_like_secrets(key: str) -> None:
    assert secret_key(key)


@pytest.mark.parametrize(
    'key',
    [
        'max_tokens',
        'tpm',
        'key',
        'secretName',
        'secret_ref',
        'token_ttl',
        'api_base',
        'model_name',
        'keys',
        'primary_key_column',
    ],
)
def test_keys_that_only_look_close(key: str) -> None:
    assert not secret_key(key)


@pytest.mark.parametrize(
    ('value', 'what'),
    [
        ('sk-proj-4f9a8b7c6d5e4f3a2b1c', 'OpenAI'),
        ('sk-ant-api03-abcdefghijklmnopqrst', 'OpenAI/Anthropic'),
        ('AKIAIOSFODNN7EXAMPLE', 'AWS'),
        ('ghp_' + 'a' * 36, 'GitHub'),
        ('Bearer abcdefghijklmnopqrstuvwxyz012345', 'bearer'),
        ('-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', 'private key'),
        ('-----BEGIN OPENSSH PRIVATE KEY-----', 'private key'),
        ('AGE-SECRET-KEY-1' + 'Q' * 58, 'age secret key'),
    ],
)
def test_credential_shapes_are_found_under_any_key(value: str, what: str) -> None:
    [hit] = plaintext_secrets({'notes': {'anything': value}})
    assert hit['path'] == ['notes', 'anything']
    assert what in hit['message']


@pytest.mark.parametrize(
    'value',
    [
        '<secret>',
        'ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]',
        'os.environ/OPENAI_API_KEY',
        '${OPENAI_API_KEY}',
        '{{ .Values.key }}',
        '',
        'SEALED-SECRET-0123456789abcdef',
    ],
)
def test_encrypted_or_referenced_values_pass(value: str) -> None:
    assert plaintext_secrets({'api_key': value, 'password': value}) == []


def test_sops_metadata_is_never_flagged() -> None:
    doc = {'sops': {'age': [{'enc': '-----BEGIN AGE ENCRYPTED FILE-----\nabc'}], 'mac': 'ENC[...]'}}
    assert plaintext_secrets(doc) == []


def test_extra_key_patterns_from_the_project() -> None:
    import re

    assert plaintext_secrets({'dsn': 'postgres://u:p@h/db'}) == []
    assert len(plaintext_secrets({'dsn': 'postgres://u:p@h/db'}, [re.compile('^dsn$')])) == 1


def test_text_files_are_scanned_line_by_line() -> None:
    text = 'OPENAI=fine\nOPENAI_API_KEY=sk-proj-4f9a8b7c6d5e4f3a2b1c\n'
    assert scan_text(text) == [(2, 16, 'looks like an OpenAI/Anthropic-style API key (sk-...)')]


SOPS = """\
creation_rules:
  - path_regex: secrets/.*\\.yaml$
    encrypted_regex: ^(password|api_key)$
  - path_regex: rendered/.*
"""


def test_creation_rules_say_which_values_must_be_encrypted() -> None:
    rules = creation_rules(SOPS)
    doc = {
        'db': {'password': 'plain', 'host': 'db.local'},
        'api_key': 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]',
        'sops': {'mac': 'ENC[...]', 'encrypted_regex': '^(password|api_key)$'},
    }
    assert [h['path'] for h in unencrypted(doc, 'secrets/prod.yaml', rules)] == [['db', 'password']]
    assert unencrypted(doc, 'values/prod.yaml', rules) == []


def test_a_covered_file_without_sops_metadata_fails_once() -> None:
    [hit] = unencrypted({'a': 'x', 'b': 'y'}, 'secrets/dev.yaml', creation_rules(SOPS))
    assert 'no sops metadata' in hit['message']


def _reference(
    node: Any, path: list[Any], key: str | None, extra: Sequence[re.Pattern[str]]
) -> list[dict[str, Any]]:
    """The plain recursive walk: every leaf visited, every check made."""
    if isinstance(node, dict):
        return [
            hit
            for k, v in node.items()
            if path or k != 'sops'
            for hit in _reference(v, [*path, k], k if isinstance(k, str) else key, extra)
        ]
    if isinstance(node, list):
        return [hit for i, v in enumerate(node) for hit in _reference(v, [*path, i], key, extra)]
    if not _plaintext(node):
        return []
    what = credential(node)
    if what is not None:
        return [{'path': path, 'message': f'looks like {what}'}]
    if key is not None and secret_key(key, extra):
        return [{'path': path, 'message': f'{key!r} is named like a secret'}]
    return []


_LEAVES = st.one_of(
    st.sampled_from(
        [
            'hunter2-hunter2',
            'AKIAIOSFODNN7EXAMPLE',
            '',
            '  ',
            'ENC[AES256_GCM,x]',
            '${VAR}',
            'plain',
            '<secret>',
            'ghp_' + 'a' * 36,
        ]
    ),
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
_KEYS = st.sampled_from(['password', 'api_key', 'name', 'token', 'custom', 'sops', 'x', 'dbPass'])
_DOCS = st.recursive(
    _LEAVES,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(_KEYS, kids, max_size=4)),
    max_leaves=25,
)


@given(_DOCS)
@settings(max_examples=300, deadline=None)
def test_the_walk_finds_what_visiting_every_leaf_finds(doc: Any) -> None:
    extra = [re.compile('^custom$')]
    assert plaintext_secrets(doc, extra) == _reference(doc, [], None, extra)
