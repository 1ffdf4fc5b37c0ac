"""AES-256-GCM per value (the key path as AAD), with sops's IV stash.

The stash remembers the IV of every value this Cipher decrypted, keyed by
(aad, type, plaintext). Re-encrypting an unchanged value with the same data
key then yields the exact same ciphertext, so edits keep diffs minimal.
"""

from __future__ import annotations

import os

from gitops_config.sops import format as fmt
from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Value

IV_SIZE = 32  # sops uses a 256-bit GCM nonce, not the usual 96 bits
TAG_SIZE = 16

StashKey = tuple[str, str, bytes]


class DecryptionFailed(SopsFormatError):
    code = 'sops-decrypt-failed'


class Cipher:
    def __init__(self, data_key: bytes) -> None:
        # lazy: cryptography loads only when __init__() runs (start-up)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.key = data_key
        self._aead = AESGCM(data_key)
        self.stash: dict[StashKey, bytes] = {}

    def with_key(self, data_key: bytes) -> Cipher:
        """A cipher for a new data key that keeps this one's IV stash (sops rotate)."""
        other = Cipher(data_key)
        other.stash = self.stash
        return other

    def encrypt(self, value: Value, aad: str) -> str:
        if value == '' or (isinstance(value, Comment) and value.text == ''):
            return ''
        type_ = fmt.type_of(value)
        plain = fmt.to_bytes(value)
        iv = self.stash.get((aad, type_, plain)) or os.urandom(IV_SIZE)
        sealed = self._aead.encrypt(iv, plain, aad.encode('utf-8', 'surrogateescape'))
        enc = fmt.EncValue(sealed[:-TAG_SIZE], iv, sealed[-TAG_SIZE:], type_)
        return enc.text()

    def decrypt(self, text: str, aad: str) -> Value:
        if text == '':
            return ''
        # lazy: cryptography loads only when decrypt() runs (start-up)
        from cryptography.exceptions import InvalidTag

        enc = fmt.parse_enc(text)
        try:
            plain = self._aead.decrypt(
                enc.iv,
                enc.data + enc.tag,
                aad.encode('utf-8', 'surrogateescape'),
            )
        except (InvalidTag, ValueError):
            raise DecryptionFailed(
                f'could not decrypt the value at {aad!r}: wrong key or tampered ciphertext',
            ) from None
        value = fmt.from_bytes(plain, enc.type)
        self.stash[(aad, enc.type, plain)] = enc.iv
        return value
