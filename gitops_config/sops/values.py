"""Encrypted YAML/JSON as plain Python, with every encrypted leaf a Secret."""

from __future__ import annotations

from typing import NamedTuple

from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.sops import engine
from gitops_config.sops import format as fmt
from gitops_config.sops import sopsfile
from gitops_config.sops.errors import NoKeyError
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import Value
from gitops_config.sops.tree import copy_docs
from gitops_config.sops.tree import walk_branch


class _Mark(NamedTuple):
    """A leaf of the encrypted tree and whether the selection rule encrypts it."""

    value: Value
    selected: bool


def _marked(sf: sopsfile.SopsFile) -> list[Branch]:
    sel = sf.meta.selection
    docs = copy_docs(sf.docs)

    def on_leaf(value: Value, path: list[str], stack: list[list[str]]) -> Value:
        if isinstance(value, Comment):
            return value
        selected = sel.should_encrypt(path, stack, is_comment=False)
        return _Mark(value, selected)  # type: ignore[return-value]  # replaced below

    for doc in docs:
        walk_branch(doc, on_leaf)
    return docs


def _typed(value: Value) -> object:
    if isinstance(value, Timestamp):
        when, nanos = fmt.parse_rfc3339(value.text)
        return when.replace(microsecond=nanos // 1000)
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return value


def _convert(marked: object, plain: object | None, origin: str) -> object:
    if isinstance(marked, Branch):
        assert plain is None or isinstance(plain, Branch)
        out = {}
        for i, (key, value) in enumerate(marked):
            if isinstance(key, str):
                out[key] = _convert(value, plain[i][1] if plain is not None else None, origin)
        return out
    if isinstance(marked, list):
        items = []
        for i, value in enumerate(marked):
            other = plain[i] if isinstance(plain, list) else None
            if isinstance(other, Comment) or isinstance(value, Comment):
                continue
            if isinstance(value, _Mark) and plain is None and _is_list_comment(value):
                continue
            items.append(_convert(value, other, origin))
        return items
    if isinstance(marked, _Mark):
        if not marked.selected:
            return _typed(marked.value)
        if plain is None:
            text = marked.value if isinstance(marked.value, str) else str(marked.value)
            return SealedSecret(text, origin=origin) if text else ''
        return Secret(_typed(plain), origin=origin)  # type: ignore[arg-type]  # plain: a Value, checked above
    return marked


def _is_list_comment(mark: _Mark) -> bool:
    # sops stores a comment inside a sequence as an ENC[...,type:comment] item
    return isinstance(mark.value, str) and mark.value.endswith(',type:comment]')


def open_values(
    data: bytes, path: str, ring: KeyRing, *, sealed: bool, ignore_mac: bool = False
) -> object:
    sf = sopsfile.parse(data, path)
    marked = _marked(sf)
    try:
        plain: list[Branch] | None = engine.open_file(sf, ring, ignore_mac=ignore_mac).plain
    except NoKeyError:
        if not sealed:
            raise
        plain = None
    if plain is None:
        docs = [_convert(m, None, path) for m in marked]
    else:
        docs = [_convert(m, p, path) for m, p in zip(marked, plain, strict=True)]
    return docs[0] if len(docs) == 1 else docs
