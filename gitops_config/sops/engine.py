"""Whole files with their master keys: decrypt and verify, encrypt, re-encrypt after
edits, rotate and update keys. The file as data (parsed, its values through the
cipher, written back) is sopsfile.py's."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_config.errors import FileMissingError
from gitops_config.fsutil import read_file
from gitops_config.sops import keys
from gitops_config.sops import metadata as md
from gitops_config.sops import stores
from gitops_config.sops.cipher import Cipher
from gitops_config.sops.errors import AlreadyEncryptedError
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.sops.sopsfile import Opened
from gitops_config.sops.sopsfile import SopsFile
from gitops_config.sops.sopsfile import emit
from gitops_config.sops.sopsfile import encrypt_docs
from gitops_config.sops.sopsfile import open_with
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import copy_docs

if TYPE_CHECKING:
    from gitops_config.sops.rules import CreationRule


def open_file(sf: SopsFile, ring: KeyRing, *, ignore_mac: bool = False) -> Opened:
    """SF decrypted with the data key that RING's keys unwrap."""
    return open_with(sf, keys.data_key(sf.meta, sf.path, ring), ignore_mac=ignore_mac)


def encrypt_new(
    plain: bytes, path: str, rule: CreationRule, ring: KeyRing, store: stores.Store | None = None
) -> bytes:
    """Encrypt a plaintext file for the rule's recipients with a fresh data key."""
    store = store or stores.for_path(path)
    docs = store.load(plain, path)
    if store.flat_metadata is None:
        if any(doc.get('sops') is not None for doc in docs):
            raise AlreadyEncryptedError(
                f'{path}: already has a top-level "sops" key',
                hint='the file looks encrypted already',
            )
    elif any(isinstance(k, str) and k.startswith(store.flat_metadata) for k, _ in docs[0]):
        raise AlreadyEncryptedError(f'{path}: has keys starting with "sops"')
    groups = [[md.MasterKey(k.kind, dict(k.fields)) for k in g] for g in rule.key_groups]
    threshold = rule.shamir_threshold
    if len(groups) > 1 and not threshold:
        threshold = len(groups)
    data_key = os.urandom(32)
    keys.wrap_all(groups, data_key, min(threshold, len(groups)) if threshold else 0, path, ring)
    meta = md.Metadata(groups, rule.selection, threshold if len(groups) > 1 else 0)
    sf = SopsFile(path, store, [], meta)
    sf.docs = encrypt_docs(docs, meta, Cipher(data_key))
    return emit(sf, sf.docs)


def reencrypt(
    opened: Opened,
    new_plain: list[Branch],
    *,
    data_key: bytes | None = None,
    version: str | None = None,
) -> bytes:
    """Re-encrypt edited plaintext; unchanged values keep their exact ciphertext."""
    sf = opened.file
    cipher = opened.cipher if data_key is None else opened.cipher.with_key(data_key)
    if version is not None:
        sf.meta.version = version
    sf.docs = encrypt_docs(new_plain, sf.meta, cipher)
    return emit(sf, sf.docs)


def rotate(opened: Opened, ring: KeyRing) -> bytes:
    """New data key, re-wrapped for every key; values keep their IVs (like sops)."""
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
    try:
        return read_file(path)  # never through a symlink the repository holds
    except FileNotFoundError:
        raise FileMissingError(f'{path}: no such file') from None
    except OSError as exc:
        raise FileMissingError(f'{path}: cannot read: {exc.strerror}') from None
