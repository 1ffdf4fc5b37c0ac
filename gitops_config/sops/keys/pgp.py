"""PGP master keys through the gpg binary (GNUPGHOME and SOPS_GPG_EXEC honoured)."""

from __future__ import annotations

from gitops_config import process
from gitops_config.sops.format import now_rfc3339
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.sops.metadata import MasterKey


class PgpSource:
    def wrap(self, recipient: str, data: bytes, ring: KeyRing) -> MasterKey:
        fp = recipient.replace(' ', '')
        out = process.run(
            [
                ring.gpg(),
                '--batch',
                '--no-default-recipient',
                '--yes',
                '--encrypt',
                '-a',
                '-r',
                fp,
                '--trusted-key',
                fp[-16:],
                '--no-encrypt-to',
            ],
            stdin=data,
            env=ring.environ,
        )
        return MasterKey(
            'pgp',
            {
                'created_at': now_rfc3339(),
                'enc': out.stdout.decode().strip(),
                'fp': fp,
            },
        )

    def unwrap(self, key: MasterKey, ring: KeyRing) -> bytes | None:
        if not key.enc:
            return None
        try:
            out = process.run(
                [ring.gpg(), '--batch', '--quiet', '-d'],
                stdin=key.enc.encode(),
                env=ring.environ,
                check=False,
            )
        except process.ProcessError:
            return None  # no gpg installed: this key cannot help
        if out.returncode != 0:
            return None
        return out.stdout


SOURCE = PgpSource()
