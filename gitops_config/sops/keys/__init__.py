"""Master keys: wrap the data key for recipients, unwrap it with what we hold.

One module per key kind (age, pgp); cloud KMS keys are left to a `sops`
executable (binary.py), since their credentials live in cloud SDKs.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Protocol

from gitops_config.sops import shamir
from gitops_config.sops.errors import NoKeyError
from gitops_config.sops.metadata import MasterKey
from gitops_config.sops.metadata import Metadata

# sops tries age first, then pgp, then the rest (SOPS_DECRYPTION_ORDER default).
DECRYPTION_ORDER = ('age', 'pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault')


class KeySource(Protocol):
    # wrap `data` (the data key or a Shamir share) for one recipient
    def wrap(self, recipient: str, data: bytes) -> MasterKey: ...

    # the unwrapped data, or None when we hold no matching private key
    def unwrap(self, key: MasterKey) -> bytes | None: ...


def source(kind: str) -> KeySource | None:
    if kind == 'age':
        from gitops_config.sops.keys import age
        return age.SOURCE
    if kind == 'pgp':
        from gitops_config.sops.keys import pgp
        return pgp.SOURCE
    return None


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _unwrap_group(group: list[MasterKey]) -> bytes | None:
    ordered = sorted(group, key=lambda k: DECRYPTION_ORDER.index(k.kind))
    for key in ordered:
        src = source(key.kind)
        if src is None:
            continue
        data = src.unwrap(key)
        if data is not None:
            return data
    return None


def data_key(meta: Metadata, path: str) -> bytes:
    """Unwrap the file's data key, combining Shamir shares when there are groups."""
    if len(meta.key_groups) == 1:
        found = _unwrap_group(meta.key_groups[0])
        if found is not None:
            return found
        raise no_key_error(meta, path)
    shares = [s for s in (_unwrap_group(g) for g in meta.key_groups) if s is not None]
    threshold = meta.shamir_threshold or len(meta.key_groups)
    if len(shares) < threshold or len(shares) < 2:
        raise no_key_error(meta, path, detail=f' ({len(shares)} of {threshold} key groups)')
    return shamir.combine(shares)


def no_key_error(meta: Metadata, path: str, *, detail: str = '') -> NoKeyError:
    names = ', '.join(f'{k.kind} {k.identity()}' for k in meta.master_keys()) or 'none'
    others = [k.kind for k in meta.master_keys() if source(k.kind) is None]
    hint = 'set SOPS_AGE_KEY_FILE or import the PGP secret key into GNUPGHOME'
    if others:
        hint = (f'the file needs a {"/".join(sorted(set(others)))} key: install sops on '
                'PATH with cloud credentials, or use an age/PGP recipient')
    return NoKeyError(
        f'{path}: no available key can decrypt the data key{detail}; recipients: {names}',
        hint=hint,
    )


def wrap_all(groups: list[list[MasterKey]], data_key_: bytes, threshold: int) -> None:
    """Fill in `enc` of every master key, splitting the data key across groups."""
    if len(groups) > 1:
        parts = shamir.split(data_key_, len(groups), threshold or len(groups))
    else:
        parts = [data_key_]
    for group, part in zip(groups, parts, strict=True):
        for i, key in enumerate(group):
            src = source(key.kind)
            if src is None:
                raise NoKeyError(f'cannot encrypt for {key.kind} keys natively: {key.identity()}')
            group[i] = src.wrap(key.identity(), part)
