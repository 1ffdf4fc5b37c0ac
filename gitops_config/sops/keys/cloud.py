"""AWS KMS, GCP KMS, Azure Key Vault and Vault transit master keys, through `sops`.

Only the data key ever goes to sops: values are encrypted and decrypted here, so inline
edits keep every untouched ciphertext. sops has no command that wraps a given data key,
but `sops updatekeys` re-wraps a file's data key for the keys a config names. So, for
one key group at a time:
- wrap: a throwaway file holds the data key for a throwaway age identity (handed to sops
  in its environment, never written); its config names the group's cloud keys, and
  sops writes their `enc` entries, which we take over.
- unwrap: a throwaway file holds the group's cloud keys as the real file has them; its
  config names a throwaway age recipient, and we open what sops wrote for it.
Credentials are sops's own (AWS profiles and roles, GCP application default
credentials, Azure's credential chain, VAULT_TOKEN or ~/.vault-token), so a machine
that runs sops for these files runs gitops-config too. The throwaway files live in a
private (0700) folder that is removed afterwards and never hold plaintext values.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

from gitops_config import process
from gitops_config.sops import metadata as md
from gitops_config.sops.errors import KeySourceError
from gitops_config.sops.errors import RulesError
from gitops_config.sops.keys import age
from gitops_config.sops.metadata import MasterKey
from gitops_config.sops.tree import Branch

if TYPE_CHECKING:
    from gitops_config.sops.keys.ring import KeyRing  # ring imports age, which is ours

KINDS = frozenset(('kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault'))
# a KMS or Vault round trip can retry for a while; a hung endpoint must not hang us
_TIMEOUT = 300
_NAME = 'key.yaml'
_VAULT_PATH = re.compile(r'/v\d+/[^/]+/[^/]+/[^/]+')
_VAULT_PREFIXED = re.compile(r'/[^/]+/v\d+/[^/]+/[^/]+/[^/]+')
_AZURE_URL = re.compile(r'^(https://[^/]+)/keys/([^/]+)/([^/]+)$')


# -- keys as .sops.yaml and the command line name them --------------------------------


def kms_key(
    arn: str, *, role: str = '', context: dict[str, str] | None = None, aws_profile: str = ''
) -> MasterKey:
    """An AWS KMS key; `ARN+ROLE_ARN` names a role to assume, as in sops."""
    arn = arn.replace(' ', '')
    if '+' in arn and not role:
        arn, role = arn.split('+', 1)
    return MasterKey(
        'kms',
        {
            'arn': arn,
            'role': role,
            'context': context or {},
            'created_at': '',
            'enc': '',
            'aws_profile': aws_profile,
        },
    )


def gcp_key(resource_id: str) -> MasterKey:
    return MasterKey(
        'gcp_kms', {'resource_id': resource_id.replace(' ', ''), 'created_at': '', 'enc': ''}
    )


def hckms_key(key_id: str) -> MasterKey:
    return MasterKey('hckms', {'key_id': key_id.strip(), 'created_at': '', 'enc': ''})


def azure_key(url: str, where: str) -> MasterKey:
    """From `https://VAULT.vault.azure.net/keys/NAME/VERSION`, as sops splits it."""
    match = _AZURE_URL.match(url.strip())
    if match is None:
        raise RulesError(
            f'{where}: {url!r} is not an Azure Key Vault key URL',
            hint='write it as https://VAULT.vault.azure.net/keys/NAME/VERSION',
        )
    return azure_parts(*match.groups())


def is_azure_url(name: str) -> bool:
    return _AZURE_URL.match(name.strip()) is not None


def azure_parts(vault_url: str, name: str, version: str) -> MasterKey:
    return MasterKey(
        'azure_kv',
        {'vault_url': vault_url, 'name': name, 'version': version, 'created_at': '', 'enc': ''},
    )


def vault_key(uri: str, where: str) -> MasterKey:
    """From `https://vault:8200/v1/ENGINE/keys/NAME`, as sops splits it: the address,
    the engine path (which may hold slashes) and the key name."""
    hint = 'write it as https://vault.example.com:8200/v1/transit/keys/NAME'
    parts = urlsplit(uri.strip())
    if not parts.scheme or not parts.netloc:
        raise RulesError(f'{where}: {uri!r} is not a Vault transit key URL (no scheme)', hint=hint)
    if _VAULT_PREFIXED.search(parts.path) or not _VAULT_PATH.search(parts.path):
        raise RulesError(f'{where}: {uri!r} is not a Vault transit key URL', hint=hint)
    steps = parts.path.strip('/').split('/')
    address = f'{parts.scheme}://{parts.netloc}'
    return MasterKey(
        'hc_vault',
        {
            'vault_address': address,
            'engine_path': '/'.join(steps[1:-2]),
            'key_name': steps[-1],
            'created_at': '',
            'enc': '',
        },
    )


def _rule_entry(key: MasterKey) -> tuple[str, Any]:
    """KEY as a .sops.yaml key group names it (field name, entry)."""
    f = key.fields
    if key.kind == 'kms':
        entry: dict[str, Any] = {'arn': f.get('arn'), 'aws_profile': f.get('aws_profile') or ''}
        if f.get('role'):
            entry['role'] = f['role']
        if f.get('context'):
            entry['context'] = {str(k): str(v) for k, v in dict(f['context']).items()}
        return 'kms', entry
    if key.kind == 'gcp_kms':
        return 'gcp_kms', {'resource_id': f.get('resource_id')}
    if key.kind == 'hckms':
        return 'hckms', {'key_id': f.get('key_id')}
    if key.kind == 'azure_kv':
        return 'azure_keyvault', {
            'vaultUrl': f.get('vault_url'),
            'key': f.get('name'),
            'version': f.get('version'),
        }
    return 'hc_vault', key.identity()


def _config(keys: Sequence[MasterKey]) -> str:
    group: dict[str, list[Any]] = {}
    for key in keys:
        name, entry = _rule_entry(key)
        group.setdefault(name, []).append(entry)
    return json.dumps({'creation_rules': [{'key_groups': [group]}]})  # JSON is YAML


# -- the data key through sops ----------------------------------------------------------


def wrap(keys: Sequence[MasterKey], data: bytes, path: str, ring: KeyRing) -> list[MasterKey]:
    """KEYS with `enc` holding DATA (a data key or a Shamir share), wrapped by sops with
    the credentials of RING's environment."""
    # lazy: pyrage loads only when wrap() runs (start-up)
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    holder = age.SOURCE.wrap(str(identity.to_public()), data)
    out = _updatekeys(
        [holder],
        _config(keys),
        path,
        'encrypt the data key for',
        keys,
        ring,
        identity=str(identity),
    )
    wrapped = [k for k in out if k.kind in KINDS]
    if len(wrapped) != len(keys):
        raise KeySourceError(f'{path}: sops wrapped {len(wrapped)} of {len(keys)} keys')
    return wrapped


def unwrap(keys: Sequence[MasterKey], version: str, path: str, ring: KeyRing) -> bytes:
    """The data (key or share) that KEYS hold, unwrapped by sops with the credentials of
    RING's environment; KeySourceError saying why when none of them opens. Asked once
    per ring, and a failure is not retried (KeyRing says why); in memory only."""
    frozen = tuple((k.kind, json.dumps(k.fields, sort_keys=True, default=str)) for k in keys)
    found = ring.unwrapped.get((frozen, version, path))
    if found is None:
        found = ring.unwrapped[(frozen, version, path)] = _unwrapped(frozen, version, path, ring)
    if isinstance(found, KeySourceError):
        raise found
    return found


def _unwrapped(
    frozen: tuple[tuple[str, str], ...], version: str, path: str, ring: KeyRing
) -> bytes | KeySourceError:
    # lazy: pyrage loads only when _unwrapped() runs (start-up)
    import pyrage

    keys = [MasterKey(kind, json.loads(fields)) for kind, fields in frozen]
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    config = json.dumps({'creation_rules': [{'key_groups': [{'age': [recipient]}]}]})
    try:
        out = _updatekeys(
            keys, config, path, 'decrypt the data key with', keys, ring, version=version
        )
    except KeySourceError as exc:
        return exc
    enc = next((k.enc for k in out if k.kind == 'age'), '')
    try:
        data: bytes = pyrage.decrypt(enc.encode(), [identity])
    except Exception:  # pyrage raises its own unexported types
        return KeySourceError(f'{path}: sops gave no data key for {recipient}')
    return data


def _updatekeys(
    holders: list[MasterKey],
    config: str,
    path: str,
    doing: str,
    keys: Sequence[MasterKey],
    ring: KeyRing,
    *,
    identity: str | None = None,
    version: str | None = None,
) -> list[MasterKey]:
    """Run `sops updatekeys` on a throwaway file whose key group is HOLDERS, with
    CONFIG naming the keys it should have instead; the keys it wrote."""
    # lazy: the sops file reader and writer (stores, YAML emitter) load only when sops
    # is asked; .sops.yaml rules name cloud keys through this module on every command
    from gitops_config.sops import sopsfile

    exe = shutil.which('sops', path=ring.environ.get('PATH'))
    names = ', '.join(k.identity() for k in keys)
    if exe is None:
        raise KeySourceError(
            f'{path}: cannot {doing} {names}: no sops executable on PATH',
            hint='install sops (`pip install "gitops-config[kms]"`, or a release from '
            'github.com/getsops/sops) with the credentials for these keys',
        )
    folder = tempfile.mkdtemp(prefix='gitops-config-keys-')  # mode 0700
    try:
        file = Path(folder) / _NAME
        file.write_bytes(_holder_file(holders, version))
        (Path(folder) / 'sops.json').write_text(config)
        try:
            out = process.run(
                [
                    exe,
                    '--config',
                    str(Path(folder) / 'sops.json'),
                    'updatekeys',
                    '--yes',
                    str(file),
                ],
                env=_environment(ring, identity, folder),
                cwd=folder,
                check=False,
                timeout=_TIMEOUT,
            )
        except process.ProcessError as exc:  # it could not start, or it hung
            raise KeySourceError(
                f'{path}: sops could not {doing} {names}: {exc.message}', hint=HINT
            ) from None
        if out.returncode != 0:
            raise KeySourceError(
                f'{path}: sops could not {doing} {names}: {_reason(out.stderr)}', hint=HINT
            )
        return sopsfile.parse(file.read_bytes(), _NAME).meta.master_keys()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


HINT = (
    'sops reaches these keys with its own credentials: AWS (AWS_PROFILE, '
    'AWS_ACCESS_KEY_ID...), GCP (application default credentials), Azure '
    '(AZURE_CLIENT_ID... or `az login`), Vault (VAULT_TOKEN or ~/.vault-token)'
)


def _holder_file(holders: list[MasterKey], version: str | None) -> bytes:
    # lazy: as in _updatekeys, the file writer loads only when sops is asked
    from gitops_config.sops import sopsfile
    from gitops_config.sops import stores
    from gitops_config.sops.cipher import Cipher

    meta = md.Metadata([list(holders)], version=version or md.VERSION)
    sf = sopsfile.SopsFile(_NAME, stores.for_path(_NAME), [], meta)
    # No values; `updatekeys` never checks the MAC, so a random key seals the empty one
    # (the data may be a 33-byte Shamir share, which is no AES key).
    sf.docs = sopsfile.encrypt_docs([Branch()], meta, Cipher(os.urandom(32)))
    return sopsfile.emit(sf, sf.docs)


def _environment(ring: KeyRing, identity: str | None, folder: str) -> dict[str, str]:
    """The user's environment (cloud credentials), without any SOPS_ setting: the
    throwaway file alone says which keys to use. For wrapping, the throwaway identity is
    the only age key sops loads (no prompt for a passphrase-protected keys file)."""
    env = {k: v for k, v in ring.environ.items() if not k.startswith('SOPS_')}
    if identity is not None:
        env['SOPS_AGE_KEY'] = identity
        env['XDG_CONFIG_HOME'] = folder
    return env


def _reason(stderr: bytes) -> str:
    """The cause in sops's error report: its `- | ...` lines, or its last line."""
    lines = stderr.decode(errors='replace').splitlines()
    detail = [
        line.strip().removeprefix('- ').removeprefix('|').strip()
        for line in lines
        if line.strip().startswith(('- |', '|'))
    ]
    if detail:
        return ' '.join(detail)
    text = [line.strip() for line in lines if line.strip()]
    return text[-1] if text else 'no reason given'
