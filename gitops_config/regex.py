"""User-supplied regular expressions, run on RE2: linear time, whatever the pattern.

Every pattern a config repository holds (the project's secret key patterns,
.sops.yaml rules and the sops metadata of encrypted files, the globs of
rules, waivers and ignore rules) may come from a hostile pull request, and
Python's backtracking engine takes exponential time on `^(a+)+$`. RE2 never
backtracks, and it is what Go's regexp implements, so .sops.yaml patterns
keep exactly the meaning sops gives them. A pattern RE2 cannot run
(look-around, backreferences) is refused, never run on another engine.
"""

from __future__ import annotations

import functools
from typing import Protocol

from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location

HINT = (
    'patterns run on RE2 (the syntax of Go and sops), which has no look-around and '
    'no backreferences; rewrite the pattern without them'
)


class RegexError(GitopsConfigError):
    code = 'invalid-regex'


class Pattern(Protocol):
    """A compiled pattern; search() is truthy where it matches."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> object | None: ...

    def fullmatch(self, text: str) -> object | None: ...


def compile(
    pattern: str,
    *,
    what: str = 'regular expression',
    location: Location | None = None,
    hint: str = HINT,
) -> Pattern:
    """PATTERN on RE2, or a RegexError saying what is wrong (WHAT names the
    setting, LOCATION where it is set)."""
    compiled = _compiled(pattern)
    if isinstance(compiled, str):
        raise RegexError(
            f'{what} {pattern!r} cannot be used: {compiled}', location=location, hint=hint
        )
    return compiled


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Pattern | str:
    """The compiled pattern, or why RE2 refuses it (remembered either way)."""
    # lazy: RE2 loads only when _compiled() runs (start-up)
    import re2  # on first use: most commands never run a user pattern

    options = re2.Options()
    options.log_errors = False  # RE2 would print every refusal on stderr itself
    try:
        compiled: Pattern = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else 'not a valid pattern'
        return reason.decode(errors='replace') if isinstance(reason, bytes) else str(reason)
    return compiled


def escape(text: str) -> str:
    """TEXT as a pattern that matches exactly it."""
    # lazy: RE2 loads only when escape() runs (start-up)
    import re2

    escaped: str = re2.escape(text)
    return escaped


@functools.lru_cache(maxsize=1024)
def wildcard(pattern: str) -> Pattern:
    """A shell wildcard as fnmatch reads it (`*` crosses `/`, `?` is one character,
    `[...]` a class, `[!...]` its negation), matched against a whole string."""
    out = [r'(?s)\A']
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == '*':
            out.append('.*')
        elif char == '?':
            out.append('.')
        elif char == '[':
            end = i + 1 if pattern[i : i + 1] == '!' else i
            end += 1 if pattern[end : end + 1] == ']' else 0  # a leading ] is a member
            end = pattern.find(']', end)
            if end == -1:
                out.append(escape('['))
            else:
                out.append(_char_class(pattern[i:end]))
                i = end + 1
        else:
            out.append(escape(char))
    return compile(''.join(out) + r'\z', what='wildcard')


def _char_class(body: str) -> str:
    """BODY of a wildcard's `[...]` as an RE2 class, the way fnmatch reads it: `!`
    negates, `a-z` is a range, a range whose ends are reversed matches nothing."""
    negate = body.startswith('!')
    body = body[1:] if negate else body
    # the members between range hyphens, as fnmatch splits them
    chunks: list[str] = []
    start, k = 0, 1  # a hyphen at the very start is a member
    while (k := body.find('-', k)) >= 0:
        chunks.append(body[start:k])
        start, k = k + 1, k + 3
    if body[start:]:
        chunks.append(body[start:])
    else:
        chunks[-1] += '-'  # a trailing hyphen is a member
    for k in range(len(chunks) - 1, 0, -1):  # drop reversed ranges
        if chunks[k - 1][-1] > chunks[k][0]:
            chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
            del chunks[k]
    members = '-'.join(''.join('\\' + c if c in '\\[]^-' else c for c in chunk) for chunk in chunks)
    if not members:
        return '.' if negate else r'[^\x00-\x{10FFFF}]'  # any character; none
    return f'[{"^" if negate else ""}{members}]'
