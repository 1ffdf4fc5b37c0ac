"""KEYPATH syntax, the same everywhere: `a.b.c`, `a.list[0].c`, `a.list[name=x].c`.

A key holding dots or brackets is written quoted: `a["b.c"]`. Globs add `*`
(one key or index), `[*]` (any item) and `**` (any depth).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config.errors import GitopsConfigError
from gitops_config.model import NodePath
from gitops_config.suggest import did_you_mean


class KeyPathError(GitopsConfigError):
    code = 'keypath'


@dataclass(frozen=True, slots=True)
class Select:
    """`[field=value]`: the list item whose FIELD (a dotted path such as
    model_info.id) equals VALUE."""

    field: str
    value: str

    def matches(self, item: Any) -> bool:
        value = self.value_of(item)
        return value is not _ABSENT and _scalar_text(value) == self.value

    def value_of(self, item: Any) -> Any:
        """ITEM's FIELD, or a marker that it has none."""
        return field_of(item, self.field, _ABSENT)


_ABSENT: Any = object()  # an item without the selected field


def field_of(item: Any, field: str, missing: Any = None) -> Any:
    """ITEM's FIELD, where a dotted FIELD (model_info.id) reaches into mappings;
    MISSING where a step is not there or not a mapping."""
    for step in field.split('.'):
        if not isinstance(item, dict) or step not in item:
            return missing
        item = item[step]
    return item


def holding(field: str, value: Any) -> dict[str, Any]:
    """The least mapping whose dotted FIELD is VALUE: {'model_info': {'id': VALUE}}."""
    node: Any = value
    for step in reversed(field.split('.')):
        node = {step: node}
    return node  # type: ignore[no-any-return]  # a mapping: a field has a step


Step = str | int | Select

_TOKEN = re.compile(
    r"""
    (?P<dot>\.)
  | \[(?P<index>-?\d+)\]
  | \[\s*(?P<qkey>"(?:[^"\\]|\\.)*"|'[^']*')\s*\]
  | \[(?P<field>[^=\]]+)=(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\]]*)\]
  | \[(?P<star>\*)\]
  | (?P<key>[^.\[\]]+)
    """,
    re.VERBOSE,
)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '"\'':
        body = text[1:-1]
        return re.sub(r'\\(.)', r'\1', body) if text[0] == '"' else body
    return text


def parse(text: str) -> tuple[Step, ...]:
    """Steps of TEXT; `*` and `[*]` parse as the key '*' (for globs)."""
    if not text or text.strip() != text:
        raise KeyPathError(
            f'invalid KEYPATH {text!r}', hint='write it like a.b.c, a.list[0].c or a.list[name=x].c'
        )
    steps: list[Step] = []
    pos = 0
    expect_key = True
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        if m.group('dot') is not None:
            if expect_key:
                break
            expect_key = True
        elif m.group('key') is not None:
            if not expect_key:
                break
            steps.append(m.group('key'))
            expect_key = False
        elif m.group('index') is not None:
            steps.append(int(m.group('index')))
            expect_key = False
        elif m.group('qkey') is not None:
            steps.append(_unquote(m.group('qkey')))
            expect_key = False
        elif m.group('star') is not None:
            steps.append('[*]')
            expect_key = False
        else:
            steps.append(Select(m.group('field').strip(), _unquote(m.group('value').strip())))
            expect_key = False
        pos = m.end()
    if pos != len(text) or expect_key:
        raise KeyPathError(
            f'invalid KEYPATH {text!r} at character {pos + 1}',
            hint='write it like a.b.c, a.list[0].c or a.list[name=x].c',
        )
    return tuple(steps)


_PLAIN_KEY = re.compile(r'^[^.\[\]"\'\s]+$')
# a selector value that reads back as itself unquoted
_SELECTABLE = re.compile(r'^[^\[\]"\'\s](?:[^\]]*[^\]\s])?$')


def format(path: Sequence[str | int | Select]) -> str:
    """The KEYPATH text of a concrete path."""
    out = []
    for step in path:
        if isinstance(step, int):
            out.append(f'[{step}]')
        elif isinstance(step, Select):
            out.append(f'[{step.field}={step.value}]')
        elif _PLAIN_KEY.match(step):
            out.append(f'.{step}' if out else step)
        else:
            escaped = step.replace('\\', '\\\\').replace('"', '\\"')
            out.append(f'["{escaped}"]')
    return ''.join(out)


def _scalar_text(value: object) -> str:
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if value is None:
        return 'null'
    return str(value)


def resolve(data: Any, steps: Sequence[Step], *, where: str = '') -> NodePath:
    """The concrete path STEPS names in DATA, or KeyPathError saying where it stopped."""
    path, rest = resolve_prefix(data, steps, where=where)
    if rest:
        node = get(data, path)
        key = rest[0]
        assert isinstance(key, str)
        raise KeyPathError(f'{where}no key {format([*path, key])}', hint=did_you_mean(key, node))
    return path


def resolve_prefix(
    data: Any,
    steps: Sequence[Step],
    *,
    where: str = '',
) -> tuple[NodePath, tuple[Step, ...]]:
    """The concrete path of the longest prefix of STEPS that DATA holds, and the steps
    left from the first mapping key DATA lacks (what `set` would create).

    Anything else that does not resolve raises KeyPathError, and a `[field=value]`
    matching several items raises AmbiguousKeyPathError: a KEYPATH names one node.
    """
    concrete: list[str | int] = []
    node = data
    for at, step in enumerate(steps):
        shown = format(concrete) or '(top level)'
        if isinstance(step, Select):
            if not isinstance(node, list):
                raise KeyPathError(f'{where}{shown} is not a list')
            found = [i for i, item in enumerate(node) if step.matches(item)]
            if not found:
                raise KeyPathError(f'{where}no item with {step.field}={step.value} in {shown}')
            if len(found) > 1:
                raise _ambiguous(node, concrete, step, found, where)
            concrete.append(found[0])
            node = node[found[0]]
        elif isinstance(step, int):
            if not isinstance(node, list):
                raise KeyPathError(f'{where}{shown} is not a list')
            if not -len(node) <= step < len(node):
                raise KeyPathError(f'{where}{shown} has {len(node)} items, no [{step}]')
            index = step % len(node)
            concrete.append(index)
            node = node[index]
        else:
            if not isinstance(node, dict):
                raise KeyPathError(f'{where}{shown} is not a mapping')
            if step not in node:
                return tuple(concrete), tuple(steps[at:])
            concrete.append(step)
            node = node[step]
    return tuple(concrete), ()


class AmbiguousKeyPathError(GitopsConfigError):
    """A selector matching several list items: which one is meant is the user's call."""

    code = 'ambiguous-keypath'
    exit_code = 2


def _ambiguous(
    items: list[Any], prefix: list[str | int], step: Select, found: list[int], where: str
) -> AmbiguousKeyPathError:
    named = []
    for i in found:
        unique = _unique_selector(items, i, step)
        exact = format([*prefix, i])
        named.append(f'{exact} ({format([*prefix, unique])})' if unique else exact)
    example = next((n[n.index('(') + 1 : -1] for n in named if '(' in n), None)
    return AmbiguousKeyPathError(
        f'{where}{format([*prefix, step])} matches {len(found)} items: {", ".join(named)}',
        hint=f'name one of them, e.g. {example}' if example else 'name one of them by index',
    )


def _unique_selector(items: list[Any], index: int, taken: Select) -> Select | None:
    """A `[field=value]` (a field up to two levels deep) naming ITEMS[INDEX] alone."""
    item = items[index]
    if not isinstance(item, dict):
        return None
    fields: list[str] = []
    for key, value in item.items():
        if isinstance(value, dict):
            fields.extend(f'{key}.{sub}' for sub in value if isinstance(sub, str))
        elif isinstance(key, str):
            fields.append(key)
    for field in fields:
        if field == taken.field or not _PLAIN_KEY.match(field.replace('.', '')):
            continue
        value = Select(field, '').value_of(item)
        text = _scalar_text(value)
        if value is None or isinstance(value, (dict, list)) or not _SELECTABLE.match(text):
            continue
        candidate = Select(field, text)
        if sum(candidate.matches(other) for other in items) == 1:
            return candidate
    return None


def get(data: Any, path: Sequence[str | int]) -> Any:
    node = data
    for step in path:
        node = node[step]
    return node


def match_glob(
    pattern: str | Sequence[Step],
    path: Sequence[str | int],
    data: Any = None,
) -> bool:
    """Whether concrete PATH matches PATTERN.

    `*` matches one key, `[*]` one list index, `**` any number of steps. A
    `[field=value]` step needs DATA (the tree PATH lives in) to be checked.
    """
    steps = parse(pattern) if isinstance(pattern, str) else tuple(pattern)
    path = tuple(path)
    # Every position of PATH the steps so far can reach: one pass per step, so a
    # pattern of many `**` (from a hostile waiver, say) cannot take exponential time.
    reached = {0}
    for step in steps:
        if step == '**':
            reached = set(range(min(reached), len(path) + 1))
        else:
            reached = {
                j + 1 for j in reached if j < len(path) and _step_matches(step, path, j, data)
            }
        if not reached:
            return False
    return len(path) in reached


def _step_matches(step: Step, path: NodePath, j: int, data: Any) -> bool:
    actual = path[j]
    if step == '*':
        return isinstance(actual, str)
    if step == '[*]':
        return isinstance(actual, int)
    if isinstance(step, Select):
        if not isinstance(actual, int) or data is None:
            return False
        try:
            item = get(data, path[: j + 1])
        except (KeyError, IndexError, TypeError):
            return False
        return step.matches(item)
    return bool(step == actual)
