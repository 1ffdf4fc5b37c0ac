"""YAML text -> sops tree, with go-yaml v3's typing and sops's comment placement."""

from __future__ import annotations

import bisect
import re
from datetime import UTC
from datetime import datetime

from gitops_config import constants as C
from gitops_config.sops import format as fmt
from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import Value
from gitops_config.yaml_io import resolve_plain
from gitops_config.yaml_io.sops_yaml import Node
from gitops_config.yaml_io.sops_yaml import RawComment
from gitops_config.yaml_io.sops_yaml import compose

_INT64_MAX = 2**63 - 1
_ALIAS_BUDGET = 1_000_000  # nodes

# go-yaml v3 tries these layouts (time.Parse) on unquoted scalars that start YYYY-
_TS_T = re.compile(
    r'^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?'
    r'(Z|[+-]\d{2}:\d{2})$',
)
_TS_SPACE = re.compile(r'^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?$')
_TS_DATE = re.compile(r'^(\d{4})-(\d{1,2})-(\d{1,2})$')


def go_timestamp(text: str) -> Timestamp | None:
    """The time go-yaml v3 reads from a plain scalar, or None if it is not one."""
    m = _TS_T.match(text) or _TS_SPACE.match(text) or _TS_DATE.match(text)
    if m is None:
        return None
    parts = m.groups()
    y, mo, d = (int(p) for p in parts[:3])
    h, mi, s = (int(p) for p in parts[3:6]) if len(parts) > 3 else (0, 0, 0)
    frac = parts[6] if len(parts) > 6 else None
    zone = parts[7] if len(parts) > 7 else 'Z'
    try:
        base = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        return None
    if zone and zone != 'Z':
        when, _ = fmt.parse_rfc3339(base.strftime('%Y-%m-%dT%H:%M:%S') + zone)
    else:
        when = base
    nanos = int((frac or '.0')[1:].ljust(9, '0')[:9])
    return Timestamp(fmt.format_time(when, nanos))


def scalar(node: Node, path: str) -> Value:
    text = node.value
    assert isinstance(text, str)
    if not node.plain or node.tag == 'tag:yaml.org,2002:str':
        return text
    if text[:1].isdigit():
        ts = go_timestamp(text)
        if ts is not None:
            return ts
    tag, value = resolve_plain(text)
    if tag.endswith(':int') and value > _INT64_MAX:
        raise SopsFormatError(
            f'{path}:{node.line + 1}: an integer above 2^63-1 (sops: "unknown type uint64")',
            hint='quote the number to keep it as a string',
        )
    if tag.endswith(':merge'):
        return text
    if tag.endswith(':timestamp'):
        return text  # looked like a time but no Go layout parses it
    return value  # type: ignore[no-any-return]  # resolve_plain returns Any


class _Item:
    """One mapping entry or sequence element, with where it starts."""

    __slots__ = ('column', 'container', 'index', 'line', 'parent')

    def __init__(
        self,
        container: Branch | list[Value],
        index: int,
        line: int,
        column: int,
        parent: _Item | None,
    ) -> None:
        self.container = container
        self.index = index
        self.line = line
        self.column = column
        self.parent = parent


class _Budget:
    """What a file's aliases may expand to, shared by its documents."""

    def __init__(self, size: int) -> None:
        self.nodes = _ALIAS_BUDGET
        self.limit = self.bytes = max(C.ALIAS_BYTES_FLOOR, C.ALIAS_BYTES_FACTOR * size)


class _Builder:
    def __init__(self, path: str, budget: _Budget) -> None:
        self.path = path
        self.items: list[_Item] = []
        self.budget = budget

    def build(self, node: Node, parent: _Item | None) -> Value:
        budget = self.budget
        budget.nodes -= 1
        if budget.nodes < 0:
            raise SopsFormatError(f'{self.path}: aliases expand to too many nodes')
        if node.kind == 'scalar':
            assert isinstance(node.value, str)
            budget.bytes -= len(node.value)
            if budget.bytes < 0:
                raise SopsFormatError(
                    f'{self.path}:{node.line + 1}: aliases expand to more than '
                    f'{budget.limit / (1024 * 1024):.0f} MiB of values '
                    '(an alias bomb?)'
                )
            return scalar(node, self.path)
        if node.kind == 'seq':
            out: list[Value] = []
            assert isinstance(node.value, list)
            for child in node.value:
                assert isinstance(child, Node)
                # A comment lines up with a scalar item's `- ` (two columns left of the
                # node), but with a mapping item's keys: go-yaml makes a comment at the
                # dash column after a mapping item the foot of the whole sequence.
                column = child.column - 2 if child.kind == 'scalar' else child.column
                item = _Item(out, len(out), child.line, max(column, 0), parent)
                self.items.append(item)
                out.append(self.build(child, item))
            return out
        branch = Branch()
        seen: set[str] = set()
        for pair in node.value:
            assert isinstance(pair, tuple)
            key_node, value_node = pair
            if key_node.kind != 'scalar':
                raise SopsFormatError(
                    f'{self.path}:{key_node.line + 1}: a mapping key must be a scalar'
                )
            key = scalar(key_node, self.path)
            if not isinstance(key, str):
                raise SopsFormatError(
                    f'{self.path}:{key_node.line + 1}: Tree contains a non-string key '
                    f'({key_node.value!r}); only string keys are supported',
                    hint='quote the key',
                )
            if key in seen:
                raise SopsFormatError(
                    f'{self.path}:{key_node.line + 1}: mapping key {key!r} already defined'
                )
            seen.add(key)
            item = _Item(branch, len(branch), key_node.line, key_node.column, parent)
            self.items.append(item)
            branch.append((key, None))
            value = self.build(value_node, item)
            if key == '<<' and key_node.plain and not _mergeable(value):
                raise SopsFormatError(
                    f'{self.path}:{key_node.line + 1}: map merge requires '
                    'map or sequence of maps as the value'
                )
            branch[-1] = (key, value)
        return branch


def _mergeable(value: Value) -> bool:
    # go-yaml refuses a `<<` whose value is not a mapping or a list of mappings
    if isinstance(value, Branch):
        return True
    return isinstance(value, list) and all(isinstance(v, Branch) for v in value)


def load(text: str, path: str) -> list[Branch]:
    """Parse every document into a Branch (top-level must be a mapping)."""
    roots, comments = compose(text, path)
    if not roots and not comments:
        raise SopsFormatError(f'{path}: the file must contain at least one document')
    docs: list[Branch] = []
    builders: list[_Builder] = []
    budget = _Budget(len(text))
    for root in roots or []:
        builder = _Builder(path, budget)
        if root.kind == 'scalar' and root.plain and root.value in ('', '~', 'null'):
            value: Value = Branch()  # an empty document between --- markers
        else:
            value = builder.build(root, None)
        if not isinstance(value, Branch):
            raise SopsFormatError(f'{path}: the top level of a YAML document must be a mapping')
        docs.append(value)
        builders.append(builder)
    if not docs:
        docs, builders = [Branch()], [_Builder(path, budget)]
    by_doc: dict[int, list[RawComment]] = {}
    for c in comments:
        by_doc.setdefault(min(c.doc, len(docs) - 1), []).append(c)
    for i, doc_comments in by_doc.items():
        _place(docs[i], builders[i].items, doc_comments)
    return docs


def _place(doc: Branch, items: list[_Item], comments: list[RawComment]) -> None:
    """Insert comments as tree items (sops <= 3.12: inline ones go before their key)."""
    before: dict[int, list[tuple[int, Comment]]] = {}  # id(item) -> comments
    after: dict[int, list[tuple[int, Comment]]] = {}
    top: list[Comment] = []
    tail: list[Comment] = []
    ordered = sorted(items, key=lambda i: (i.line, i.column))
    lines = [i.line for i in ordered]
    # (line, column, where, key) of the comment placed last, so that a block of
    # comment lines at one indentation stays together
    run: tuple[int, int, dict[int, list[tuple[int, Comment]]], int] | None = None
    for order, c in enumerate(comments):
        comment = Comment(c.text)
        if c.inline:
            k = bisect.bisect_right(lines, c.line) - 1
            if k >= 0 and ordered[k].line == c.line:
                before.setdefault(id(ordered[k]), []).append((order, comment))
                continue
        if run is not None and run[0] == c.line - 1 and run[1] == c.column:
            # a comment right below another one goes wherever that one went
            run[2].setdefault(run[3], []).append((order, comment))
            run = (c.line, c.column, run[2], run[3])
            continue
        k = bisect.bisect_right(lines, c.line)
        nxt = ordered[k] if k < len(ordered) else None
        prev = ordered[k - 1] if k > 0 else None
        if nxt is not None and (nxt.column >= c.column or prev is None or c.blank_before):
            # go-yaml: a head comment of the next node (a blank line above detaches a
            # comment from the block before it, whatever its indentation)
            before.setdefault(id(nxt), []).append((order, comment))
            run = (c.line, c.column, before, id(nxt))
            continue
        if prev is None:
            (top if nxt is not None else tail).append(comment)
            continue
        # A foot comment: it belongs to the innermost enclosing collection whose
        # items are not indented deeper than the comment.
        anchor = prev
        while anchor.parent is not None and anchor.column > c.column:
            anchor = anchor.parent
        after.setdefault(id(anchor), []).append((order, comment))
        run = (c.line, c.column, after, id(anchor))
    _rebuild(doc, items, before, after)
    if top:
        doc[:0] = [(t, None) for t in top]
    doc.extend((t, None) for t in tail)


def _rebuild(
    doc: Branch,
    items: list[_Item],
    before: dict[int, list[tuple[int, Comment]]],
    after: dict[int, list[tuple[int, Comment]]],
) -> None:
    if not before and not after:
        return
    by_container: dict[int, list[_Item]] = {}
    containers: dict[int, Branch | list[Value]] = {}
    for item in items:
        if id(item) in before or id(item) in after:
            by_container.setdefault(id(item.container), []).append(item)
            containers[id(item.container)] = item.container
    for cid, touched in by_container.items():
        container = containers[cid]
        marks = {t.index: t for t in touched}
        old = list(container)
        new: list[object] = []
        for index, entry in enumerate(old):
            mark = marks.get(index)
            pre = before.get(id(mark), []) if mark else []
            post = after.get(id(mark), []) if mark else []
            for _, comment in sorted(pre, key=lambda p: p[0]):
                new.append((comment, None) if isinstance(container, Branch) else comment)
            new.append(entry)
            for _, comment in sorted(post, key=lambda p: p[0]):
                new.append((comment, None) if isinstance(container, Branch) else comment)
        container[:] = new  # type: ignore[assignment]  # same element kind as before
