"""SOPS-compatible inline secrets: the API the rest of gitops-config calls.

Files follow the sops 3 format byte for byte: what we write, `sops -d` reads (MAC
included), and what sops writes, we read; tests/sops checks both directions with
the real binary. The file engine (stores, cipher, keys) and what it brings
(cryptography, pyrage, the sops YAML emitter) are imported only when a file is
opened: every command imports this package for is_encrypted and the key ring.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_config.sops.errors import AlreadyEncryptedError
from gitops_config.sops.errors import MacMismatchError
from gitops_config.sops.errors import NoKeyError
from gitops_config.sops.errors import NotEncryptedError
from gitops_config.sops.errors import RulesError
from gitops_config.sops.errors import SopsError
from gitops_config.sops.keys.ring import KeyRing

if TYPE_CHECKING:
    from gitops_config.sops.rules import CreationRule
    from gitops_config.sops.rules import Rules
    from gitops_config.sops.sopsfile import SopsFile

__all__ = [
    'MacMismatchError',
    'NoKeyError',
    'NotEncryptedError',
    'SopsError',
    'data_key',
    'decrypt_file',
    'decrypt_text',
    'encrypt_text',
    'is_encrypted',
    'keys_available',
    'open_values',
    'recipients',
    'whole_file',
]

# A top-level `sops:` mapping (YAML), a "sops" object (JSON, binary), sops_mac=
# (dotenv) or a [sops] section (INI).
_MARKERS = (
    re.compile(rb'^sops:[ \t]*(#.*)?\r?$', re.M),
    re.compile(rb'"sops"\s*:\s*\{'),
    re.compile(rb'^sops_mac=', re.M),
    re.compile(rb'^\[sops\][ \t]*\r?$', re.M),
)


def _bytes(text: bytes | str) -> bytes:
    return text.encode() if isinstance(text, str) else text


def is_encrypted(text: bytes | str) -> bool:
    """True when the text carries a sops metadata section (any format).

    A cheap textual check, no parsing: a top-level `sops:` key, a "sops" JSON
    object, `sops_mac=` lines or an `[sops]` section.
    """
    data = _bytes(text)
    if b'sops' not in data:
        return False
    return any(m.search(data) for m in _MARKERS)


def _parse(text: bytes | str, path: str) -> SopsFile:
    # lazy: the file engine loads only when a file is opened (start-up)
    from gitops_config.sops import sopsfile

    return sopsfile.parse(_bytes(text), path)


# The keys each function below uses are RING's, or (None) those the environment names now.


def _ring(ring: KeyRing | None) -> KeyRing:
    return ring if ring is not None else KeyRing()


def decrypt_text(
    text: bytes | str, path: str, *, ignore_mac: bool = False, ring: KeyRing | None = None
) -> bytes:
    """Decrypt a whole encrypted file given as text; `path` picks the format.

    Returns the plaintext exactly as `sops -d` prints it. Raises
    MacMismatchError (exit 3) on a MAC mismatch unless `ignore_mac`, and
    NoKeyError when no available key opens the file.
    """
    # lazy: the file engine loads only when a file is opened (start-up)
    from gitops_config.sops import engine

    sf = _parse(text, path)
    return sf.store.emit(engine.open_file(sf, _ring(ring), ignore_mac=ignore_mac).plain)


def decrypt_file(path: Path, *, ignore_mac: bool = False, ring: KeyRing | None = None) -> bytes:
    """Decrypt the file at `path`: the bytes `sops -d path` would print."""
    # lazy: the file engine loads only when a file is opened (start-up)
    from gitops_config.sops import engine

    return decrypt_text(engine.read(path), str(path), ignore_mac=ignore_mac, ring=ring)


def open_values(
    text: bytes, path: str, *, sealed: bool, ignore_mac: bool = False, ring: KeyRing | None = None
) -> object:
    """Parse an encrypted YAML/JSON file into plain Python values.

    Mappings become dicts, sequences lists; every leaf that was encrypted
    becomes a `redact.Secret` wrapping its decrypted typed value (str, int,
    float, bool, or datetime for YAML times); unencrypted leaves are plain.
    Comments are dropped. A multi-document YAML file gives a list of documents.
    When no available key opens the file: with `sealed=True` the encrypted
    leaves become `redact.SealedSecret(ciphertext)`; otherwise NoKeyError
    (code 'sops-no-key') naming the file and its recipients. The MAC is
    always verified when the key is available, unless `ignore_mac`.
    """
    # lazy: the file engine loads only when a file is opened (start-up)
    from gitops_config.sops import values

    return values.open_values(_bytes(text), path, _ring(ring), sealed=sealed, ignore_mac=ignore_mac)


def recipients(text: bytes | str, path: str = 'file.yaml') -> list[str]:
    """Who can open the file: age recipients, PGP fingerprints, KMS ARNs, Vault keys..."""
    return [k.identity() for k in _parse(text, path).meta.master_keys()]


def keys_available(
    text: bytes | str, path: str = 'file.yaml', *, ring: KeyRing | None = None
) -> bool:
    """True when a key at hand (age identity, gpg secret key, or a cloud key that sops
    reaches with its credentials) opens the data key."""
    try:
        data_key(text, path, ring=ring)
    except NoKeyError:
        return False
    return True


def data_key(text: bytes | str, path: str = 'file.yaml', *, ring: KeyRing | None = None) -> bytes:
    """The file's data key, unwrapped with RING's keys; NoKeyError when none opens it.
    Secret: never print or keep."""
    # lazy: the key sources (cloud keys through sops) load only when a file is opened
    from gitops_config.sops import keys

    return keys.data_key(_parse(text, path).meta, path, _ring(ring))


def whole_file(path: str) -> bool:
    """Whether sops keeps a file at PATH as one encrypted value (its binary format:
    any name that is not YAML, JSON, .env or .ini)."""
    # lazy: the stores (and the sops YAML emitter) load only when a file is opened
    from gitops_config.sops import stores

    return stores.for_path(path) is stores.BINARY


def encrypt_text(
    plaintext: str | bytes,
    path: str,
    *,
    config_root: Path | None = None,
    config: Rules | None = None,
    age: Sequence[str] = (),
    pgp: Sequence[str] = (),
    cloud: Mapping[str, Sequence[str]] | None = None,
    encrypted_regex: str | None = None,
    unencrypted_regex: str | None = None,
    encrypted_suffix: str | None = None,
    unencrypted_suffix: str | None = None,
    mac_only_encrypted: bool | None = None,
    ring: KeyRing | None = None,
) -> bytes:
    """Encrypt a whole plaintext document as sops would for a new file at `path`.

    Recipients come from `age`/`pgp`/`cloud` (KMS ARNs, Vault key URLs... by key
    kind: kms, gcp_kms, azure_kv, hc_vault) when given (the creation rule still
    supplies the selection rule, if there is one), else from the first
    creation rule in .sops.yaml whose path_regex matches `path`; .sops.yaml
    is looked for from `config_root` (default: the file's directory) upwards, unless
    `config` gives the rules (read from a commit, say; `path` is then relative to it).
    The selection keywords (`encrypted_regex`, ... at most one) and
    `mac_only_encrypted` override the rule's, like sops's command-line flags.
    Refuses a document that is already encrypted.
    """
    # lazy: the file engine loads only when a file is written (start-up)
    from gitops_config.sops import engine
    from gitops_config.sops import rules

    data = _bytes(plaintext)
    if is_encrypted(data):
        raise AlreadyEncryptedError(f'{path}: is already encrypted')

    def rule_for() -> CreationRule:
        if config is not None:
            return config.rule_for(path)
        return rules.rule_for(Path(path), config_root=config_root, environ=_ring(ring).environ)

    given = {'age': age, 'pgp': pgp, **(cloud or {})}
    if any(given.values()):
        try:
            base: CreationRule | None = rule_for()
        except RulesError:
            base = None
        rule = rules.explicit_rule(given, base)
    else:
        rule = rule_for()
    rule = rules.with_selection(
        rule,
        {
            'encrypted_regex': encrypted_regex,
            'unencrypted_regex': unencrypted_regex,
            'encrypted_suffix': encrypted_suffix,
            'unencrypted_suffix': unencrypted_suffix,
        },
        mac_only_encrypted,
    )
    return engine.encrypt_new(data, path, rule, _ring(ring))
