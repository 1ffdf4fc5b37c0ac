"""The one masking pass: what every report shows in place of a secret.

A value is a secret to a report when it is one (a decrypted `Secret`, a
`SealedSecret` we hold no key for) or when the secrets pack flags it as a
plaintext secret (policy/secrets.py: a credential's shape anywhere, or a
plaintext value under a key named like a secret). Both become `Masked` in the
same pass, with a keyed fingerprint when the report has a key: the finding
says where a plaintext secret is; no report ever shows it.

Entry points, stable for every reporter (diff, comment, drift, history,
explain, get, findings, errors, logs):
- `mask_value(value, key, name=...)`: a value or a tree, by its mapping key NAME;
- `conceal(value)`: flagged plaintext wrapped as `Secret` before a comparison
  (drift), so that it is compared and masked as a decrypted secret is;
- `mask_pair(old, new, key, name=...)`: the two sides of one change: where
  either side is a secret, both are masked (the plain side may be the old
  secret, or a live value standing where a secret is desired), except a side
  that only points at a secret (os.environ/NAME, ENC[...]);
- `mask_change(change, key)`: a `Change` record through mask_pair;
- `mask_text(text, key, known=...)`: free text (messages, errors, logs):
  credential shapes and the KNOWN plaintexts replaced;
- `show(value, limit=..., name=...)`: a value in one line, masked, for a
  report, a table cell or a commit message.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config import keypath
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Change
from gitops_config.model import Finding
from gitops_config.policy import secrets as detect
from gitops_config.redact import MASK
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.redact import fingerprint

Patterns = tuple[str, ...]  # the project's extra secret key regexes (secrets.key_patterns)


@dataclass(frozen=True, slots=True)
class Masked:
    """What a report shows in place of a secret."""

    fingerprint: str | None = None  # HMAC, same key for one whole report
    sealed: bool = False  # no key: the value could not be read

    def __str__(self) -> str:
        if self.fingerprint is not None:
            return f'{MASK} (fp:{self.fingerprint})'
        return f'{MASK} (sealed)' if self.sealed else MASK


def is_plaintext_secret(value: object, name: object = None, patterns: Patterns = ()) -> bool:
    """Whether the secrets pack flags VALUE, found under the mapping key NAME."""
    if not detect.plaintext(value):
        return False
    if isinstance(value, str) and detect.credential(value) is not None:
        return True
    return isinstance(name, str) and detect.secret_key(name, detect.key_patterns(patterns))


def is_secret(value: object, name: object = None, patterns: Patterns = ()) -> bool:
    """A decrypted or sealed secret, or a plaintext one the secrets pack flags."""
    return isinstance(value, (Secret, SealedSecret, Masked)) or is_plaintext_secret(
        value, name, patterns
    )


def _masked(value: object, key: bytes | None) -> Masked:
    if isinstance(value, Masked):
        return value
    if isinstance(value, SealedSecret):
        return Masked(sealed=True)
    secret = value if isinstance(value, Secret) else Secret(value)
    return Masked(fingerprint(secret, key) if key is not None else None)


def mask_value(
    value: Any, key: bytes | None, *, name: object = None, patterns: Patterns = ()
) -> Any:
    """VALUE with every secret in it Masked; a copy only where something was masked."""
    return _replace_leaves(value, name, patterns, is_secret, lambda v: _masked(v, key))


def conceal(value: Any, *, name: object = None, patterns: Patterns = ()) -> Any:
    """VALUE with every plaintext secret the pack flags wrapped in `Secret`, before a
    comparison: from there on it is compared and shown as a decrypted secret is (masked,
    and so is whatever stands beside it, references included). A copy only where
    something was wrapped: unchanged subtrees keep their identity, which diffs rely on."""
    return _replace_leaves(value, name, patterns, is_plaintext_secret, Secret)


def _replace_leaves(
    value: Any,
    name: object,
    patterns: Patterns,
    flagged: Callable[[object, object, Patterns], bool],
    replace: Callable[[Any], object],
) -> Any:
    """VALUE with every leaf FLAGGED (by its value and mapping key NAME) replaced."""
    if isinstance(value, dict):
        out = {
            k: _replace_leaves(v, k if isinstance(k, str) else name, patterns, flagged, replace)
            for k, v in value.items()
        }
        return value if all(out[k] is v for k, v in value.items()) else out
    if isinstance(value, list):
        items = [_replace_leaves(v, name, patterns, flagged, replace) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return replace(value) if flagged(value, name, patterns) else value


def holds_secret(value: Any, name: object = None, patterns: Patterns = ()) -> bool:
    """Whether any leaf of VALUE is a secret (decrypted, sealed or flagged plaintext)."""
    if isinstance(value, dict):
        return any(
            holds_secret(v, k if isinstance(k, str) else name, patterns) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(holds_secret(v, name, patterns) for v in value)
    return is_secret(value, name, patterns)


def _reference(value: object) -> bool:
    """A value that only points at a secret: safe to show beside one."""
    return value is None or (isinstance(value, str) and detect.reference(value))


def mask_pair(
    old: Any, new: Any, key: bytes | None, *, name: object = None, patterns: Patterns = ()
) -> tuple[Any, Any, bool]:
    """The two sides of one change, masked; and whether a secret is involved."""
    old_secret = holds_secret(old, name, patterns)
    new_secret = holds_secret(new, name, patterns)
    if not old_secret and not new_secret:
        return old, new, False
    scalar = not isinstance(old, (dict, list)) and not isinstance(new, (dict, list))
    if scalar:
        # one side is a secret: the other is at a secret's place, whatever it holds
        old = old if _reference(old) else _masked(old, key)
        new = new if _reference(new) else _masked(new, key)
        return old, new, True
    return (
        mask_value(old, key, name=name, patterns=patterns),
        mask_value(new, key, name=name, patterns=patterns),
        True,
    )


def mask_change(change: Change, key: bytes | None = None, *, patterns: Patterns = ()) -> Change:
    """CHANGE with its values masked (a no-op for one the diff engine already masked),
    and its path, document and detail: a list item named by a secret (`[name=sk-...]`)
    or a key that is one would show it there."""
    name = _last_key(change.path)
    old, new, secret = mask_pair(change.old, change.new, key, name=name, patterns=patterns)
    path = mask_text(change.path, key)
    document = mask_text(change.document, key) if change.document else change.document
    detail = mask_text(change.detail, key) if change.detail else change.detail
    if (
        old is change.old
        and new is change.new
        and (path, document, detail) == (change.path, change.document, change.detail)
    ):
        return change
    return dataclasses.replace(
        change,
        path=path,
        document=document,
        old=old,
        new=new,
        secret=change.secret or secret or path != change.path,
        detail=detail,
    )


def mask_changes(
    changes: Iterable[Change], key: bytes | None = None, *, patterns: Patterns = ()
) -> list[Change]:
    return [mask_change(c, key, patterns=patterns) for c in changes]


@functools.lru_cache(maxsize=4096)
def _last_key(path: str) -> str | None:
    """The last mapping key of a KEYPATH (a.b[0].c -> c; a["x.y"][2] -> x.y)."""
    try:
        steps = keypath.parse(path) if path else ()
    except GitopsConfigError:
        return None
    return next((s for s in reversed(steps) if isinstance(s, str)), None)


# In free text a private key is the whole block, not only its first line.
_KEY_BLOCK = re.compile(
    r'-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----'
    r'[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)'
)
_BEARER = re.compile(r'^([Bb]earer\s+)')


def show(value: Any, *, limit: int | None = None, name: str | None = None) -> str:
    """A value in one line (found under the mapping key NAME): secrets masked, the rest
    as JSON."""
    value = mask_value(value, None, name=name)
    if isinstance(value, Masked):
        return str(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False) if _needs_quotes(value) else value
    else:
        text = json.dumps(_plain(value), ensure_ascii=False, sort_keys=False)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + '…'
    return text


def _needs_quotes(text: str) -> bool:
    return (
        not text
        or text != text.strip()
        or '\n' in text
        or text in ('true', 'false', 'null')
        or text.replace('.', '', 1).lstrip('-').isdigit()
    )


def _plain(value: Any) -> Any:
    """VALUE as JSON-able data (Masked and other objects as their text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def mask_text(text: str, key: bytes | None = None, *, known: Iterable[object] = ()) -> str:
    """TEXT with every credential-shaped token and every KNOWN plaintext (a Secret's,
    or a string the secrets pack flagged) replaced by the mask."""
    if not text:
        return text
    for value in _needles(known):
        if value in text:
            text = text.replace(value, str(_masked(value, key)))
    text = _KEY_BLOCK.sub(lambda m: str(_masked(m.group(0), key)), text)
    end = len(text) + 1
    for start, stop in reversed(detect.secret_spans(text)):
        if stop <= end:  # spans that overlap one masked already are gone with it
            text = text[:start] + _replace(text[start:stop], key) + text[stop:]
            end = start
    return text


def _replace(found: str, key: bytes | None) -> str:
    if found.startswith(MASK):
        return found
    bearer = _BEARER.match(found)
    if bearer is not None:
        return bearer.group(1) + str(_masked(found[bearer.end() :], key))
    return str(_masked(found, key))


def _needles(known: Iterable[object]) -> list[str]:
    out = []
    for item in known:
        plain = item.reveal() if isinstance(item, Secret) else item
        if isinstance(plain, bytes):
            continue
        text = plain if isinstance(plain, str) else str(plain)
        if len(text) >= detect.MIN_SECRET_LENGTH and not _reference(text):
            out.append(text)
    # the longest first: a secret that contains another is masked whole
    return sorted(set(out), key=len, reverse=True)


def mask_finding(
    finding: Finding, key: bytes | None = None, *, known: Iterable[object] = ()
) -> Finding:
    """FINDING with its message and hint masked: it says where, never what."""
    known = list(known)
    message = mask_text(finding.message, key, known=known)
    hint = mask_text(finding.hint, key, known=known) if finding.hint else finding.hint
    if message == finding.message and hint == finding.hint:
        return finding
    return dataclasses.replace(finding, message=message, hint=hint)


def mask_findings(findings: Sequence[Finding], key: bytes | None = None) -> tuple[Finding, ...]:
    return tuple(mask_finding(f, key) for f in findings)


def secrets_in(value: Any, name: object = None, patterns: Patterns = ()) -> list[object]:
    """Every secret leaf of VALUE (decrypted, or plaintext the pack flags): what
    mask_text is given as KNOWN for text written about VALUE."""
    if isinstance(value, dict):
        return [
            s
            for k, v in value.items()
            for s in secrets_in(v, k if isinstance(k, str) else name, patterns)
        ]
    if isinstance(value, list):
        return [s for v in value for s in secrets_in(v, name, patterns)]
    if isinstance(value, Secret) or is_plaintext_secret(value, name, patterns):
        return [value]
    return []


class MaskingFilter(logging.Filter):
    """Logs go through mask_text too: a warning may quote what it choked on."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
