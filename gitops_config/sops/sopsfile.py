"""One sops file as data: parsed into its documents and metadata, its values decrypted
or encrypted with a data key (MAC included), and written back.

Which master keys hold the data key is engine.py's (through keys/); nothing here
touches a key, so keys/cloud.py can build the files it hands to `sops`.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from gitops_config.sops import format as fmt
from gitops_config.sops import metadata as md
from gitops_config.sops import stores
from gitops_config.sops.cipher import Cipher
from gitops_config.sops.cipher import DecryptionFailed
from gitops_config.sops.errors import MacMismatchError
from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Selection
from gitops_config.sops.tree import Value
from gitops_config.sops.tree import copy_docs
from gitops_config.sops.tree import walk_branch

# mac_only_encrypted files start the hash with SHA-256("sops") (sops writes the
# raw digest), so they never share a MAC with a file that hashes everything.
MAC_ONLY_INIT = hashlib.sha256(b'sops').digest()


class SopsFile:
    """A parsed encrypted file: its store, encrypted documents and metadata."""

    __slots__ = ('docs', 'meta', 'path', 'store')

    def __init__(
        self, path: str, store: stores.Store, docs: list[Branch], meta: md.Metadata
    ) -> None:
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
                    f'but is a {type(value).__name__}'
                )
            try:
                out = cipher.decrypt(text, ':'.join(path) + ':')
            except (DecryptionFailed, SopsFormatError) as exc:
                if not is_comment:
                    raise SopsFormatError(
                        f'{sf.path}: {":".join(path)}: {exc.message}',
                        hint='the file was tampered with, or is corrupt',
                    ) from None
                out = value  # a comment that was never encrypted (old sops)
        if (not sel.mac_only_encrypted or enc) and not is_comment and not isinstance(out, Comment):
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
        raise MacMismatchError(
            f'{sf.path}: cannot decrypt the MAC (tampered MAC or lastmodified)',
            hint='--ignore-mac skips the check',
        ) from None
    return str(value)


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
    meta.lastmodified = fmt.now_rfc3339()
    meta.mac = cipher.encrypt(h.hexdigest().upper(), meta.lastmodified)
    return out


def emit(sf: SopsFile, docs: list[Branch]) -> bytes:
    return stores.join_encrypted(sf.store, docs, sf.meta.to_dict())
