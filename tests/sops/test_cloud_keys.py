"""AWS KMS and Vault transit keys, mixed with age and PGP, end to end: a real KMS
endpoint (moto's server) and a Vault transit server on loopback, reached by the real
sops binary and by us (through the same sops, for the data key only)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitops_config.cli.main import cli
from gitops_config.sops import decrypt_file
from gitops_config.sops import open_values
from tests._helpers.aws_kms import MotoKms
from tests._helpers.vault import TOKEN
from tests._helpers.vault import FakeVault
from tests.sops.conftest import PGP_FP
from tests.sops.conftest import AgeKey
from tests.sops.conftest import sops
from tests.sops.conftest import write_rules

PLAIN = 'db:\n    password: hunter2\n    port: 5432\napi_key: sk-cloud-0123456789\n'
NO_AGE = {'SOPS_AGE_KEY_FILE': '/nonexistent/keys.txt'}  # sops must use the cloud key
ENC = re.compile(r'ENC\[AES256_GCM[^\]]*\]')


def sops_exe() -> str:
    exe = shutil.which('sops')
    assert exe is not None
    return exe


@dataclass(frozen=True)
class Cloud:
    kind: str
    rule: str  # the .sops.yaml creation-rule field
    flag: str  # sops's command-line flag
    ident: str  # how the key is named
    metadata: str  # what the file's sops section shows for it


@pytest.fixture(autouse=True)
def vault_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vault's client retries a refused connection for seconds; the tests need no retry."""
    monkeypatch.setenv('VAULT_MAX_RETRIES', '0')


@pytest.fixture(scope='session')
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoKms]:
    server = MotoKms(tmp_path_factory.mktemp('moto') / 'moto.log')
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(moto: MotoKms, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoKms:
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-aws-config'))
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'no-aws-credentials'))
    return moto


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVault]:
    fake = FakeVault()
    fake.start()
    monkeypatch.setenv('VAULT_ADDR', fake.address)
    monkeypatch.setenv('VAULT_TOKEN', TOKEN)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(params=['kms', 'vault'])
def cloud(request: pytest.FixtureRequest) -> Cloud:
    if request.param == 'kms':
        arn = request.getfixturevalue('aws').create_key()
        return Cloud('kms', 'kms', '--kms', arn, f'arn: {arn}')
    server: FakeVault = request.getfixturevalue('vault')
    uri = f'{server.address}/v1/transit/keys/app'
    return Cloud(
        'hc_vault',
        'hc_vault_transit_uri',
        '--hc-vault-transit',
        uri,
        f'vault_address: {server.address}',
    )


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


def _ciphertexts(path: Path) -> list[str]:
    return ENC.findall(path.read_text().split('\nsops:')[0])


def _sops_written(tmp_path: Path, cloud: Cloud, *more: str) -> Path:
    plain = tmp_path / 'plain.yaml'
    plain.write_text(PLAIN)
    path = tmp_path / 'secrets.yaml'
    path.write_bytes(sops('encrypt', cloud.flag, cloud.ident, *more, str(plain), cwd=tmp_path))
    return path


def _ours_encrypted(tmp_path: Path, rule: str) -> tuple[Path, int, str]:
    """PLAIN in secrets.yaml, encrypted in place by us under the creation RULE: the file,
    the exit code and stderr."""
    write_rules(tmp_path, f'creation_rules:\n  - {rule}')
    path = tmp_path / 'secrets.yaml'
    path.write_text(PLAIN)
    code, err = _run('secrets', 'encrypt', '-i', str(path))
    return path, code, err


def test_ours_written_real_sops_reads(
    cloud: Cloud, tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    path, code, err = _ours_encrypted(
        tmp_path, f'age: {age_keys[0].recipient}\n    {cloud.rule}: {cloud.ident}\n'
    )
    assert code == 0, err
    text = path.read_text()
    assert cloud.metadata in text
    assert 'hunter2' not in text
    assert sops('decrypt', str(path), env=NO_AGE) == PLAIN.encode()  # by the cloud key
    assert sops('decrypt', str(path)) == PLAIN.encode()  # by the age key
    assert not list(tmp_path.glob('gitops-config-*'))


def test_real_sops_written_ours_reads(cloud: Cloud, tmp_path: Path) -> None:
    path = _sops_written(tmp_path, cloud)
    assert decrypt_file(path) == PLAIN.encode()
    values = open_values(path.read_bytes(), str(path), sealed=False)
    assert isinstance(values, dict)
    assert values['db']['password'].reveal() == 'hunter2'


def test_set_keeps_the_other_ciphertexts(cloud: Cloud, tmp_path: Path) -> None:
    path = _sops_written(tmp_path, cloud)
    before_values, before = _ciphertexts(path), path.read_text()
    code, err = _run('secrets', 'set', str(path), 'db.password', 'changed')
    assert code == 0, err
    after_values, after = _ciphertexts(path), path.read_text()
    assert [a == b for a, b in zip(before_values, after_values, strict=True)] == [False, True, True]
    # the wrapped data key is kept as sops wrote it
    key_lines = [line for line in before.splitlines() if 'enc:' in line]
    assert key_lines
    assert all(line in after.splitlines() for line in key_lines)
    assert sops('decrypt', str(path), env=NO_AGE) == PLAIN.replace('hunter2', 'changed').encode()


def test_rotate_and_updatekeys_give_files_real_sops_opens(
    cloud: Cloud, tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    path = _sops_written(tmp_path, cloud)
    before = path.read_text()
    code, err = _run('secrets', 'rotate', str(path))
    assert code == 0, err
    rotated = path.read_text()
    enc = re.compile(r'^ +enc: (.*)$', re.M)
    assert enc.findall(before) != enc.findall(rotated)
    assert _ciphertexts(path) != ENC.findall(before.split('\nsops:')[0])
    assert sops('decrypt', str(path), env=NO_AGE) == PLAIN.encode()

    write_rules(
        tmp_path,
        f'creation_rules:\n  - {cloud.rule}: {cloud.ident}\n'
        f'    age: {age_keys[1].recipient}\n    pgp: {PGP_FP}\n',
    )
    code, err = _run('secrets', 'updatekeys', str(path))
    assert code == 0, err
    assert 'keys updated' in err
    text = path.read_text()
    assert age_keys[1].recipient in text
    assert PGP_FP in text
    assert sops('decrypt', str(path), env=NO_AGE) == PLAIN.encode()  # cloud (or pgp) key
    assert sops('decrypt', str(path)) == PLAIN.encode()
    code, err = _run('secrets', 'updatekeys', str(path))
    assert 'already up to date' in err


def test_key_groups_mix_age_pgp_kms_and_vault(
    aws: MotoKms,
    vault: FakeVault,
    tmp_path: Path,
    age_keys: tuple[AgeKey, AgeKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three groups, two needed: {age, pgp}, {kms}, {vault}; either side opens either's."""

    arn = aws.create_key()
    uri = f'{vault.address}/v1/transit/keys/groups'
    write_rules(
        tmp_path,
        f'creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n'
        f'      - age: [{age_keys[0].recipient}]\n        pgp: [{PGP_FP}]\n'
        f'      - kms:\n          - arn: {arn}\n'
        f'            context: {{app: gateway}}\n'
        f'      - hc_vault: [{uri}]\n',
    )
    plain = tmp_path / 'plain.yaml'
    plain.write_text(PLAIN)
    ours = tmp_path / 'ours.yaml'
    ours.write_text(PLAIN)
    code, err = _run('secrets', 'encrypt', '-i', str(ours))
    assert code == 0, err
    assert 'app: gateway' in ours.read_text()
    no_age_no_pgp = {**NO_AGE, 'SOPS_GPG_EXEC': 'false'}
    assert sops('decrypt', str(ours), env=no_age_no_pgp) == PLAIN.encode()  # cloud shares
    theirs = tmp_path / 'theirs.yaml'
    theirs.write_bytes(sops('encrypt', str(plain), cwd=tmp_path))
    before = len(vault.requests)
    assert decrypt_file(theirs) == PLAIN.encode()  # age, then KMS: Vault is not asked
    assert len(vault.requests) == before
    for name, value in no_age_no_pgp.items():
        monkeypatch.setenv(name, value)
    assert decrypt_file(theirs) == PLAIN.encode()  # the kms and vault shares
    assert len(vault.requests) == before + 1


def test_a_vault_error_names_the_key_as_written(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    """Nothing listens at the address: one line naming the key URL as .sops.yaml has it."""
    uri = 'http://127.0.0.1:1/v1/transit/keys/app'
    path, code, err = _ours_encrypted(
        tmp_path, f'age: {age_keys[0].recipient}\n    hc_vault_transit_uri: {uri}\n'
    )
    assert code == 3, err
    first = err.splitlines()[0]
    assert first.startswith('error: ')
    assert f'sops could not encrypt the data key for {uri}: ' in first
    assert 'connection refused' in first
    assert 'None' not in err
    assert 'VAULT_TOKEN' in err  # the hint
    assert path.read_text() == PLAIN


@pytest.mark.parametrize(
    ('uri', 'engine', 'name'),
    [
        ('http://127.0.0.1:1/v1/transit/keys/app', 'transit', 'app'),
        ('http://127.0.0.1:1/v1/team/a/transit/keys/app', 'team/a/transit', 'app'),
        ('https://127.0.0.1:1/v1/transit/keys/app/', 'transit', 'app'),
        ('127.0.0.1:1/v1/transit/keys/app', None, None),  # no scheme
        ('http://127.0.0.1:1/vault/v1/transit/keys/app', None, None),  # behind a prefix
        ('http://127.0.0.1:1/v1/transit/app', None, None),
    ],
)
def test_vault_key_urls_are_split_as_sops_splits_them(
    uri: str, engine: str | None, name: str | None, tmp_path: Path
) -> None:
    from gitops_config.sops import rules
    from gitops_config.sops.errors import RulesError

    plain = tmp_path / 'plain.yaml'
    plain.write_text(PLAIN)
    exe = sops_exe()
    theirs = subprocess.run(
        [exe, 'encrypt', '--hc-vault-transit', uri, str(plain)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert theirs.returncode != 0  # nothing answers on port 1
    sops_parsed = 'connection refused' in theirs.stderr
    if engine is None:
        assert not sops_parsed, theirs.stderr
        with pytest.raises(RulesError, match='not a Vault transit key URL'):
            rules.explicit_rule({'hc_vault': [uri]}, None)
        return
    assert sops_parsed, theirs.stderr
    [[key]] = rules.explicit_rule({'hc_vault': [uri]}, None).key_groups
    assert key.fields['engine_path'] == engine
    assert key.fields['key_name'] == name
    assert key.fields['vault_address'] == uri.split('/v1/')[0]
    assert f'master key "{key.identity()}"' in theirs.stderr  # sops names it the same


def test_a_wrong_vault_token_is_one_line_and_render_goes_on_sealed(
    vault: FakeVault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f'{vault.address}/v1/transit/keys/app'
    path = _sops_written(tmp_path, Cloud('hc_vault', '', '--hc-vault-transit', uri, ''))
    monkeypatch.setenv('VAULT_TOKEN', 'hvs.wrong')
    code, err = _run('secrets', 'decrypt', str(path))
    assert code == 3
    assert err.startswith('error: sops-no-key: ')
    assert 'permission denied' in err.splitlines()[0]
    assert 'hunter2' not in err
    sealed = open_values(path.read_bytes(), str(path), sealed=True)
    assert isinstance(sealed, dict)
    assert str(sealed['db']['password']) == '****'


def test_a_gcp_key_reaches_sops_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GCP KMS emulator that sops can reach runs here: what is checked is that the key
    goes to sops as .sops.yaml names it, and sops's own reason comes back in one line."""
    gcp = 'projects/p/locations/global/keyRings/r/cryptoKeys/k'
    monkeypatch.setenv('GOOGLE_APPLICATION_CREDENTIALS', str(tmp_path / 'none.json'))
    path, code, err = _ours_encrypted(tmp_path, f'gcp_kms: {gcp}\n')
    assert code == 3, err
    assert f'sops could not encrypt the data key for {gcp}: ' in err
    assert 'none.json: no such file' in err.splitlines()[0]
    assert path.read_text() == PLAIN


def test_azure_keys_go_to_sops_as_its_config_names_them(tmp_path: Path) -> None:
    """Azure Key Vault (no emulator here, and its client retries for seconds): the flat
    URL and the key_groups mapping give the same key, in the form sops's config reads."""
    import json

    from gitops_config.sops import rules
    from gitops_config.sops.errors import RulesError
    from gitops_config.sops.keys import cloud

    url = 'https://team.vault.azure.net/keys/gateway/0123abcd'
    write_rules(
        tmp_path,
        f'creation_rules:\n  - path_regex: flat\n    azure_keyvault: {url}\n'
        '  - key_groups:\n      - azure_keyvault:\n'
        '          - {vaultUrl: "https://team.vault.azure.net", '
        'key: gateway, version: 0123abcd}\n',
    )
    [flat] = rules.rule_for(tmp_path / 'flat.yaml').key_groups[0]
    [mapped] = rules.rule_for(tmp_path / 'other.yaml').key_groups[0]
    assert flat == mapped
    assert flat.identity() == url
    assert (flat.fields['vault_url'], flat.fields['name'], flat.fields['version']) == (
        'https://team.vault.azure.net',
        'gateway',
        '0123abcd',
    )
    config = json.loads(cloud._config([flat]))
    assert config['creation_rules'][0]['key_groups'][0]['azure_keyvault'] == [
        {'vaultUrl': 'https://team.vault.azure.net', 'key': 'gateway', 'version': '0123abcd'}
    ]
    for bad in ('http://team.vault.azure.net/keys/gateway/1', 'https://team/keys/gateway'):
        with pytest.raises(RulesError, match='not an Azure Key Vault key URL'):
            rules.explicit_rule({'azure_kv': [bad]}, None)


def test_render_encrypts_secret_output_for_an_environments_cloud_recipients(
    aws: MotoKms, vault: FakeVault, tmp_path: Path
) -> None:
    """prod's layer opens only by a KMS key; its rendered secret goes to the KMS key and
    a Vault key that the project file names: real sops opens it by either."""
    arn = aws.create_key()
    uri = f'{vault.address}/v1/transit/keys/prod'
    (tmp_path / 'templates').mkdir()
    (tmp_path / 'templates/secret.yaml.j2').write_text('token: {{ api_key }}\nname: gw\n')
    (tmp_path / 'values.yaml').write_text('name: gw\n')
    (tmp_path / 'gitops-config.yaml').write_text(
        'version: 1\nenvironments:\n  - name: prod\n'
        '    layers: [values.yaml, secrets.enc.yaml]\n'
        f'    recipients: [{arn}, {uri}]\ntemplates: templates\noutput: rendered/{{env}}\n'
    )
    plain = tmp_path / 'plain.yaml'
    plain.write_text('api_key: sk-rendered-0123456789\n')
    (tmp_path / 'secrets.enc.yaml').write_bytes(sops('encrypt', '--kms', arn, str(plain)))
    plain.unlink()
    code, err = _run('-C', str(tmp_path), 'render')
    assert code == 0, err
    output = tmp_path / 'rendered/prod/secret.yaml'
    text = output.read_text()
    assert 'sk-rendered' not in text
    assert f'arn: {arn}' in text
    assert f'vault_address: {vault.address}' in text
    assert sops('decrypt', str(output), env=NO_AGE) == b'token: sk-rendered-0123456789\nname: gw\n'
