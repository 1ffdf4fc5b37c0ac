"""Property tests: round trips for arbitrary trees, and minimal re-encryption."""

from __future__ import annotations

import copy
import json
import math
import os
import re

import pytest
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config.redact import Secret
from gitops_config.sops import MacMismatchError
from gitops_config.sops import decrypt_text
from gitops_config.sops import encrypt_text
from gitops_config.sops import engine
from gitops_config.sops import format as fmt
from gitops_config.sops import metadata as md
from gitops_config.sops import open_values
from gitops_config.sops import sopsfile
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
    TEXT,
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=True),
)
COMMENTS = st.builds(
    Comment,
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=10).map(
        lambda t: ' ' + t.strip()
    ),
)


def _branch(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Branch]:
    return st.lists(st.tuples(KEYS, children), max_size=4, unique_by=lambda kv: kv[0]).map(Branch)


TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), _branch(children)),
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
    encrypted = sopsfile.encrypt_docs([doc], meta, cipher)
    sf = sopsfile.SopsFile('x.yaml', stores.YAML, encrypted, meta)
    plain, mac = sopsfile.decrypt_docs(sf, Cipher(cipher.key))
    assert plain == [doc]
    assert sopsfile.stored_mac(sf, Cipher(cipher.key)) == mac


@SETTINGS
@given(DOCS)
def test_text_round_trip_through_yaml(doc: Branch) -> None:
    text = yaml_emit.emit([doc])
    assert yaml_emit.emit(yaml_load.load(text, 'x.yaml')) == text  # the emitter is stable
    recipient = _recipient()
    encrypted = encrypt_text(text, 'x.yaml', age=[recipient])
    assert decrypt_text(encrypted, 'x.yaml').decode() == text


def _recipient() -> str:
    from gitops_config.sops.keys.ring import KeyRing

    ident = KeyRing().age_identities()[0]
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
    encrypted = sopsfile.encrypt_docs([doc], meta, Cipher(key := os.urandom(32)))
    old_mac = meta.mac
    sf = sopsfile.SopsFile('x.yaml', stores.YAML, encrypted, meta)
    opened = sopsfile.open_with(sf, key)
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
    """The emitter quotes like go-yaml: sops prints back exactly our plaintext (but
    for the `.0` of integral floats, which go-yaml drops)."""
    from tests.sops.conftest import as_sops_prints
    from tests.sops.conftest import sops

    # go-yaml writes a multi-line string that starts with a space or newline, inside
    # a sequence, as a literal block nobody can read back (sops included); we quote
    # it there, so the two outputs differ on purpose. One that starts with a tab, as a
    # key, go-yaml reads back as a null key, which sops refuses even in its own files.
    assume(not any('\n' in s and s[:1] in ' \t\n' for s in _strings(doc)))
    text = yaml_emit.emit([doc])
    encrypted = encrypt_text(text, 'x.yaml', age=[_recipient()])
    printed = sops(
        'decrypt', '--input-type', 'yaml', '--output-type', 'yaml', '/dev/stdin', input=encrypted
    )
    assert as_sops_prints(text.encode(), printed) == printed


def _strings(node: Value) -> list[str]:
    if isinstance(node, Branch):
        return [x for k, v in node for x in ([k] if isinstance(k, str) else []) + _strings(v)]
    if isinstance(node, list):
        items: list[Value] = node  # type: ignore[assignment]  # not a Branch here
        return [x for v in items for x in _strings(v)]
    return [node] if isinstance(node, str) else []


JSON_SCALARS = st.one_of(
    TEXT, st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False)
)
JSON_DOCS = _branch(
    st.recursive(
        JSON_SCALARS,
        lambda children: st.one_of(st.lists(children, max_size=4), _branch(children)),
        max_leaves=10,
    )
)


@settings(max_examples=25, deadline=None)
@given(JSON_DOCS)
def test_real_sops_reads_our_json(doc: Branch) -> None:
    """JSON: Go's escaping and number formats; sops prints back our plaintext."""
    from gitops_config.sops.stores import json_
    from tests.sops.conftest import sops

    text = json_.emit([doc])
    assert json_.emit(json_.load(text, 'x.json')) == text
    encrypted = encrypt_text(text, 'x.json', age=[_recipient()])
    assert (
        sops(
            'decrypt',
            '--input-type',
            'json',
            '--output-type',
            'json',
            '/dev/stdin',
            input=encrypted,
        )
        == text
    )


# Scalars whose type a careless writer loses, each as a user writes it in YAML and the
# value go-yaml v3 (so sops) gives it: floats that print like ints (0.0, -0.0, 1.0), at
# the ends of the range, NaN and the infinities; ints at the int64 limits; numbers Go
# cannot hold; strings that read as numbers, bools or null unless quoted.
Typed = float | int | bool | str
Written = tuple[str, Typed]
LITERALS: list[Written] = [
    ('0.0', 0.0),
    ('-0.0', -0.0),
    ('1.0', 1.0),
    ('-1.0', -1.0),
    ('1e10', 1e10),
    ('123456.0', 123456.0),
    ('1e+300', 1e300),
    ('1.7976931348623157e308', 1.7976931348623157e308),
    ('1e-7', 1e-7),
    ('5e-324', 5e-324),
    ('1e-400', 0.0),
    ('-1e-400', -0.0),
    ('1e400', '1e400'),
    ('-1e400', '-1e400'),
    ('.inf', math.inf),
    ('-.inf', -math.inf),
    ('.nan', math.nan),
    ('9223372036854775807', 2**63 - 1),
    ('-9223372036854775808', -(2**63)),
    ('-9223372036854775809', -9.223372036854776e18),
    ('1_000.5', 1000.5),
    ('0x1F', 31),
    ('017', 15),
    ('+5', 5),
]
LOOKALIKES = [
    '0',
    '-0',
    '0.0',
    '-0.0',
    '1.0',
    '1e3',
    '1e400',
    '.inf',
    '-.inf',
    '.nan',
    '.NaN',
    'NaN',
    'Inf',
    '0x1F',
    '017',
    '1_000',
    '+5',
    '9223372036854775808',
    'true',
    'False',
    'null',
    '~',
    'yes',
    'off',
    '1:20',
    '2024-01-01',
    '',
]


def _float_text(value: float) -> str:
    return {'inf': '.inf', '-inf': '-.inf', 'nan': '.nan'}.get(repr(value), repr(value))


WRITTEN = st.lists(
    st.one_of(
        st.sampled_from(LITERALS),
        st.floats().map(lambda f: (_float_text(f), f)),
        st.integers(-(2**63), 2**63).map(float).map(lambda f: (repr(f), f)),
        st.integers(-(2**63), 2**63 - 1).map(lambda i: (str(i), i)),
        st.booleans().map(lambda b: (str(b).lower(), b)),
        st.one_of(st.sampled_from(LOOKALIKES), st.floats().map(repr)).map(
            lambda t: (json.dumps(t), t)
        ),  # double-quoted: a string
    ),
    min_size=1,
    max_size=8,
)


def _same_typed(got: object, want: Typed) -> bool:
    """Same type and value, a float to the bit (-0.0 is not 0.0; NaN is NaN)."""
    return type(got) is type(want) and (
        repr(got) == repr(want) if isinstance(want, float) else got == want
    )


def _as_sops_prints(want: Typed) -> Typed:
    """WANT as read back from what go-yaml prints (sops -d, or a plain leaf sops wrote):
    FormatFloat(f, 'g', -1, 64) has no `.0` (1.0 -> `1`, -0.0 -> `-0`): an int."""
    if isinstance(want, float) and re.fullmatch(r'-?\d+', fmt.format_float_g(want)):
        return int(want)
    return want


def _typed_file(written: list[Written]) -> str:
    # `enc` is encrypted (encrypted_regex), `plain` is written back as it reads
    items = ''.join(f'    - {text}\n' for text, _ in written)
    return f'enc:\n{items}plain:\n{items}'


def _check(doc: object, enc: list[Typed], plain: list[Typed]) -> None:
    """DOC's lists `enc` and `plain` hold ENC and PLAIN, typed alike (an encrypted leaf
    opened in memory by its value)."""
    assert isinstance(doc, (dict, Branch))
    lists: dict[object, object] = dict(doc)
    for key, wants in (('enc', enc), ('plain', plain)):
        items = lists[key]
        assert isinstance(items, list)
        got = [v.reveal() if isinstance(v, Secret) else v for v in items]
        assert len(got) == len(wants)
        for have, want in zip(got, wants, strict=True):
            assert _same_typed(have, want), (key, have, want)


def _encrypt_ours(written: list[Written]) -> bytes:
    return encrypt_text(_typed_file(written), 'x.yaml', age=[_recipient()], encrypted_regex='^enc$')


def _sops_yaml(*args: str, data: bytes) -> bytes:
    from tests.sops.conftest import sops

    return sops(*args, '--input-type', 'yaml', '--output-type', 'yaml', '/dev/stdin', input=data)


@settings(max_examples=60, deadline=None)
@given(WRITTEN)
@example(LITERALS)
def test_scalars_keep_type_and_value_through_our_encrypt_and_decrypt(
    written: list[Written],
) -> None:
    """Encrypted or left plain beside a secret, read in memory (render, drift) or
    decrypted to text (decrypt, edit) and read again: the same type, the same value."""
    wants = [want for _, want in written]
    encrypted = _encrypt_ours(written)
    _check(open_values(encrypted, 'x.yaml', sealed=False), wants, wants)
    [doc] = yaml_load.load(decrypt_text(encrypted, 'x.yaml').decode(), 'x.yaml')
    _check(doc, wants, wants)


@settings(max_examples=10, deadline=None)
@given(WRITTEN)
@example(LITERALS)
def test_real_sops_decrypts_our_scalars_to_the_same_values(written: list[Written]) -> None:
    """What we encrypt, sops opens (the MAC over a plain -0.0 included) to the same
    values, but that it prints an integral float like an int, as it does its own."""
    printed = _sops_yaml('decrypt', data=_encrypt_ours(written))
    [doc] = yaml_load.load(printed.decode(), 'x.yaml')
    wants = [_as_sops_prints(want) for _, want in written]
    _check(doc, wants, wants)


@settings(max_examples=10, deadline=None)
@given(WRITTEN)
@example([v for v in LITERALS if repr(v[1]) != '-0.0'])
@example([('-0.0', -0.0)])
def test_we_open_what_real_sops_encrypts_to_the_same_values(written: list[Written]) -> None:
    """What sops encrypts, we open to the values it holds: the encrypted ones exactly
    (their type is in the ciphertext), the plain ones as sops wrote them back (an
    integral float like an int); and we print what `sops -d` prints, but the `.0`."""
    from tests.sops.conftest import as_sops_prints

    theirs = _sops_yaml(
        'encrypt',
        '--age',
        _recipient(),
        '--encrypted-regex',
        '^enc$',
        data=_typed_file(written).encode(),
    )
    wants = [want for _, want in written]
    if any(repr(want) == '-0.0' for want in wants):
        # sops writes a plain -0.0 as `-0`, the int 0, and its MAC, taken over `-0`,
        # then fails: sops refuses its own file, and so do we
        with pytest.raises(MacMismatchError):
            open_values(theirs, 'x.yaml', sealed=False)
        return
    _check(
        open_values(theirs, 'x.yaml', sealed=False),
        wants,
        [_as_sops_prints(want) for want in wants],
    )
    printed = _sops_yaml('decrypt', data=theirs)
    assert as_sops_prints(decrypt_text(theirs, 'x.yaml'), printed) == printed
