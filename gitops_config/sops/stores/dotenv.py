"""dotenv store: KEY=value lines, `#` comments, every value a string."""

from __future__ import annotations

from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Value


def load(data: bytes, path: str) -> list[Branch]:
    branch = Branch()
    for number, line in enumerate(data.decode('utf-8', 'surrogateescape').split('\n'), 1):
        if not line:
            continue
        if line.startswith('#'):
            branch.append((Comment(line[1:]), None))
            continue
        key, sep, value = line.partition('=')
        if not sep:
            # the line itself may be a secret: name it by number only
            raise SopsFormatError(f'{path}:{number}: invalid dotenv line (no `=`)')
        branch.append((key, value.replace('\\n', '\n')))
    return [branch]


def emit(docs: list[Branch]) -> bytes:
    out = []
    for key, value in docs[0]:
        if isinstance(key, Comment):
            out.append(f'#{key.text}\n')
            continue
        if isinstance(value, (Branch, list)):
            raise SopsFormatError(f'cannot write the nested value at {key!r} as dotenv')
        out.append(f'{key}={_text(value).replace(chr(10), chr(92) + "n")}\n')
    return ''.join(out).encode('utf-8', 'surrogateescape')


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value is None:
        return ''
    if isinstance(value, bytes):
        return value.decode('utf-8', 'surrogateescape')
    return str(value)
