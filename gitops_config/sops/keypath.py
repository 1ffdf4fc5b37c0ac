"""KEYPATH syntax: `a.b[0].c` and `a.list[name=x].c`, applied to a sops tree."""

from __future__ import annotations

import re

from gitops_config.errors import UsageError
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Value

_TOKEN = re.compile(r'\.?([^.\[\]]+)|\[(\d+)\]|\[([^=\]]+)=([^\]]*)\]')

Step = str | int | tuple[str, str]


def parse(keypath: str) -> list[Step]:
    steps: list[Step] = []
    pos = 0
    while pos < len(keypath):
        m = _TOKEN.match(keypath, pos)
        if m is None or m.end() == pos:
            raise UsageError(
                f'invalid KEYPATH {keypath!r} at column {pos + 1}',
                hint='use a.b[0].c or a.list[name=x].c',
            )
        if m[1] is not None:
            steps.append(m[1])
        elif m[2] is not None:
            steps.append(int(m[2]))
        else:
            steps.append((m[3], m[4]))
        pos = m.end()
    if not steps:
        raise UsageError('empty KEYPATH')
    return steps


def _find(items: list[Value], key: str, wanted: str) -> int:
    for i, item in enumerate(items):
        if isinstance(item, Branch) and str(item.get(key)) == wanted:
            return i
    raise UsageError(f'no list item with {key}={wanted}')


def set_value(root: Branch, steps: list[Step], value: Value) -> None:
    """Set the value at steps, creating missing mapping keys as sops set does."""
    node: Value = root
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, str):
            if not isinstance(node, Branch):
                raise UsageError(f'{step!r}: not a mapping at this point of KEYPATH')
            for j, (k, v) in enumerate(node):
                if k == step:
                    if last:
                        node[j] = (k, value)
                        return
                    node = v
                    break
            else:
                child: Value = (
                    value if last else ([] if isinstance(steps[i + 1], int) else Branch())
                )
                node.append((step, child))
                if last:
                    return
                node = child
            continue
        if not isinstance(node, list) or isinstance(node, Branch):
            raise UsageError(f'{step!r}: not a list at this point of KEYPATH')
        index = step if isinstance(step, int) else _find(node, *step)
        if index == len(node):
            node.append(Branch() if not last else value)
        if index > len(node):
            raise UsageError(f'index {index} is past the end of the list')
        if last:
            node[index] = value
            return
        node = node[index]
