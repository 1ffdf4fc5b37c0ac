"""Secrets in rendered output: revealed to templates, recognised in what they wrote.

A secret reaches a template as its plaintext (filters such as b64encode must
see the real value). Every rendered leaf that contains a secret's plaintext,
as it is or base64-encoded, becomes a Secret again, so the documents handed on
never hold a secret as a plain string; a sealed secret (no key) takes part as a
placeholder.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from gitops_config.redact import MASK
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret

# A secret shorter than this would taint unrelated text ("1", "true").
MIN_SECRET_LENGTH = 4


@dataclass(frozen=True, slots=True)
class Taint:
    """What marks a rendered string as secret, and which secret it carries."""

    needles: tuple[tuple[str, Secret | SealedSecret], ...]

    def scrub(self, text: str) -> str:
        """TEXT with every secret in it, plain or base64-encoded, masked."""
        for needle, _ in self.needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def find(self, text: str) -> Secret | SealedSecret | None:
        for needle, secret in self.needles:
            if needle in text:
                return secret
        return None


SEALED_PREFIX = 'SEALED-SECRET-'


def sealed_placeholder(secret: SealedSecret) -> str:
    import hashlib

    digest = hashlib.sha256(secret.ciphertext.encode()).hexdigest()[:16]
    return f'{SEALED_PREFIX}{digest}'


def reveal(node: Any, needles: list[tuple[str, Secret | SealedSecret]]) -> Any:
    """NODE with secrets in plaintext (sealed ones as placeholders); a subtree
    without secrets is returned as it is, not copied."""
    if isinstance(node, Secret):
        plain = node.reveal()
        text = plain.decode() if isinstance(plain, bytes) else str(plain)
        if len(text) >= MIN_SECRET_LENGTH:
            needles.append((text, node))
            needles.append((base64.b64encode(text.encode()).decode(), node))
        return plain
    if isinstance(node, SealedSecret):
        text = sealed_placeholder(node)
        needles.append((text, node))
        needles.append((base64.b64encode(text.encode()).decode(), node))
        return text
    if isinstance(node, dict):
        revealed = {k: reveal(v, needles) for k, v in node.items()}
        return node if all(revealed[k] is v for k, v in node.items()) else revealed
    if isinstance(node, list):
        items = [reveal(v, needles) for v in node]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    return node


def retaint(node: Any, taint: Taint) -> tuple[Any, bool]:
    if isinstance(node, str):
        secret = taint.find(node)
        if secret is None:
            return node, False
        if isinstance(secret, SealedSecret):
            return SealedSecret(secret.ciphertext, origin=secret.origin), True
        return Secret(node, origin=secret.origin), True
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        found = False
        for key, value in node.items():
            out[key], hit = retaint(value, taint)
            found = found or hit
        return out, found
    if isinstance(node, list):
        items = []
        found = False
        for value in node:
            item, hit = retaint(value, taint)
            items.append(item)
            found = found or hit
        return items, found
    return node, False


def bytes_tainted(raw: bytes, taint: Taint | None) -> bool:
    if taint is None:
        return False
    try:
        return taint.find(raw.decode()) is not None
    except UnicodeDecodeError:
        return False
