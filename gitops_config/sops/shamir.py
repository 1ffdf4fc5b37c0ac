"""Shamir secret sharing over GF(2^8), byte-compatible with sops's fork of Vault's.

A share is the y-bytes for each secret byte followed by one x-coordinate byte.
"""

from __future__ import annotations

import os

from gitops_config.sops.errors import SopsError


def _mul(a: int, b: int) -> int:
    # Russian-peasant multiplication modulo x^8+x^4+x^3+x+1 (0x11B).
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return out


def _inverse(a: int) -> int:
    # a^254 == a^-1 in GF(2^8)
    result, power, exp = 1, a, 254
    while exp:
        if exp & 1:
            result = _mul(result, power)
        power = _mul(power, power)
        exp >>= 1
    return result


def _evaluate(coeffs: list[int], x: int) -> int:
    out = 0
    for c in reversed(coeffs):
        out = _mul(out, x) ^ c
    return out


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    if not 2 <= threshold <= parts <= 255:
        raise SopsError(f'invalid Shamir parameters: {threshold} of {parts}')
    shares = [bytearray() for _ in range(parts)]
    for byte in secret:
        coeffs = [byte, *os.urandom(threshold - 1)]
        for i in range(parts):
            shares[i].append(_evaluate(coeffs, i + 1))
    return [bytes(s) + bytes([i + 1]) for i, s in enumerate(shares)]


def combine(shares: list[bytes]) -> bytes:
    if len(shares) < 2:
        raise SopsError('at least two Shamir shares are needed')
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise SopsError('duplicate Shamir share')
    out = bytearray()
    for pos in range(len(shares[0]) - 1):
        acc = 0
        for i, share in enumerate(shares):
            term = share[pos]
            for j, xj in enumerate(xs):
                if i != j:
                    term = _mul(term, _mul(xj, _inverse(xs[i] ^ xj)))
            acc ^= term
        out.append(acc)
    return bytes(out)
