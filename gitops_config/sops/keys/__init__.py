"""Master keys: wrap the data key for recipients, unwrap it with what we hold.

One module per key kind (age, pgp); the data key goes to cloud KMS and Vault keys
through a `sops` executable (cloud.py), with sops's own credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gitops_config.sops import shamir
from gitops_config.sops.errors import KeySourceError
from gitops_config.sops.errors import NoKeyError
from gitops_config.sops.keys import age
from gitops_config.sops.keys import cloud
from gitops_config.sops.keys import pgp
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.sops.metadata import MasterKey
from gitops_config.sops.metadata import Metadata

# sops tries age first, then pgp, then the rest (SOPS_DECRYPTION_ORDER default).
DECRYPTION_ORDER = ('age', 'pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault')


class KeySource(Protocol):
    # wrap `data` (the data key or a Shamir share) for one recipient
    def wrap(self, recipient: str, data: bytes, ring: KeyRing) -> MasterKey: ...

    # the unwrapped data, or None when RING holds no matching private key
    def unwrap(self, key: MasterKey, ring: KeyRing) -> bytes | None: ...


def source(kind: str) -> KeySource | None:
    if kind == 'age':
        return age.SOURCE
    if kind == 'pgp':
        return pgp.SOURCE
    return None


def _unwrap_native(group: list[MasterKey], ring: KeyRing) -> bytes | None:
    ordered = sorted(group, key=lambda k: DECRYPTION_ORDER.index(k.kind))
    for key in ordered:
        src = source(key.kind)
        if src is None:
            continue
        data = src.unwrap(key, ring)
        if data is not None:
            return data
    return None


def _unwrap_remote(
    group: list[MasterKey], meta: Metadata, path: str, ring: KeyRing, failures: list[KeySourceError]
) -> bytes | None:
    remote = sorted(
        (k for k in group if k.kind in cloud.KINDS), key=lambda k: DECRYPTION_ORDER.index(k.kind)
    )
    if not remote:
        return None
    try:
        return cloud.unwrap(remote, meta.version, path, ring)
    except KeySourceError as exc:
        failures.append(exc)
        return None


def data_key(meta: Metadata, path: str, ring: KeyRing) -> bytes:
    """Unwrap the file's data key with RING's keys, combining Shamir shares when there
    are groups.

    Keys held here (age, PGP) go first; cloud keys are asked (through sops) only for the
    groups still needed, as a key service round trip costs far more."""
    failures: list[KeySourceError] = []
    groups = meta.key_groups
    needed = 1 if len(groups) == 1 else (meta.shamir_threshold or len(groups))
    shares: list[bytes | None] = [_unwrap_native(g, ring) for g in groups]
    for i, group in enumerate(groups):
        if sum(s is not None for s in shares) >= needed:
            break
        if shares[i] is None:
            shares[i] = _unwrap_remote(group, meta, path, ring, failures)
    found = [s for s in shares if s is not None]
    if len(groups) == 1:
        if found:
            return found[0]
        raise no_key_error(meta, path, ring, failures=failures)
    if len(found) < needed or len(found) < 2:
        raise no_key_error(
            meta, path, ring, detail=f' ({len(found)} of {needed} key groups)', failures=failures
        )
    return shamir.combine(found)


def no_key_error(
    meta: Metadata,
    path: str,
    ring: KeyRing,
    *,
    detail: str = '',
    failures: Sequence[KeySourceError] = (),
) -> NoKeyError:
    """Which keys could open the file, and why each source of RING did not."""
    names = ', '.join(f'{k.kind} {k.identity()}' for k in meta.master_keys()) or 'none'
    reasons = [f.message.removeprefix(f'{path}: ') for f in failures]
    why = ''.join(f'; {reason}' for reason in (*reasons, *ring.age_errors()))
    hint = 'set SOPS_AGE_KEY_FILE or import the PGP secret key into GNUPGHOME'
    if failures:
        hint = failures[0].hint or hint
    return NoKeyError(
        f'{path}: no available key can decrypt the data key{detail}; recipients: {names}{why}',
        hint=hint,
    )


def wrap_all(
    groups: list[list[MasterKey]], data_key_: bytes, threshold: int, path: str, ring: KeyRing
) -> None:
    """Fill in `enc` of every master key, splitting the data key across groups (gpg and
    sops run with RING's environment)."""
    if len(groups) > 1:
        parts = shamir.split(data_key_, len(groups), threshold or len(groups))
    else:
        parts = [data_key_]
    for group, part in zip(groups, parts, strict=True):
        remote = [k for k in group if k.kind in cloud.KINDS]
        wrapped = cloud.wrap(remote, part, path, ring) if remote else []
        for i, key in enumerate(group):
            src = source(key.kind)
            if src is not None:
                group[i] = src.wrap(key.identity(), part, ring)
            else:  # sops writes its keys in its own order: match them by name
                same = next(
                    (w for w in wrapped if (w.kind, w.identity()) == (key.kind, key.identity())),
                    None,
                )
                if same is None:
                    raise KeySourceError(
                        f'{path}: sops did not wrap the data key for {key.kind} {key.identity()}'
                    )
                wrapped.remove(same)
                group[i] = same
