"""PGP master keys through the gpg binary (GNUPGHOME and SOPS_GPG_EXEC honoured)."""

from __future__ import annotations

import os

from gitops_config import process
from gitops_config.sops.keys import now_rfc3339
from gitops_config.sops.metadata import MasterKey


def _gpg() -> str:
    return os.environ.get('SOPS_GPG_EXEC') or 'gpg'


class PgpSource:
    def wrap(self, recipient: str, data: bytes) -> MasterKey:
        fp = recipient.replace(' ', '')
        out = process.run(
            [_gpg(), '--batch', '--no-default-recipient', '--yes', '--encrypt', '-a',
             '-r', fp, '--trusted-key', fp[-16:], '--no-encrypt-to'],
            stdin=data,
        )
        return MasterKey('pgp', {
            'created_at': now_rfc3339(), 'enc': out.stdout.decode().strip(), 'fp': fp,
        })

    def unwrap(self, key: MasterKey) -> bytes | None:
        if not key.enc:
            return None
        try:
            out = process.run([_gpg(), '--batch', '--quiet', '-d'], stdin=key.enc.encode(),
                              check=False)
        except process.ProcessError:
            return None  # no gpg installed: this key cannot help
        if out.returncode != 0:
            return None
        return out.stdout


SOURCE = PgpSource()
