"""The Secret type: a decrypted value that never prints itself."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

MASK = '****'


class Secret:
    """A plaintext secret held in memory only.

    str() and repr() never show the value; only `reveal()` does, and only
    sops/, render and process call it.
    """

    __slots__ = ('_value', 'origin')

    def __init__(self, value: object, *, origin: str | None = None) -> None:
        self._value = value
        self.origin = origin

    def reveal(self) -> object:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f'Secret({MASK})'

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(_as_bytes(self._value), _as_bytes(other._value))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(hashlib.sha256(_as_bytes(self._value)).digest())

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled only into worker processes of our own, never to disk.
        return (Secret, (self._value,))


class SealedSecret:
    """A secret whose key is not available: known to exist, value unknown."""

    __slots__ = ('ciphertext', 'origin')

    def __init__(self, ciphertext: str, *, origin: str | None = None) -> None:
        self.ciphertext = ciphertext
        self.origin = origin

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f'SealedSecret({MASK})'

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SealedSecret):
            return self.ciphertext == other.ciphertext
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.ciphertext)


def _as_bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def fingerprint(value: Secret, key: bytes) -> str:
    """A short keyed fingerprint: equal values compare equal within one report.

    Keyed (HMAC) so that nobody holding the report can test guesses against it.
    """
    digest = hmac.new(key, _as_bytes(value.reveal()), hashlib.sha256).hexdigest()
    return digest[:12]


def scrub(text: str, secrets: list[Secret]) -> str:
    """Replace any plaintext of `secrets` that appears in `text` by the mask."""
    for secret in secrets:
        plain = str(secret.reveal()) if not isinstance(secret.reveal(), bytes) else ''
        if len(plain) >= 4 and plain in text:
            text = text.replace(plain, MASK)
    return text


def walk_secrets(
    node: object, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Secret | SealedSecret]]:
    """Every secret in a tree of dicts and lists, with its path."""
    if isinstance(node, (Secret, SealedSecret)):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from walk_secrets(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_secrets(value, (*path, i))
