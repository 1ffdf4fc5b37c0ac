"""INI store (decrypt side): sections of string values, `;`/`#` comments."""

from __future__ import annotations

from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment


def load(data: bytes, path: str) -> list[Branch]:
    doc = Branch()
    section: Branch | None = None
    pending: list[Comment] = []
    lines = data.decode('utf-8', 'surrogateescape').split('\n')
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        if line[0] in ';#':
            pending.append(Comment(line.lstrip(';#').strip()))
            continue
        if line.startswith('[') and line.endswith(']'):
            section = Branch((c, None) for c in pending)
            pending = []
            doc.append((line[1:-1].strip(), section))
            continue
        key, sep, value = line.partition('=')
        if not sep:
            raise SopsFormatError(f'{path}: invalid INI line {i}')
        value = value.strip()
        if value.startswith('"""'):
            # 3.13.0/3.13.1 wrote multi-line metadata as """-quoted values
            parts = [value[3:]]
            while not parts[-1].endswith('"""') and i < len(lines):
                parts.append(lines[i])
                i += 1
            value = '\n'.join(parts)[:-3]
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in '"`':
            value = value[1:-1]
        if section is None:
            section = Branch()
            doc.append(('DEFAULT', section))
        section.append((key.strip(), value))
        section.extend((c, None) for c in pending)
        pending = []
    return [doc]


def emit(docs: list[Branch]) -> bytes:
    out: list[str] = []
    for name, section in docs[0]:
        if isinstance(name, Comment) or not isinstance(section, Branch):
            continue
        if out:
            out.append('')
        comments = [k for k, _ in section if isinstance(k, Comment)]
        lead = 0
        while lead < len(section) and isinstance(section[lead][0], Comment):
            lead += 1
        out.extend(f'; {c.text}' for c in comments[:lead])
        out.append(f'[{name}]')
        keys = [k for k, _ in section if isinstance(k, str)]
        width = max((len(k) for k in keys), default=0)
        body = section[lead:]
        for j, (key, value) in enumerate(body):
            if isinstance(key, Comment):
                continue
            # a key's comments follow it in the tree but are written above it
            k = j + 1
            while k < len(body) and isinstance(body[k][0], Comment):
                comment = body[k][0]
                assert isinstance(comment, Comment)
                out.append(f'; {comment.text}')
                k += 1
            text = str(value).replace('\n', '\\n') if value is not None else ''
            out.append(f'{key.ljust(width)} = {text}')
    return ('\n'.join(out) + '\n').encode('utf-8', 'surrogateescape')
