"""Fallback for KMS/GCP/Azure/Vault keys: let a `sops` executable decrypt.

Cloud key services need their SDKs and credentials; rather than carry them,
we hand the whole file to sops when it is on PATH.
"""

from __future__ import annotations

import shutil

from gitops_config import process
from gitops_config.sops import keys
from gitops_config.sops.engine import SopsFile
from gitops_config.sops.errors import KeySourceError

_NATIVE = ('age', 'pgp')


def decrypt_with_sops(data: bytes, sf: SopsFile, *, ignore_mac: bool) -> bytes | None:
    """Plaintext from `sops -d`, or None when it cannot help (no cloud keys, no sops)."""
    if all(k.kind in _NATIVE for k in sf.meta.master_keys()):
        return None
    exe = shutil.which('sops')
    if exe is None:
        raise keys.no_key_error(sf.meta, sf.path)
    kind = {'yaml': 'yaml', 'json': 'json', 'dotenv': 'dotenv', 'ini': 'ini'}.get(
        sf.store.name, 'binary')
    argv = [exe, 'decrypt', '--input-type', kind, '--output-type', kind]
    if ignore_mac:
        argv.append('--ignore-mac')
    out = process.run([*argv, '/dev/stdin'], stdin=data, check=False)
    if out.returncode != 0:
        err = out.stderr.decode(errors='replace').strip().splitlines()
        raise KeySourceError(f'{sf.path}: sops could not decrypt it: {err[-1] if err else ""}',
                             hint=str(keys.no_key_error(sf.meta, sf.path).message))
    return out.stdout
