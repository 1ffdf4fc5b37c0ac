"""Minimal edits of a YAML file's text: only the lines of the value change.

Re-dumping a document loses comments, quoting and layout; instead we find the
node's span from the parser's marks and splice new text in, as pre-commit's
yaml_rewrite does. Everything outside the span stays byte for byte the same,
line endings included.
"""

from __future__ import annotations

from typing import Any

import yaml

from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.yaml_io import fast
from gitops_config.yaml_io.dump import to_flow
from gitops_config.yaml_io.dump import to_yaml
from gitops_config.yaml_io.libyaml import CBaseLoader


class EditError(GitopsConfigError):
    code = 'edit'


def _compose(text: str, where: str) -> yaml.Node | None:
    loader = CBaseLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise fast.invalid_yaml(where, exc) from None
    finally:
        loader.dispose()
    return node


def _child(node: yaml.Node, step: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    """(key node, value node) of STEP below NODE, or (None, None)."""
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                return key, value
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and (0 <= step < len(node.value))
    ):
        return None, node.value[step]
    return None, None


def _children(node: yaml.Node) -> list[tuple[yaml.Node | None, yaml.Node]]:
    """(key node, value node) of each child; no key node in a sequence."""
    if isinstance(node, yaml.MappingNode):
        return list(node.value)
    return [(None, item) for item in node.value]


def _newline(text: str) -> str:
    return '\r\n' if '\r\n' in text else '\n'


def _line_start(text: str, index: int) -> int:
    return text.rfind('\n', 0, index) + 1


def _content_end(text: str, node: yaml.Node) -> int:
    """Index just past the last character of NODE's own text (before any newline)."""
    end = node.end_mark.index
    while end > node.start_mark.index and text[end - 1] in ' \t\r\n':
        end -= 1
    return end


def _scalar_text(value: Any, style: str | None) -> str | None:
    """VALUE as a one-line scalar, in STYLE ("'", '"' or plain) where it allows."""
    if isinstance(value, (dict, list)):
        return None
    if isinstance(value, str) and ('\n' in value or '\r' in value):
        return None
    dumped = to_yaml(value).rstrip('\n')
    dumped = dumped.removesuffix('\n...').rstrip('\n')
    if isinstance(value, str):
        if style == '"':
            return '"' + value.replace('\\', '\\\\').replace('"', '\\"') + '"'
        if style == "'":
            return "'" + value.replace("'", "''") + "'"
    return dumped


def _block(value: Any, indent: int, nl: str, seq: bool) -> str:
    """VALUE dumped as block YAML, every line indented by INDENT; sequences in a
    mapping indented under their key when SEQ (as the file writes them)."""
    lines = to_yaml(value, indent_sequences=seq).rstrip('\n').split('\n')
    return nl.join(' ' * indent + line for line in lines)


def _indented_sequences(root: yaml.Node) -> bool:
    """Whether the file indents block sequences under their key (`  - a` below `key:`)
    rather than flush with it (`- a`): the first one found decides; flush if none, as
    PyYAML and kubectl write them."""
    todo = [root]
    while todo:
        node = todo.pop(0)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(value, yaml.SequenceNode) and value.value and not value.flow_style:
                    return bool(value.start_mark.column > key.start_mark.column)
                todo.append(value)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return False


def set_value(text: str, path: NodePath, value: Any, *, where: str = '<yaml>') -> str:
    """TEXT with the value at PATH set to VALUE, creating missing mappings."""
    if not path:
        raise EditError('cannot replace the whole document', location=Location(where))
    nl = _newline(text)
    root = _compose(text, where)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value == ''):
        nested: Any = value
        for step in reversed(path):
            nested = {step: nested}
        return (
            text
            + ('' if not text or text.endswith('\n') else nl)
            + _block(nested, 0, nl, False)
            + nl
        )
    seq = _indented_sequences(root)
    node: yaml.Node = root
    key_node: yaml.Node | None = None
    in_flow = False  # inside a flow collection, where block YAML cannot go
    for depth, step in enumerate(path):
        k, v = _child(node, step)
        if v is None:
            return _insert(text, node, key_node, path[depth:], value, nl, seq, where)
        in_flow = in_flow or bool(getattr(node, 'flow_style', False))
        node, key_node = v, k
    if in_flow:
        scalar = _scalar_text(value, node.style if isinstance(node, yaml.ScalarNode) else None)
        return (
            text[: node.start_mark.index]
            + (to_flow(value) if scalar is None else scalar)
            + text[node.end_mark.index :]
        )
    return _replace(text, node, key_node, value, nl, seq)


def _replace(
    text: str, node: yaml.Node, key_node: yaml.Node | None, value: Any, nl: str, seq: bool
) -> str:
    style = node.style if isinstance(node, yaml.ScalarNode) else None
    scalar = _scalar_text(value, style or None)
    if scalar is not None and isinstance(node, yaml.ScalarNode) and style not in ('|', '>'):
        start, end = node.start_mark.index, node.end_mark.index
        return text[:start] + scalar + text[end:]
    if scalar is not None and node.start_mark.line == (
        key_node.start_mark.line if key_node else -1
    ):
        # key: {flow} or key: [flow] on one line -> key: scalar
        return text[: node.start_mark.index] + scalar + text[_content_end(text, node) :]
    if key_node is not None:
        # Everything after `key:` up to the end of the old value is replaced.
        colon = text.index(':', key_node.end_mark.index) + 1
        end = _content_end(text, node)
        if scalar is not None:
            return text[:colon] + ' ' + scalar + text[end:]
        indent = key_node.start_mark.column + 2
        if (
            isinstance(value, list)
            and isinstance(node, yaml.SequenceNode)
            and (node.start_mark.column == key_node.start_mark.column)
        ):
            indent = key_node.start_mark.column  # keep the file's `- ` at key level style
        if value in ({}, []):
            return text[:colon] + ' ' + ('{}' if value == {} else '[]') + text[end:]
        return text[:colon] + nl + _block(value, indent, nl, seq) + text[end:]
    # A list item: `- old` becomes `- new`, its continuation lines indented alike.
    start, end = node.start_mark.index, _content_end(text, node)
    column = node.start_mark.column
    if scalar is not None:
        return text[:start] + scalar + text[end:]
    block = _block(value, column, nl, seq)
    return text[:start] + block[column:] + text[end:]


def _insert(
    text: str,
    parent: yaml.Node,
    parent_key: yaml.Node | None,
    rest: NodePath,
    value: Any,
    nl: str,
    seq: bool,
    where: str,
) -> str:
    step = rest[0]
    nested: Any = value
    for missing in reversed(rest[1:]):
        if isinstance(missing, int):
            raise EditError(
                f'cannot create list item [{missing}]',
                location=Location(where),
                hint='set the whole list instead',
            )
        nested = {missing: nested}
    if isinstance(parent, yaml.SequenceNode) and isinstance(step, int):
        if step != len(parent.value):
            raise EditError(
                f'list has {len(parent.value)} items; cannot set [{step}]',
                location=Location(where),
                hint=f'append with [{len(parent.value)}]',
            )
        if parent.flow_style or not parent.value:
            items = [
                *fast.load(text[parent.start_mark.index : parent.end_mark.index], where),
                nested,
            ]
            return _splice_flow(text, parent, items)
        last = parent.value[-1]
        column = last.start_mark.column
        end = _content_end(text, last)
        block = _block([nested], column - 2, nl, seq)
        return text[:end] + nl + block + text[end:]
    if isinstance(parent, yaml.ScalarNode) and parent.value in ('', '~', 'null', 'Null', 'NULL'):
        return _replace(text, parent, parent_key, {step: nested}, nl, seq)
    if not isinstance(parent, yaml.MappingNode) or not isinstance(step, str):
        raise EditError(
            f'cannot set {step!r} inside a {type(parent).__name__}',
            location=Location(where, parent.start_mark.line + 1, parent.start_mark.column + 1),
        )
    if parent.flow_style or not parent.value:
        data = fast.load(text[parent.start_mark.index : parent.end_mark.index], where) or {}
        data[step] = nested
        return _splice_flow(text, parent, data)
    first_key = parent.value[0][0]
    column = first_key.start_mark.column
    end = _content_end(text, parent.value[-1][1])
    # Skip a trailing comment on the last value's line so it stays with its value.
    line_end = text.find('\n', end)
    line_end = len(text) if line_end == -1 else line_end
    if text[end:line_end].strip().startswith('#'):
        end = line_end - (1 if text[line_end - 1 : line_end] == '\r' else 0)
    return text[:end] + nl + _block({step: nested}, column, nl, seq) + text[end:]


def _splice_flow(text: str, node: yaml.Node, value: Any) -> str:
    """Replace a flow collection by VALUE, still in flow style."""
    return text[: node.start_mark.index] + to_flow(value) + text[node.end_mark.index :]


def delete_value(text: str, path: NodePath, *, where: str = '<yaml>') -> str:
    """TEXT without the key or list item at PATH; its whole lines go."""
    root = _compose(text, where)
    if root is None or not path:
        raise EditError('nothing to delete', location=Location(where))
    node: yaml.Node = root
    parent: yaml.Node = root
    key_node: yaml.Node | None = None
    for step in path:
        parent = node
        key_node, value = _child(node, step)
        if value is None:
            raise EditError(f'no {step!r} to delete', location=Location(where))
        node = value
    first = key_node if key_node is not None else node
    if getattr(parent, 'flow_style', False):
        data = fast.load(text[parent.start_mark.index : parent.end_mark.index], where)
        del data[path[-1]]
        return _splice_flow(text, parent, data)
    # whole lines go: the key's (or, for a list item, the `- ` line) through the value's
    start = _line_start(text, first.start_mark.index)
    siblings = [k if k is not None else v for k, v in _children(parent)]
    at = siblings.index(first)
    if text[start : first.start_mark.index].strip() and at + 1 < len(siblings):
        # the first child on its list item's `- ` line: the next one moves up to it
        return text[: first.start_mark.index] + text[siblings[at + 1].start_mark.index :]
    end = _content_end(text, node)
    line_end = text.find('\n', end)
    end = len(text) if line_end == -1 else line_end + 1
    result = text[:start] + text[end:]
    if (
        isinstance(parent, (yaml.MappingNode, yaml.SequenceNode))
        and len(parent.value) == 1
        and len(path) > 1
    ):
        # the mapping or list is now empty: say so, rather than leave `key:` meaning null
        return set_value(
            text, path[:-1], {} if isinstance(parent, yaml.MappingNode) else [], where=where
        )
    return result
