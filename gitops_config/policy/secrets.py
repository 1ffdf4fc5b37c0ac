"""The plaintext-secret guard: what the built-in secrets rules call from CEL.

Three signals, each cheap: a key named like a secret, a value shaped like a
provider credential, and a value that a `.sops.yaml` creation rule says must be
encrypted but is not. Decrypted secrets reach here as the marker string, so
only real plaintext is ever flagged.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config import constants as C
from gitops_config import regex
from gitops_config import yaml_io
from gitops_config.model import NodePath
from gitops_config.regex import Pattern
from gitops_config.sops.rules import check_regexes
from gitops_config.sops.tree import go_regex

MARKER = '<secret>'

# Last word of a key that names a secret; `key` counts only after api/master/...
_SECRET_WORDS = {
    'password',
    'passwd',
    'passphrase',
    'secret',
    'token',
    'credential',
    'credentials',
    'apikey',
    'pat',
}
_KEY_QUALIFIERS = {
    'api',
    'master',
    'access',
    'private',
    'secret',
    'signing',
    'encryption',
    'client',
    'service',
    'admin',
    'auth',
}
_WORD_SPLIT = re.compile(r'[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])')

CREDENTIALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ('an OpenAI/Anthropic-style API key (sk-...)', re.compile(r'\bsk-[A-Za-z0-9_-]{16,}')),
    ('an AWS access key id', re.compile(r'\b(AKIA|ASIA)[0-9A-Z]{16}\b')),
    ('a GitHub token', re.compile(r'\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|github_pat_\w{20,}')),
    ('a GitLab token', re.compile(r'\bglpat-[A-Za-z0-9_-]{20}')),
    ('a Slack token', re.compile(r'\bxox[abprs]-[A-Za-z0-9-]{10,}')),
    ('a Google API key', re.compile(r'\bAIza[0-9A-Za-z_-]{35}')),
    ('a Hugging Face token', re.compile(r'\bhf_[A-Za-z0-9]{30,}')),
    ('a bearer token', re.compile(r'\b[Bb]earer\s+[A-Za-z0-9._~+/-]{16,}=*')),
    ('a private key block', re.compile(r'-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----')),
    ('an age secret key', re.compile(r'\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b')),
    (
        'a JSON Web Token',
        re.compile(
            r'\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.'
            r'[A-Za-z0-9_-]{10,}'
        ),
    ),
    ('a Stripe key', re.compile(r'\b[rs]k_live_[0-9A-Za-z]{16,}')),
    ('an npm token', re.compile(r'\bnpm_[A-Za-z0-9]{36}\b')),
    ('a PyPI token', re.compile(r'\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{40,}')),
    (
        'a Slack webhook',
        re.compile(
            r'https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/'
            r'[A-Za-z0-9]{16,}'
        ),
    ),
    # scheme://user:password@host; a templated or referenced password is not one
    (
        'a password in a URL',
        re.compile(
            r'\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@\'"]+:'
            r'[^\s:/@\'"{}$<>%]{6,}@[A-Za-z0-9]'
        ),
    ),
    # a PEM private key, base64-encoded once more (a Kubernetes Secret's data)
    (
        'a base64-encoded private key',
        re.compile(
            r'\bLS0tLS1CRUdJTi[A-Za-z0-9+/]{0,24}(?:UFJJVkFURSBLRV|BSSVZBVEUgS0VZ|QUklWQVRFIEtFW)'
        ),
    ),
)
# All of them in one pass: most strings match none, and one search beats ten.
ANY_CREDENTIAL = re.compile(
    '|'.join(f'(?P<c{i}>{pattern.pattern})' for i, (_, pattern) in enumerate(CREDENTIALS))
)
# Values that point at a secret instead of holding one.
_REFERENCE = re.compile(
    r'^(ENC\[|os\.environ/|\$\{|\$\(|\{\{|vault:|ref\+|secretref:|SEALED-SECRET-|<.*>$)',
)


@functools.lru_cache(maxsize=64)
def key_patterns(patterns: tuple[str, ...]) -> tuple[Pattern, ...]:
    """The project's `secrets.key_patterns`, compiled (on RE2): every place that asks
    whether a key names a secret compiles them here."""
    return tuple(regex.compile(p, what='secrets.key_patterns') for p in patterns)


def _words(key: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(key) if w]


def secret_key(key: str, extra: Sequence[Pattern] = ()) -> bool:
    """Whether KEY names a secret: password, api_key, masterKey, x-auth-token, ..."""
    if any(p.search(key) for p in extra):
        return True
    return _named_like_a_secret(key)


@functools.lru_cache(maxsize=8192)
def _named_like_a_secret(key: str) -> bool:
    # the same few hundred keys come back in every document
    words = _words(key)
    if not words:
        return False
    last = words[-1]
    if last in _SECRET_WORDS:
        return True
    return last == 'key' and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


# Shorter plaintexts are not looked for in free text: they would mask unrelated words.
MIN_SECRET_LENGTH = 4


def reference(value: str) -> bool:
    """Whether VALUE points at a secret (os.environ/NAME, ENC[...], ${NAME}) instead of
    holding one."""
    return _REFERENCE.match(value.strip()) is not None


def plaintext(value: Any) -> bool:
    """Whether VALUE could be a secret in plaintext: a string that is not empty, not a
    reference and not a decrypted secret's marker. (Not a number: `max_token: 4096` is
    no secret, and flagging every number under such a key would cost more than the rare
    numeric secret it catches.)"""
    return (
        isinstance(value, str) and bool(value.strip()) and value != MARKER and not reference(value)
    )


_plaintext = plaintext


def credential(value: object) -> str | None:
    """What kind of credential VALUE holds, if it looks like one."""
    if not isinstance(value, str):
        return None
    match = ANY_CREDENTIAL.search(value)
    if match is None:
        return None
    index = next(i for i in range(len(CREDENTIALS)) if match.group(f'c{i}') is not None)
    return CREDENTIALS[index][0]


def _leaves(node: Any, path: NodePath) -> Iterator[tuple[NodePath, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path, node


def plaintext_secrets(doc: Any, extra: Sequence[Pattern] = ()) -> list[dict[str, Any]]:
    """Every plaintext leaf of DOC that is a secret by its key or by its shape."""
    found: list[dict[str, Any]] = []
    if isinstance(doc, dict):
        doc = {k: v for k, v in doc.items() if k != 'sops'}
    scan = _Scan(found, extra)
    if isinstance(doc, str):
        scan.leaf(doc, None, [])
    else:
        scan.walk(doc, [], None)
    return found


class _Scan:
    """The walk of plaintext_secrets. A string leaf is checked where its container is
    walked (no call per leaf), a key's verdict is kept for the document, and one path
    list is copied only for a hit: most documents have thousands of leaves."""

    def __init__(self, found: list[dict[str, Any]], extra: Sequence[Pattern]) -> None:
        self.found = found
        self.extra = extra
        self.named: dict[str, bool] = {}

    def walk(self, node: Any, path: list[Any], key: str | None) -> None:
        """KEY: the nearest mapping key above NODE."""
        if isinstance(node, dict):
            for k, value in node.items():
                here = k if isinstance(k, str) else key
                if isinstance(value, str):
                    if self.suspect(value, here):
                        self.leaf(value, here, [*path, k])
                elif isinstance(value, (dict, list)):
                    path.append(k)
                    self.walk(value, path, here)
                    path.pop()
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    if self.suspect(value, key):
                        self.leaf(value, key, [*path, i])
                elif isinstance(value, (dict, list)):
                    path.append(i)
                    self.walk(value, path, key)
                    path.pop()

    def suspect(self, value: str, key: str | None) -> bool:
        """Whether VALUE looks like a credential or sits under a key named like a
        secret (whether it is plaintext is asked only then)."""
        if ANY_CREDENTIAL.search(value) is not None:
            return True
        if key is None:
            return False
        named = self.named.get(key)
        if named is None:
            named = self.named[key] = secret_key(key, self.extra)
        return named

    def leaf(self, value: str, key: str | None, path: list[Any]) -> None:
        if not plaintext(value):
            return
        what = credential(value)
        if what is not None:
            self.found.append({'path': path, 'message': f'looks like {what}'})
        elif key is not None and secret_key(key, self.extra):
            self.found.append({'path': path, 'message': f'{key!r} is named like a secret'})


# In free text (a comment, a .env file, a README) a secret is a credential's shape, or a
# value assigned to a key named like a secret: `password: x`, `API_TOKEN=x`, "token": "x".
_ASSIGNMENT = re.compile(
    r'(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["\']?[ \t]*(?::=|=|:)[ \t]*["\']?'
    r'(?P<value>[^\s"\'`,;]+)'
)
# A key named like a secret somewhere in the text: a cheap test before the line by line scan.
_NAMED_HINT = re.compile(r'(?i)pass|secret|token|key|credential|pat\b')
# Documentation's stand-ins for a secret.
_PLACEHOLDER = re.compile(
    r'(?i)^(?:x+|\*+|\.+|-+|changeme|change[_-]me|none|null|nil|true|'
    r'false|todo|tbd|redacted|(?:example|your|dummy|fake|placeholder|'
    r'sample|test|my)[_-]?\S*)$'
)
_CLASSES = (
    re.compile('[a-z]'),
    re.compile('[A-Z]'),
    re.compile('[0-9]'),
    re.compile(r'[^A-Za-z0-9._-]'),
)


def random_enough(value: str) -> bool:
    """Whether VALUE, assigned to a secret's key in free text, looks like a real secret
    rather than prose, a name or a placeholder: at least 8 characters of two kinds or
    more (lower, upper, digits, symbols), and about 3 bits of entropy per character."""
    if len(value) < 8 or reference(value) or _PLACEHOLDER.match(value):
        return False
    if sum(1 for c in _CLASSES if c.search(value)) < 2:
        return False
    counts = [value.count(c) for c in set(value)]
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts)
    return entropy >= 3.0


def comment_start(line: str) -> int:
    """Where the comment of a YAML LINE starts (-1: none): a `#` at the start or after
    a blank, outside quotes."""
    if '#' not in line:
        return -1
    quote = None
    for i, ch in enumerate(line):
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in '"\'' and (i == 0 or line[i - 1] in ' \t:[{,-'):
            quote = ch
        elif ch == '#' and (i == 0 or line[i - 1] in ' \t'):
            return i
    return -1


def _in_line(text: str, extra: Sequence[Pattern]) -> tuple[int, str] | None:
    """(offset, what) of the first secret in one line of free text."""
    match = ANY_CREDENTIAL.search(text)
    if match is not None:
        return match.start(), f'looks like {credential(match.group(0)) or "a credential"}'
    for found in _ASSIGNMENT.finditer(text):
        key, value = found.group('key'), found.group('value')
        if secret_key(key, extra) and random_enough(value):
            return found.start('value'), f'{key!r} is named like a secret'
    return None


def secret_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each secret in free TEXT, as scan_text finds them: what a report
    masks in a message or a log line."""
    spans = [m.span() for m in ANY_CREDENTIAL.finditer(text)]
    if _NAMED_HINT.search(text) is not None:
        spans += [
            m.span('value')
            for m in _ASSIGNMENT.finditer(text)
            if secret_key(m.group('key')) and random_enough(m.group('value'))
        ]
    return sorted(spans)


def scan_text(
    text: str, *, comments: bool = False, extra: Sequence[Pattern] = ()
) -> list[tuple[int, int, str]]:
    """(line, column, why) of each secret in TEXT, a file that is not YAML or JSON (or,
    with COMMENTS, only the comments of a YAML file): credential shapes, and values
    that look random assigned to keys named like secrets."""
    if ANY_CREDENTIAL.search(text) is None and _NAMED_HINT.search(text) is None:
        return []  # most files: one search each, no line by line walk
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        offset = comment_start(line) if comments else 0
        if offset < 0:
            continue
        found = _in_line(line[offset:], extra)
        if found is not None:
            hits.append((number, offset + found[0] + 1, found[1]))
    return hits


@dataclass(frozen=True, slots=True)
class CreationRule:
    path_regex: Pattern | None
    encrypted_regex: Pattern | None = None
    unencrypted_regex: Pattern | None = None
    encrypted_suffix: str | None = None
    unencrypted_suffix: str | None = None


def _regex(raw: dict[str, Any], key: str) -> Pattern | None:
    value = raw.get(key)
    return go_regex(str(value)) if value is not None else None


def creation_rules(text: str | bytes | None) -> tuple[CreationRule, ...]:
    """The creation rules of a .sops.yaml, as far as coverage is concerned."""
    if text is None:
        return ()
    data = yaml_io.load(text, C.SOPS_CONFIG_FILE)
    rules = data.get('creation_rules') if isinstance(data, dict) else None
    if not isinstance(rules, list):
        return ()
    check_regexes(text, C.SOPS_CONFIG_FILE, rules)
    return tuple(
        CreationRule(
            _regex(raw, 'path_regex'),
            _regex(raw, 'encrypted_regex'),
            _regex(raw, 'unencrypted_regex'),
            raw.get('encrypted_suffix'),
            raw.get('unencrypted_suffix'),
        )
        for raw in rules
        if isinstance(raw, dict)
    )


def covering_rule(rules: Sequence[CreationRule], file: str) -> CreationRule | None:
    """The first creation rule whose path_regex matches FILE, as sops picks it."""
    for rule in rules:
        if rule.path_regex is None or rule.path_regex.search(file):
            return rule
    return None


def is_encrypted(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get('sops'), dict) and 'mac' in doc['sops']


def _covered(rule: CreationRule, path: NodePath, meta: dict[str, Any]) -> bool:
    keys = [k for k in path if isinstance(k, str)]
    enc_regex = meta.get('encrypted_regex') or (
        rule.encrypted_regex and rule.encrypted_regex.pattern
    )
    unenc_regex = meta.get('unencrypted_regex') or (
        rule.unencrypted_regex and rule.unencrypted_regex.pattern
    )
    enc_suffix = meta.get('encrypted_suffix') or rule.encrypted_suffix
    unenc_suffix = meta.get('unencrypted_suffix') or rule.unencrypted_suffix or '_unencrypted'
    if any(k.endswith(unenc_suffix) for k in keys):
        return False
    if enc_regex:
        return any(go_regex(enc_regex).search(k) for k in keys)
    if unenc_regex:
        return not any(go_regex(unenc_regex).search(k) for k in keys)
    if enc_suffix:
        return any(k.endswith(enc_suffix) for k in keys)
    return True


def unencrypted(doc: Any, file: str, rules: Sequence[CreationRule]) -> list[dict[str, Any]]:
    """Leaves that FILE's creation rule says are encrypted but are plaintext."""
    rule = covering_rule(rules, file)
    if rule is None or not isinstance(doc, (dict, list)):
        return []
    if not is_encrypted(doc):
        if not any(_plaintext(v) or isinstance(v, (int, float)) for _, v in _leaves(doc, ())):
            return []
        return [
            {
                'path': [],
                'message': f'{file} must be encrypted (a .sops.yaml creation rule '
                'covers it) but has no sops metadata',
            }
        ]
    meta: dict[str, Any] = doc['sops'] if isinstance(doc, dict) else {}
    return [
        {'path': list(path), 'message': 'plaintext value where .sops.yaml requires encryption'}
        for path, value in _leaves(doc, ())
        if path[:1] != ('sops',)
        and value is not None
        and _covered(rule, path, meta)
        and not (isinstance(value, str) and value.startswith('ENC['))
        and not (isinstance(value, str) and not value)
    ]
