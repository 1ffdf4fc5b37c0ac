"""What the secrets scan flags, measured on corpora (issue 12 item 3): realistic secret
shapes must be flagged wherever a commit can carry them (values, comments, .env files,
templates, README-like text); realistic strings that are no secret must not be."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from gitops_config import masking
from gitops_config.policy.secrets import plaintext_secrets
from gitops_config.policy.secrets import scan_text
from tests.conftest import RunCli

ROOT = Path(__file__).resolve().parents[2]

# Built from pieces, so that no scanner run on this repository mistakes the file itself.
_PEM = (
    '-----BEGIN {} PRIVATE KEY-----\n'
    'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n'
)
_CERT = (
    '-----BEGIN CERTIFICATE-----\n'
    'MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n'
    '-----END CERTIFICATE-----\n'
)

SECRETS = {
    'openai': 'sk-' + 'proj-' + 'T3BlbkFJq8Zr2LmN5vB7xY1wK4pQ9sD6fG0hJ',
    'anthropic': 'sk-' + 'ant-api03-' + 'Zq9x8W7v6U5t4S3r2Q1p0OnMlKjIhGfEdCbA-aBcD',
    'aws key id': 'AKIA' + 'Z7QX3LMN2PQR8TUV',
    'github': 'ghp_' + 'R8d2Kq9ZmX4vB7nL1tY6wE3sA5fG0hJcPoUi',
    'github fine-grained': 'github_pat_' + '11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789',
    'slack bot': 'xoxb-' + '2481632641-2481632641281-Zq9x8W7v6U5t4S3r2Q1p0On',
    'slack user': 'xoxp-' + '2481632641-2481632641281-2481632641-aBcDeF',
    'private key': _PEM.format('RSA'),
    'openssh key': _PEM.format('OPENSSH'),
    'base64 private key': base64.b64encode(_PEM.format('EC').encode()).decode(),
    'jwt': 'eyJ' + 'hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.'
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    'age identity': 'AGE-SECRET-KEY-' + '1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQ'
    'YQSZQGPQYQSZQGPQYQSZQGPQY',
    'stripe': 'sk_' + 'live_' + '51HqLyjWDarjtT1zdp7dcXBtnN',
    'url password': 'postgres://app:' + 'Vq3rT9zKx2mW' + '@db.internal:5432/app',
}
# A value that only a key named like a secret makes a secret.
NAMED = {
    'aws secret': ('aws_secret_access_key', 'wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYZQ9R2kLm8sTu'),
    'password': ('password', 'Tr0ub4dor&3-xK9q'),
    'db password': ('DB_PASSWORD', 'n7#Qe2!vLp9zRw4s'),
    'api token': ('apiToken', 'c2VjcmV0LXRva2VuLTk4NzY1NDMyMTA='),
    'client secret': ('client_secret', 'Zx8_Yw7-Vu6.Ts5~Rq4'),
}
NOT_SECRETS = {
    'uuid': '3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e3f',
    'image digest': 'ghcr.io/berriai/litellm@sha256:'
    '4d6e1f9b2c8a7e3d5f0b1c9a8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d',
    'sha256': 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    'git sha': '8e1c7f3a9b2d4e6f8a0c1b3d5e7f9a2b4c6d8e0f',
    'public certificate': _CERT,
    'base64 certificate': base64.b64encode(_CERT.encode()).decode(),
    'base64 public key': base64.b64encode(b'-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqh\n').decode(),
    'env reference': 'os.environ/OPENAI_API_KEY',
    'shell reference': '${DATABASE_PASSWORD}',
    'sops value': 'ENC[AES256_GCM,data:q8Zr2Lm=,iv:5vB7xY1wK4pQ9sD6fG0hJ3=,tag:T3BlbkFJ==,'
    'type:str]',
    'k8s names': 'litellm-proxy-7d9f8b6c5-x2k4m',
    'k8s secret ref': 'secretKeyRef: {name: litellm-keys, key: master-key}',
    'age recipient': 'age1ykg3e4n2p72dcmq44mjtcrnp0y7du6lkth9gzxw2l45y5e07t5lsttnnve',
    'pgp fingerprint': 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4',
    'url without password': 'https://hooks.internal.example.com:8443/v1/alerts?team=llm',
    'templated url': 'postgres://app:{{ secrets.db_password }}@db:5432/app',
    'aws arn': 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'model name': 'anthropic/claude-3-5-sonnet-20241022',
    'semver': 'main-v1.56.2',
    'placeholder': 'your-api-key-here',
    'prose': 'rotate the token every 90 days; ask #platform for the password',
    'disk words': 'disk-pressure-eviction-threshold',
}
NOT_NAMED = {  # plain values under keys named like secrets that prose or docs hold
    'reference': ('api_key', 'os.environ/OPENAI_API_KEY'),
    'placeholder': ('password', 'changeme'),
    'stars': ('token', '********'),
    'word': ('secret', 'rotated'),
    'example': ('OPENAI_API_KEY', 'your-openai-key'),
}


@pytest.mark.parametrize('name', SECRETS)
def test_every_secret_shape_is_flagged_wherever_it_is(name: str) -> None:
    secret = SECRETS[name]
    first = secret.splitlines()[0]
    assert plaintext_secrets({'note': secret}), name  # a value, under any key
    assert scan_text(f'key: value  # was {first}\n', comments=True), name  # a comment
    assert scan_text(f'NOTE="{first}"\n'), name  # a .env file, a README, a template
    assert masking.mask_text(f'error near {secret}!') != f'error near {secret}!'


@pytest.mark.parametrize('name', NAMED)
def test_a_random_value_under_a_secret_s_name_is_flagged(name: str) -> None:
    key, value = NAMED[name]
    assert plaintext_secrets({key: value})
    assert scan_text(f'{key}={value}\n')  # .env
    assert scan_text(f'{key}: "{value}"\n')  # README, template
    assert scan_text(f'x: 1  # {key}: {value}\n', comments=True)
    assert scan_text(f'{{"{key}": "{value}"}}\n')  # JSON-ish text
    assert value not in masking.mask_text(f'failed with {key}={value}')


@pytest.mark.parametrize('name', NOT_SECRETS)
def test_what_is_no_secret_is_not_flagged(name: str) -> None:
    value = NOT_SECRETS[name]
    for key in ('image', 'digest', 'id', 'note', 'name', 'url', 'recipient'):
        assert plaintext_secrets({key: value}) == [], (name, key)
    assert scan_text(value) == [], name
    assert scan_text(f'image: x  # {value}\n', comments=True) == [], name
    assert masking.mask_text(value) == value


@pytest.mark.parametrize('name', NOT_NAMED)
def test_prose_and_placeholders_in_text_are_not_flagged(name: str) -> None:
    key, value = NOT_NAMED[name]
    assert scan_text(f'{key}={value}\n') == []
    assert scan_text(f'# set {key}: {value} in your shell\n', comments=True) == []


def test_a_yaml_comment_is_told_from_a_hash_in_a_value() -> None:
    text = (
        "url: 'https://x/#anchor sk-" + 'proj-T3BlbkFJq8Zr2LmN5vB7x' + "'\n"
        'color: "#fff"  # sk-' + 'proj-T3BlbkFJq8Zr2LmN5vB7x\n'
    )
    assert scan_text(text, comments=True) == [
        (2, 18, 'looks like an OpenAI/Anthropic-style API key (sk-...)')
    ]


def test_example_repo_has_no_finding_but_its_waived_demo_key(run_cli: RunCli) -> None:
    files = [
        p.relative_to(ROOT / 'example-repo').as_posix()
        for p in sorted((ROOT / 'example-repo').rglob('*'))
        if p.is_file() and 'rendered' not in p.parts
    ]
    result = run_cli('hook', 'secrets', *files, cwd=ROOT / 'example-repo')
    assert result.exit_code == 0, result.stdout
    assert not re.search(r'error', result.stdout)
