"""Whole-file operations: decrypt and verify, encrypt, and re-encrypt after edits."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from typing import NamedTuple

from gitops_config.sops import format as fmt
from gitops_config.sops import keys
from gitops_config.sops import metadata as md
from gitops_config.sops import stores
from gitops_config.sops.cipher import Cipher
from gitops_config.sops.cipher import DecryptionFailed
from gitops_config.sops.errors import AlreadyEncryptedError
from gitops_config.sops.errors import MacMismatchError
from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Selection
from gitops_config.sops.tree import Value
from gitops_config.sops.tree import copy_docs
from gitops_config.sops.tree import walk_branch

if TYPE_CHECKING:
    from gitops_config.sops.rules import CreationRule

# mac_only_encrypted files start the hash with SHA-256("sops") (sops writes the
# raw digest), so they never share a MAC with a file that hashes everything.
MAC_ONLY_INIT = hashlib.sha256(b'sops').digest()


class SopsFile:
    """A parsed encrypted file: its store, encrypted documents and metadata."""

    __slots__ = ('docs', 'meta', 'path', 'store')

    def __init__(self, path: str, store: stores.Store, docs: list[Branch],
                 meta: md.Metadata) -> None:
        self.path = path
        self.store = store
        self.docs = docs
        self.meta = meta


class Opened(NamedTuple):
    """A decrypted file: plaintext documents, plus what re-encryption needs."""

    file: SopsFile
    plain: list[Branch]
    cipher: Cipher
    data_key: bytes
    mac_ok: bool


def parse(data: bytes, path: str, store: stores.Store | None = None) -> SopsFile:
    store = store or stores.for_path(path)
    docs, raw = stores.split_encrypted(store, data, path)
    try:
        meta = md.from_dict(raw)
    except SopsFormatError as exc:
        raise SopsFormatError(f'{path}: {exc.message}', hint=exc.hint) from None
    return SopsFile(path, store, docs, meta)


def _new_hash(selection: Selection) -> hashlib._Hash:
    h = hashlib.sha512()
    if selection.mac_only_encrypted:
        h.update(MAC_ONLY_INIT)
    return h


def decrypt_docs(sf: SopsFile, cipher: Cipher) -> tuple[list[Branch], str]:
    """Decrypt every selected leaf (on a copy) and return the recomputed MAC."""
    sel = sf.meta.selection
    h = _new_hash(sel)
    docs = copy_docs(sf.docs)

    def on_leaf(value: Value, path: list[str], stack: list[list[str]]) -> Value:
        is_comment = isinstance(value, Comment)
        enc = sel.should_encrypt(path, stack, is_comment=is_comment)
        out = value
        if enc:
            text = value.text if isinstance(value, Comment) else value
            if not isinstance(text, str):
                raise SopsFormatError(
                    f'{sf.path}: the value at {":".join(path) or "/"} should be encrypted '
                    f'but is a {type(value).__name__}')
            try:
                out = cipher.decrypt(text, ':'.join(path) + ':')
            except (DecryptionFailed, SopsFormatError) as exc:
                if not is_comment:
                    raise SopsFormatError(
                        f'{sf.path}: {":".join(path)}: {exc.message}',
                        hint='the file was tampered with, or is corrupt') from None
                out = value  # a comment that was never encrypted (old sops)
        if (not sel.mac_only_encrypted or enc) and not is_comment \
                and not isinstance(out, Comment):
            h.update(fmt.to_bytes(out))
        return out

    for doc in docs:
        walk_branch(doc, on_leaf)
    return docs, h.hexdigest().upper()


def stored_mac(sf: SopsFile, cipher: Cipher) -> str:
    if not sf.meta.mac:
        return ''
    try:
        value = cipher.decrypt(sf.meta.mac, fmt.mac_aad(sf.meta.lastmodified))
    except (DecryptionFailed, SopsFormatError):
        raise MacMismatchError(f'{sf.path}: cannot decrypt the MAC (tampered MAC or '
                               'lastmodified)', hint='--ignore-mac skips the check') from None
    return str(value)


def open_file(sf: SopsFile, ring: KeyRing, *, ignore_mac: bool = False) -> Opened:
    """SF decrypted with the data key that RING's keys unwrap."""
    return open_with(sf, keys.data_key(sf.meta, sf.path, ring), ignore_mac=ignore_mac)


def open_with(sf: SopsFile, dk: bytes, *, ignore_mac: bool = False) -> Opened:
    """SF decrypted with its data key DK."""
    cipher = Cipher(dk)
    plain, computed = decrypt_docs(sf, cipher)
    stored = stored_mac(sf, cipher)
    ok = stored == computed
    if not ok and not ignore_mac:
        why = ' (no MAC)' if not stored else ''
        raise MacMismatchError(
            f'{sf.path}: MAC mismatch{why}: the file was modified outside sops',
            hint='if you trust the content, decrypt with --ignore-mac and re-encrypt it',
        )
    return Opened(sf, plain, cipher, dk, ok)


def encrypt_docs(docs: list[Branch], meta: md.Metadata, cipher: Cipher) -> list[Branch]:
    """Encrypt a copy of plaintext documents; sets meta.lastmodified and meta.mac."""
    sel = meta.selection
    h = _new_hash(sel)
    out = copy_docs(docs)

    def on_leaf(value: Value, key_path: list[str], stack: list[list[str]]) -> Value:
        is_comment = isinstance(value, Comment)
        enc = sel.should_encrypt(key_path, stack, is_comment=is_comment)
        if (not sel.mac_only_encrypted or enc) and not is_comment:
            h.update(fmt.to_bytes(value))
        if enc:
            return cipher.encrypt(value, ':'.join(key_path) + ':')
        return value

    for doc in out:
        walk_branch(doc, on_leaf)
    meta.lastmodified = keys.now_rfc3339()
    meta.mac = cipher.encrypt(h.hexdigest().upper(), meta.lastmodified)
    return out


def emit(sf: SopsFile, docs: list[Branch]) -> bytes:
    return stores.join_encrypted(sf.store, docs, sf.meta.to_dict())


def encrypt_new(plain: bytes, path: str, rule: CreationRule, ring: KeyRing,
                store: stores.Store | None = None) -> bytes:
    """Encrypt a plaintext file for the rule's recipients with a fresh data key."""
    import os

    store = store or stores.for_path(path)
    docs = store.load(plain, path)
    if store.flat_metadata is None:
        if any(doc.get('sops') is not None for doc in docs):
            raise AlreadyEncryptedError(f'{path}: already has a top-level "sops" key',
                                        hint='the file looks encrypted already')
    elif any(isinstance(k, str) and k.startswith(store.flat_metadata) for k, _ in docs[0]):
        raise AlreadyEncryptedError(f'{path}: has keys starting with "sops"')
    groups = [[md.MasterKey(k.kind, dict(k.fields)) for k in g] for g in rule.key_groups]
    threshold = rule.shamir_threshold
    if len(groups) > 1 and not threshold:
        threshold = len(groups)
    data_key = os.urandom(32)
    keys.wrap_all(groups, data_key, min(threshold, len(groups)) if threshold else 0, path,
                  ring)
    meta = md.Metadata(groups, rule.selection, threshold if len(groups) > 1 else 0)
    sf = SopsFile(path, store, [], meta)
    sf.docs = encrypt_docs(docs, meta, Cipher(data_key))
    return emit(sf, sf.docs)


def reencrypt(opened: Opened, new_plain: list[Branch], *, data_key: bytes | None = None,
              version: str | None = None) -> bytes:
    """Re-encrypt edited plaintext; unchanged values keep their exact ciphertext."""
    sf = opened.file
    cipher = opened.cipher if data_key is None else opened.cipher.with_key(data_key)
    if version is not None:
        sf.meta.version = version
    sf.docs = encrypt_docs(new_plain, sf.meta, cipher)
    return emit(sf, sf.docs)


def rotate(opened: Opened, ring: KeyRing) -> bytes:
    """New data key, re-wrapped for every key; values keep their IVs (like sops)."""
    import os

    sf = opened.file
    new_key = os.urandom(32)
    keys.wrap_all(sf.meta.key_groups, new_key, sf.meta.shamir_threshold, sf.path, ring)
    return reencrypt(opened, opened.plain, data_key=new_key)


def update_keys(sf: SopsFile, rule: CreationRule, ring: KeyRing) -> bytes | None:
    """Re-wrap the data key for the rule's recipients; values and MAC untouched."""
    groups = [[md.MasterKey(k.kind, dict(k.fields)) for k in g] for g in rule.key_groups]
    old = [sorted((k.kind, k.identity()) for k in g) for g in sf.meta.key_groups]
    new = [sorted((k.kind, k.identity()) for k in g) for g in groups]
    if old == new:
        return None
    dk = keys.data_key(sf.meta, sf.path, ring)
    threshold = rule.shamir_threshold or sf.meta.shamir_threshold
    threshold = min(threshold or len(groups), len(groups)) if len(groups) > 1 else 0
    keys.wrap_all(groups, dk, threshold, sf.path, ring)
    sf.meta.key_groups = groups
    sf.meta.shamir_threshold = threshold
    return emit(sf, sf.docs)


def edit_with(opened: Opened, change: Callable[[list[Branch]], list[Branch]]) -> bytes:
    new_plain = change(copy_docs(opened.plain))
    return reencrypt(opened, new_plain)


def read(path: Path) -> bytes:
    from gitops_config.errors import FileMissingError
    from gitops_config.fsutil import read_file

    try:
        return read_file(path)  # never through a symlink the repository holds
    except FileNotFoundError:
        raise FileMissingError(f'{path}: no such file') from None
    except OSError as exc:
        raise FileMissingError(f'{path}: cannot read: {exc.strerror}') from None
