"""Glob matching for the file patterns of schema maps, rules and waivers.

`*` stays inside one folder, `**` crosses folders, `?` is one character; a
pattern without a slash also matches the file name alone, as in .gitignore.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
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
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile(''.join(out) + r'\Z')


def glob_match(pattern: str, path: str) -> bool:
    if _compile(pattern).match(path):
        return True
    return '/' not in pattern and _compile(pattern).match(path.rsplit('/', 1)[-1]) is not None
