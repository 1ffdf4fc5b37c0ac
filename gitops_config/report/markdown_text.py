"""Text from a pull request made inert in Markdown: it shows as written, and does nothing.

Keys, values, paths, messages and reasons all come from files a pull request
can hold. Put raw into a comment, a key with backticks closes its code span,
and what follows renders: `</details>` breaks the layout, `<img>` loads a
remote image, `@team` notifies a team, `#123` links an issue. Every piece of
such text goes through `code` (a code span), `plain` (running text) or
`markup` (inside raw HTML).
"""

from __future__ import annotations

import html
import re

# U+200B ZERO WIDTH SPACE after `@` and `#`: GitHub no longer sees a mention or a
# reference (`@team`, `org/repo#1`), and the text reads the same.
_ZWSP = '\u200b'
_MENTION = re.compile(r'([@#])(?=[\w-])')
_TICKS = re.compile(r'`+')
# What starts inline syntax mid-line (code, emphasis, links and images, HTML, and
# GitHub's tables and strikethrough): escaped with a backslash, which CommonMark
# allows before any ASCII punctuation. An underscore inside a word (model_list)
# emphasises nothing in GFM, and stays as it is.
_INLINE = re.compile(r'([\\`*\[\]~|<>]|(?<!\w)_|_(?!\w))')
# What GitHub would turn into a link in running text: `https://...`, `www.`
_AUTOLINK = re.compile(r'(?i)(?<=\b)(https?|ftp|www)([:.])')


def inert(text: str) -> str:
    """TEXT with mentions and issue references broken, and on one line."""
    return _MENTION.sub(r'\1' + _ZWSP, ' '.join(text.splitlines()))


def code(text: str, *, in_table: bool = False) -> str:
    """TEXT as one code span: fenced with more backticks than any run it holds, so
    nothing inside can close it (and no HTML or Markdown inside is interpreted).
    IN_TABLE: also keep a `|` from ending the table cell."""
    text = inert(text)
    if not text:
        return ''
    if in_table:
        # GFM splits a row on `|` before it reads code spans, even inside them
        text = text.replace('|', '\\|')
    longest = max((len(run) for run in _TICKS.findall(text)), default=0)
    fence = '`' * (longest + 1)
    # a space on each side is dropped by the parser: it lets the text start or end
    # with a backtick, and keeps text that starts and ends with spaces as it is
    pad = ' ' if text[0] in '` ' or text[-1] in '` ' else ''
    return f'{fence}{pad}{text}{pad}{fence}'


def markup(text: str) -> str:
    """TEXT inside raw HTML (a `<summary>`), where Markdown is not read: entities."""
    return html.escape(inert(text))


def plain(text: str) -> str:
    """TEXT as running Markdown text that renders exactly as written."""
    text = inert(text).replace('&', '&amp;')
    return _AUTOLINK.sub(r'\1\\\2', _INLINE.sub(r'\\\1', text))
