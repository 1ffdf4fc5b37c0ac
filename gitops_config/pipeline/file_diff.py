"""One rendered file at two revisions -> Changes, by the project's diff settings."""

from __future__ import annotations

import difflib
from typing import Any

from gitops_config import diff
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.project import Project

VALUES_FILE = '(values)'  # the pseudo-file diffed when nothing is rendered

# a rendered file: its documents (None: not YAML/JSON) and bytes (None: no bytes)
FileContent = tuple[list[Any] | None, bytes | None]


def options_for(project: Project, *, key: bytes | None) -> diff.Options:
    """How PROJECT's files are diffed; KEY fingerprints secrets."""
    section = project.raw.get('diff') or {}
    rules = tuple(diff.IdentityRule(r['path'], r['key']) for r in section.get('identity', ()))
    # lists that layers merge by a key are naturally identified by it too
    rules += tuple(diff.IdentityRule(path, field) for path, field in project.merge)
    patterns = tuple(str(p) for p in (project.raw.get('secrets') or {}).get('key_patterns') or ())
    return diff.Options(identity=rules, key=key, embedded=parse_embedded, secret_keys=patterns)


def parse_embedded(text: str) -> Any:
    """TEXT as YAML when it holds a mapping or a list (a ConfigMap entry), else None."""
    try:
        docs = yaml_io.load_all(text, '(embedded)')
    except GitopsConfigError:
        return None
    if len(docs) == 1 and isinstance(docs[0], (dict, list)):
        return docs[0]
    return None


def diff_file(
    env: str, path: str, old: FileContent | None, new: FileContent | None, options: diff.Options
) -> list[Change]:
    """File PATH of ENV from OLD to NEW (None: absent on that side)."""
    if old is not None and new is not None and old[1] is not None and old[1] == new[1]:
        return []  # same bytes: same documents, nothing to walk
    old_docs = None if old is None else old[0]
    new_docs = None if new is None else new[0]
    if (old is None or old_docs is not None) and (new is None or new_docs is not None):
        return diff.diff_documents(old_docs, new_docs, env=env, file=path, options=options)
    return [text_change(env, path, old, new)]


def text_change(env: str, path: str, old: FileContent | None, new: FileContent | None) -> Change:
    """A file that is not YAML or JSON: say how much changed, never what."""
    if old is None or new is None:
        kind = ChangeKind.ADDED if old is None else ChangeKind.REMOVED
        return Change(env, path, '', kind, detail=f'file {kind.value}')
    a = (old[1] or b'').decode(errors='replace').splitlines()
    b = (new[1] or b'').decode(errors='replace').splitlines()
    plus = minus = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != 'equal':
            minus += i2 - i1
            plus += j2 - j1
    return Change(env, path, '', ChangeKind.CHANGED, detail=f'text: +{plus} -{minus} lines')
