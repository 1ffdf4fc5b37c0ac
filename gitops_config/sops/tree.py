"""The document tree every store parses into, and the walk that selects leaves.

A mapping is a Branch: an ordered list of (key, value) pairs, where a key may
be a Comment (its value is then None). Sequences are plain lists; a comment in
a sequence is an element. This mirrors sops's TreeBranch so that the walk
order, and with it the MAC, is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import NamedTuple
from typing import Union
from typing import cast

from gitops_config import regex
from gitops_config.sops.errors import SopsFormatError

if TYPE_CHECKING:
    from gitops_config.regex import Pattern


class _Text:
    """An immutable wrapper of one string; plain classes import faster than dataclasses."""

    __slots__ = ('text',)
    text: str

    def __init__(self, text: str) -> None:
        object.__setattr__(self, 'text', text)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f'{type(self).__name__} is immutable')

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Text) and type(other) is type(self) and other.text == self.text

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.text))

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.text!r})'

    def __deepcopy__(self, memo: dict[int, object]) -> _Text:
        return self


class Comment(_Text):
    """A comment's text without the leading '#'."""

    __slots__ = ()


class Timestamp(_Text):
    """A YAML time value, kept as Go's RFC 3339 (nano) text so no precision is lost."""

    __slots__ = ()


class Branch(list[tuple[Union[str, 'Comment'], 'Value']]):
    """An ordered mapping that may hold comments as keys."""

    def get(self, key: str) -> Value:
        for k, v in self:
            if k == key:
                return v
        return None


Scalar = str | bytes | int | float | bool | Timestamp | None
Value = Branch | list['Value'] | Scalar | Comment

SELECTORS = (
    'unencrypted_suffix',
    'encrypted_suffix',
    'unencrypted_regex',
    'encrypted_regex',
    'unencrypted_comment_regex',
    'encrypted_comment_regex',
)
DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted'


def go_regex(pattern: str) -> Pattern:
    """PATTERN as sops reads it: Go's regexp is RE2, and so is this (linear time,
    `$` only at the very end, ASCII `\\d \\w \\s`)."""
    return regex.compile(
        pattern,
        hint='sops reads Go regular expressions (RE2 syntax): no look-around, no backreferences',
    )


class Selection(NamedTuple):
    """Which leaves get encrypted: one of sops's six rules (§5 of the spec)."""

    kind: str = 'unencrypted_suffix'
    value: str = DEFAULT_UNENCRYPTED_SUFFIX
    mac_only_encrypted: bool = False

    def should_encrypt(
        self,
        path: list[str],
        comments: list[list[str]],
        *,
        is_comment: bool,
    ) -> bool:
        kind, value = self.kind, self.value
        if kind == 'unencrypted_suffix':
            return not any(k.endswith(value) for k in path)
        if kind == 'encrypted_suffix':
            return any(k.endswith(value) for k in path)
        if kind == 'unencrypted_regex':
            rx = go_regex(value)
            return not any(rx.search(k) for k in path)
        if kind == 'encrypted_regex':
            rx = go_regex(value)
            return any(rx.search(k) for k in path)
        rx = go_regex(value)
        if kind == 'unencrypted_comment_regex':
            return not any(rx.search(c) for level in comments for c in level)
        # encrypted_comment_regex: the matching comment line itself stays clear
        last = len(comments) - 1
        for i, level in enumerate(comments):
            for j, c in enumerate(level):
                if is_comment and i == last and j == len(level) - 1:
                    continue
                if rx.search(c):
                    return True
        return False


OnLeaf = Callable[[Value, list[str], list[list[str]]], Value]


def walk_branch(branch: Branch, on_leaf: OnLeaf) -> None:
    """Replace every leaf in place by on_leaf(leaf, path, comments), in sops's order."""
    _walk_branch(branch, [], [], on_leaf)


def _walk_value(value: Value, path: list[str], stack: list[list[str]], on_leaf: OnLeaf) -> Value:
    if isinstance(value, Branch):
        _walk_branch(value, path, stack, on_leaf)
        return value
    if isinstance(value, list):
        _walk_list(cast(list[Value], value), path, stack, on_leaf)
        return value
    if value is None:
        return None  # nulls are neither encrypted nor hashed
    return on_leaf(value, path, stack)


def _walk_list(
    items: list[Value], path: list[str], stack: list[list[str]], on_leaf: OnLeaf
) -> None:
    stack = [*stack, []]
    for i, item in enumerate(items):
        if isinstance(item, Comment):
            stack[-1].append(item.text)
        items[i] = _walk_value(item, path, stack, on_leaf)
        if not isinstance(item, Comment):
            stack[-1] = []


def _walk_branch(branch: Branch, path: list[str], stack: list[list[str]], on_leaf: OnLeaf) -> None:
    stack = [*stack, []]
    for i, (key, value) in enumerate(branch):
        if isinstance(key, Comment):
            stack[-1].append(key.text)
            new = on_leaf(key, path, stack)
            if isinstance(new, Comment):
                branch[i] = (new, None)
            elif isinstance(new, str):
                branch[i] = (Comment(new), None)
            else:
                raise SopsFormatError(f'a comment turned into {type(new).__name__}')
            continue
        if not isinstance(key, str):
            raise SopsFormatError(
                f'Tree contains a non-string key ({type(key).__name__}): {key!r}; '
                'only string keys are supported',
            )
        branch[i] = (key, _walk_value(value, [*path, key], stack, on_leaf))
        stack[-1] = []


def copy_tree(value: Value) -> Value:
    """A deep copy of a tree; scalars are immutable, so only containers are copied.

    Several times faster than copy.deepcopy, which matters for large files.
    """
    if isinstance(value, Branch):
        return Branch([(k, copy_tree(v)) for k, v in value])
    if isinstance(value, list):
        return [copy_tree(v) for v in cast(list[Value], value)]
    return value


def copy_docs(docs: list[Branch]) -> list[Branch]:
    return [Branch([(k, copy_tree(v)) for k, v in doc]) for doc in docs]
