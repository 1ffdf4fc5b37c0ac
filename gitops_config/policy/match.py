"""Glob matching for the file patterns of schema maps, rules and waivers.

`*` stays inside one folder, `**` crosses folders, `?` is one character; a
pattern without a slash also matches the file name alone, as in .gitignore.
"""

from __future__ import annotations

import functools

from gitops_config import regex


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> regex.Pattern:
    """PATTERN on RE2: a pattern of many stars cannot make matching slow."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith('**/', i):
            out.append('(?:.*/)?')
            i += 3
        elif pattern.startswith('**', i):
            out.append('.*')
            i += 2
        elif pattern[i] == '*':
            out.append('[^/]*')
            i += 1
        elif pattern[i] == '?':
            out.append('[^/]')
            i += 1
        else:
            out.append(regex.escape(pattern[i]))
            i += 1
    return regex.compile(r'\A' + ''.join(out) + r'\z', what='glob')


@functools.lru_cache(maxsize=1 << 16)
def glob_match(pattern: str, path: str) -> bool:
    # cached: every environment checks the same names against the same globs, and an
    # RE2 call costs a few microseconds
    if _compile(pattern).search(path):
        return True
    return '/' not in pattern and _compile(pattern).search(path.rsplit('/', 1)[-1]) is not None
