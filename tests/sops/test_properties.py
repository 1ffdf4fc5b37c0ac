"""Property tests: round trips for arbitrary trees, and minimal re-encryption."""

from __future__ import annotations

import copy
import os

from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config.sops import decrypt_text
from gitops_config.sops import encrypt_text
from gitops_config.sops import engine
from gitops_config.sops import format as fmt
from gitops_config.sops import metadata as md
from gitops_config.sops import stores
from gitops_config.sops.cipher import Cipher
from gitops_config.sops.stores import yaml_emit
from gitops_config.sops.stores import yaml_load
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Value
from gitops_config.sops.tree import walk_branch

# No surrogates (not UTF-8) and no BOM: go-yaml also escapes the character after a
# U+FEFF inside double quotes, a quirk we do not copy.
CHARS = st.characters(blacklist_categories=['Cs'], blacklist_characters='\ufeff')
TEXT = st.text(CHARS, max_size=12)
KEYS = st.text(CHARS, min_size=1, max_size=8).filter(lambda k: k not in ('sops', '<<'))
SCALARS = st.one_of(
    TEXT, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none(),
    # -0.0 prints as `-0`, which YAML reads back as the int 0 (in sops too)
    st.floats(allow_nan=False, allow_infinity=True).filter(lambda f: f != 0 or str(f) == '0.0'),
)
COMMENTS = st.builds(Comment, st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                      max_size=10).map(lambda t: ' ' + t.strip()))


def _branch(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Branch]:
    return st.lists(st.tuples(KEYS, children), max_size=4,
                    unique_by=lambda kv: kv[0]).map(Branch)


TREES = st.recursive(
    SCALARS, lambda children: st.one_of(st.lists(children, max_size=4), _branch(children)),
    max_leaves=12,
)
DOCS = _branch(TREES)
SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(DOCS, st.booleans())
def test_tree_round_trip_in_memory(doc: Branch, with_comment: bool) -> None:
    if with_comment:
        doc.insert(0, (Comment(' note'), None))
    meta = md.Metadata([[]])
    cipher = Cipher(os.urandom(32))
    encrypted = engine.encrypt_docs([doc], meta, cipher)
    sf = engine.SopsFile('x.yaml', stores.YAML, encrypted, meta)
    plain, mac = engine.decrypt_docs(sf, Cipher(cipher.key))
    assert plain == [doc]
    assert engine.stored_mac(sf, Cipher(cipher.key)) == mac


@SETTINGS
@given(DOCS)
def test_text_round_trip_through_yaml(doc: Branch) -> None:
    text = yaml_emit.emit([doc])
    assert yaml_emit.emit(yaml_load.load(text, 'x.yaml')) == text  # the emitter is stable
    recipient = _recipient()
    encrypted = encrypt_text(text, 'x.yaml', age=[recipient])
    assert decrypt_text(encrypted, 'x.yaml').decode() == text


def _recipient() -> str:
    from gitops_config.sops.keys import age

    ident = age.identities()[0]
    return str(ident.to_public())


def _leaves(docs: list[Branch]) -> list[Value]:
    out: list[Value] = []

    def on_leaf(value: Value, path: list[str], stack: list[list[str]]) -> Value:
        out.append(value)
        return value

    for doc in copy.deepcopy(docs):
        walk_branch(doc, on_leaf)
    return out


@SETTINGS
@given(DOCS, st.data())
def test_editing_one_value_changes_only_its_ciphertext(doc: Branch, data: st.DataObject) -> None:
    paths = _scalar_paths(doc)
    # Equal values at the same key path share one IV in sops (SPEC 3.4), so an edit
    # of one would re-encrypt its twin too: keep the leaves distinct.
    typed = [(fmt.type_of(v), fmt.to_bytes(v)) for v in _leaves([doc]) if v is not None]
    assume(paths and len(set(typed)) == len(typed))
    target = data.draw(st.sampled_from(paths))
    meta = md.Metadata([[]])
    encrypted = engine.encrypt_docs([doc], meta, Cipher(key := os.urandom(32)))
    old_mac = meta.mac
    sf = engine.SopsFile('x.yaml', stores.YAML, encrypted, meta)
    opened = engine.open_file(sf, data_key=key)
    new_doc = copy.deepcopy(opened.plain[0])
    _set(new_doc, target, 'changed value')
    before = _leaves(encrypted)
    engine.reencrypt(opened, [new_doc])
    after = _leaves(sf.docs)
    differing = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(differing) <= 1  # the edited leaf (none if it already held that value)
    assert sf.meta.mac != old_mac


def _scalar_paths(node: Value, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(node, Branch):
        return [p for i, (_, v) in enumerate(node) for p in _scalar_paths(v, (*path, i))]
    if isinstance(node, list):
        items: list[Value] = node  # type: ignore[assignment]  # not a Branch here
        return [p for i, v in enumerate(items) for p in _scalar_paths(v, (*path, i))]
    return [path] if node is not None else []


def _set(node: Value, path: tuple[object, ...], value: Value) -> None:
    for step in path[:-1]:
        assert isinstance(step, int)
        node = node[step][1] if isinstance(node, Branch) else node[step]  # type: ignore[index]
    last = path[-1]
    assert isinstance(last, int)
    if isinstance(node, Branch):
        node[last] = (node[last][0], value)
    else:
        node[last] = value  # type: ignore[index]


@settings(max_examples=25, deadline=None)
@given(DOCS)
def test_real_sops_reads_what_we_write(doc: Branch) -> None:
    """The emitter quotes like go-yaml: sops prints back exactly our plaintext."""
    from tests.sops.conftest import sops

    # go-yaml writes a multi-line string that starts with a space or newline, inside
    # a sequence, as a literal block nobody can read back (sops included); we quote
    # it there, so the two outputs differ on purpose. One that starts with a tab, as a
    # key, go-yaml reads back as a null key, which sops refuses even in its own files.
    assume(not any('\n' in s and s[:1] in ' \t\n' for s in _strings(doc)))
    text = yaml_emit.emit([doc])
    encrypted = encrypt_text(text, 'x.yaml', age=[_recipient()])
    assert sops('decrypt', '--input-type', 'yaml', '--output-type', 'yaml', '/dev/stdin',
                input=encrypted).decode() == text


def _strings(node: Value) -> list[str]:
    if isinstance(node, Branch):
        return [x for k, v in node for x in ([k] if isinstance(k, str) else []) + _strings(v)]
    if isinstance(node, list):
        items: list[Value] = node  # type: ignore[assignment]  # not a Branch here
        return [x for v in items for x in _strings(v)]
    return [node] if isinstance(node, str) else []


JSON_SCALARS = st.one_of(TEXT, st.booleans(), st.none(),
                         st.floats(allow_nan=False, allow_infinity=False))
JSON_DOCS = _branch(st.recursive(
    JSON_SCALARS, lambda children: st.one_of(st.lists(children, max_size=4),
                                             _branch(children)), max_leaves=10))


@settings(max_examples=25, deadline=None)
@given(JSON_DOCS)
def test_real_sops_reads_our_json(doc: Branch) -> None:
    """JSON: Go's escaping and number formats; sops prints back our plaintext."""
    from gitops_config.sops.stores import json_
    from tests.sops.conftest import sops

    text = json_.emit([doc])
    assert json_.emit(json_.load(text, 'x.json')) == text
    encrypted = encrypt_text(text, 'x.json', age=[_recipient()])
    assert sops('decrypt', '--input-type', 'json', '--output-type', 'json', '/dev/stdin',
                input=encrypted) == text
