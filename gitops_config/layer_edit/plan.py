"""The one change to a layer that makes the merged values say what `set` or `unset`
asked, given the layers below it and the merge rules (values.py).

Where the layer already holds the node, that node is replaced or removed. Where it
does not, the change is the least override the merge applies to exactly that node: the
keys on the way, and for a keyed list an entry holding the item's identity and the one
field. A list that layers replace whole cannot be edited item by item from a layer that
does not hold it: that is refused, never written as a mapping that would replace it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config import keypath
from gitops_config import values
from gitops_config import yaml_io
from gitops_config.equality import same
from gitops_config.errors import GitopsConfigError
from gitops_config.layer_edit.target import IdStep
from gitops_config.layer_edit.target import Index
from gitops_config.layer_edit.target import Item
from gitops_config.layer_edit.target import Stack
from gitops_config.layer_edit.target import Target
from gitops_config.layer_edit.target import location
from gitops_config.layer_edit.target import merges_into
from gitops_config.layer_edit.target import shadow
from gitops_config.layer_edit.target import trace
from gitops_config.model import NodePath


class CannotEditError(GitopsConfigError):
    """No change to this layer does what was asked, and nothing else."""

    code = 'cannot-edit'
    exit_code = 2


class _Missing:
    def __repr__(self) -> str:
        return 'MISSING'


MISSING: Any = _Missing()  # no node at all (a layer not holding it, or no layer)
REMOVE: Any = _Missing()  # Change.value: take the node out of the layer


def deletion(value: Any = '') -> yaml_io.Tagged:
    return yaml_io.Tagged(values.DELETE_TAG, value)


@dataclass(frozen=True, slots=True)
class Change:
    """Set PATH (in the layer's own data) to VALUE, or remove it (VALUE is REMOVE).
    Only PATH's last step may be new: a key, or a list's length (append)."""

    path: NodePath
    value: Any
    deletes: bool = False  # the change writes a `!delete` for the target


def current(stack: Stack, target: Target) -> Any:
    """The node `set` replaces: the layer's own, else the merged one, else MISSING."""
    _, depth, node = trace(stack.layer.data, target.ids)
    if depth == len(target.ids) and not values.is_delete(node):
        return node
    if target.held == len(target.path):
        return keypath.get(stack.values.data, target.path)
    return MISSING


def plan_set(stack: Stack, target: Target, value: Any) -> Change:
    ids = target.ids
    path, depth, node = trace(stack.layer.data, ids)
    if depth == len(ids) and not values.is_delete(node):
        return Change(path, _override(_base(stack, ids), value, target.path, stack.rules, ids))
    anchor, path = _anchor(stack, target, path, depth, node)
    base = _base(stack, ids[: anchor + 1])
    below = MISSING if depth > anchor else base  # a `!delete` in the layer: nothing below
    if isinstance(ids[anchor], Item) and below is MISSING:
        raise _added_later(stack, target)
    desired = _put(below, ids[anchor + 1 :], value, stack, target)
    return Change(
        path, _override(base, desired, target.path[: anchor + 1], stack.rules, ids[: anchor + 1])
    )


def plan_unset(stack: Stack, target: Target) -> Change:
    ids = target.ids
    path, depth, node = trace(stack.layer.data, ids)
    if depth == len(ids) and not values.is_delete(node):
        return Change(path, REMOVE)
    if depth == len(ids) or (depth and values.is_delete(node)):
        where = location(stack.layer, path)
        raise CannotEditError(
            f'{where}: {stack.layer.path} already deletes {keypath.format(target.path[:depth])}'
            f', and a later layer sets {target.shown} again in {stack.env}',
            hint=_later_hint(stack, target),
        )
    anchor, path = _anchor(stack, target, path, depth, node)
    if _base(stack, ids) is MISSING:
        raise _added_later(stack, target)
    last = ids[-1]
    gone = deletion(last.stub() if isinstance(last, Item) else '')
    return Change(path, _wrap(ids[anchor + 1 :], gone, ids[anchor]), deletes=True)


def _anchor(
    stack: Stack,
    target: Target,
    path: NodePath,
    depth: int,
    node: Any,
) -> tuple[int, NodePath]:
    """Where the change goes when the layer does not hold the target: the first step
    it lacks (or its `!delete` on the way), and that step's path in the layer."""
    ids = target.ids
    if depth and values.is_delete(node):
        anchor = depth - 1
    else:
        anchor = depth
        step = ids[depth]
        if isinstance(step, Index):
            raise _whole_list(stack, target, depth)
        if not merges_into(node, step):
            shown = keypath.format(target.path[:depth])
            raise CannotEditError(
                f'{location(stack.layer, path)}: {stack.layer.path} sets {shown or "it"} to '
                f'{_kind(node)}, which {target.shown} cannot be inside',
                hint=f'set {shown} itself' if shown else None,
            )
        path = (*path, step if isinstance(step, str) else len(node))
    for at in range(anchor, len(ids)):
        step = ids[at]
        if isinstance(step, Index):
            raise _whole_list(stack, target, at)
        if isinstance(step, Item) and step.ident is None:
            raise CannotEditError(
                f'{stack.env}: {keypath.format(target.path[: at + 1])} has no {step.field} '
                f'of its own, so no layer can override it alone',
                hint=f'give every item of {keypath.format(target.path[:at])} a distinct '
                f'{step.field}',
            )
    return anchor, path


def _base(stack: Stack, ids: Sequence[IdStep]) -> Any:
    """The merged value of the layers below the edited one at IDS, or MISSING. Below a
    list the layer replaces whole, what the base holds never shows."""
    if any(isinstance(step, Index) for step in ids):
        return MISSING
    _, depth, node = trace(stack.base, ids)
    return node if depth == len(ids) else MISSING


def _put(node: Any, ids: Sequence[IdStep], value: Any, stack: Stack, target: Target) -> Any:
    """NODE with VALUE at IDS below it, creating mappings for new keys."""
    if not ids:
        return value
    step, rest = ids[0], ids[1:]
    if isinstance(step, str):
        if node is MISSING:
            node = {}
        assert isinstance(node, dict)  # the merged values hold a mapping here
        return {**node, step: _put(node.get(step, MISSING), rest, value, stack, target)}
    assert isinstance(step, Item)  # _anchor refused positions below the layer
    found = next(
        (
            i
            for i, item in enumerate(node if isinstance(node, list) else [])
            if values.item_key(item, step.field) == step.ident
        ),
        None,
    )
    if found is None:
        raise _added_later(stack, target)
    items = list(node)
    items[found] = _put(items[found], rest, value, stack, target)
    return items


def _override(
    base: Any, desired: Any, path: NodePath, rules: Sequence[tuple[str, str]], ids: Sequence[IdStep]
) -> Any:
    """What a layer holds at merged PATH so that merging it onto BASE gives DESIRED:
    only what differs, `!delete` for what BASE has and DESIRED not, and the identity of
    every keyed item it names."""
    held = _least(base, desired, path, rules, path)
    last = ids[-1] if ids else None
    return _with_identity(held, last) if isinstance(last, Item) else held


def _least(
    base: Any, desired: Any, path: NodePath, rules: Sequence[tuple[str, str]], asked: NodePath
) -> Any:
    """The override at PATH, inside the value given for ASKED."""
    if base is MISSING:
        return desired
    if isinstance(base, dict) and isinstance(desired, dict):
        held = {
            k: _least(base.get(k, MISSING), v, (*path, k), rules, asked)
            for k, v in desired.items()
            if k not in base or not same(base[k], v)
        }
        held.update((k, deletion()) for k in base if k not in desired)
        return held
    if isinstance(base, list) and isinstance(desired, list):
        field = values.merge_key(rules, path)
        if field is not None:
            return _least_items(base, desired, path, field, rules, asked)
    return desired


def _least_items(
    base: list[Any],
    desired: list[Any],
    path: NodePath,
    field: str,
    rules: Sequence[tuple[str, str]],
    asked: NodePath,
) -> list[Any]:
    """A keyed list's override: changed and new items, and `!delete` for the gone."""
    known = [values.item_key(item, field) for item in base]
    held: list[Any] = []
    seen: list[Any] = []
    for item in desired:
        ident = values.item_key(item, field)
        if ident is None or ident in seen:
            raise CannotEditError(
                f'every item of {keypath.format(path)} needs a distinct {field}, since '
                f'layers merge it item by item'
            )
        if ident in known:
            _check_order(known, seen, ident, path, asked)
        seen.append(ident)
        if ident not in known:
            held.append(item)
        elif not same(base[known.index(ident)], item):
            at = known.index(ident)
            held.append(
                _with_identity(
                    _least(base[at], item, (*path, at), rules, asked), Item(field, ident)
                )
            )
    held.extend(deletion(Item(field, ident).stub()) for ident in known if ident not in seen)
    return held


def _check_order(
    known: list[Any], seen: list[Any], ident: Any, path: NodePath, asked: NodePath
) -> None:
    """Refuse to put the item IDENT after SEEN where the merge cannot: a keyed list keeps
    the order of the layers below (KNOWN) and adds new items at the end. Moving an item
    would take deleting it and adding it whole, which cuts it off from the layers below.
    The list at PATH is the value given for ASKED, or inside it."""
    before = next(
        (
            other
            for other in reversed(seen)
            if other not in known or known.index(other) > known.index(ident)
        ),
        None,
    )
    if before is None:
        return
    shown = keypath.format(path)
    raise CannotEditError(
        f'{shown}: layers merge it item by item, in the order of the layers below '
        f'({", ".join(map(str, known))}) with new items last, so no layer above can put '
        f'{ident} after {before}',
        hint=(
            f'list the items in that order, or reorder them in the layer that first sets {shown}'
            if path == asked
            else f'list the items of {shown} in that order, or reorder them in the layer that '
            'first sets that list'
        ),
    )


def _with_identity(node: Any, item: Item) -> Any:
    """NODE, an override of ITEM, holding ITEM's identity (first, for readers)."""
    if not isinstance(node, dict):
        return node  # a `!delete` of the item carries its identity already
    return _merge_first(item.stub(), node)


def _merge_first(first: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    merged = dict(first)
    for key, value in rest.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge_first(merged[key], value)
        else:
            merged[key] = value
    return merged


def _wrap(ids: Sequence[IdStep], leaf: Any, anchor: IdStep) -> Any:
    """LEAF nested in IDS, as the layer holds it at ANCHOR: mappings for keys, a
    one-entry list holding the identity for a keyed item."""
    node = leaf
    for step in reversed(ids):
        if isinstance(step, str):
            node = {step: node}
        else:
            assert isinstance(step, Item)  # _anchor refused positions
            node = [_with_identity(node, step)]
    return _with_identity(node, anchor) if isinstance(anchor, Item) else node


def _whole_list(stack: Stack, target: Target, at: int) -> CannotEditError:
    list_path = keypath.format(target.path[:at])
    return CannotEditError(
        f'{target.env}: {list_path} is a list that layers replace whole, and '
        f'{stack.layer.path} does not hold it, so no entry there can change '
        f'{target.shown} alone',
        hint=f'set the whole list in {stack.layer.path} (gitops-config set '
        f'{stack.layer.path} {list_path} "[...]"), or merge it by a key field: '
        f'`merge: [{{path: {list_path}, key: name}}]` in gitops-config.yaml',
    )


def _added_later(stack: Stack, target: Target) -> CannotEditError:
    return CannotEditError(
        f'{target.env}: {target.shown} comes from a layer read after {stack.layer.path}, '
        f'not from it or a layer below it',
        hint=_later_hint(stack, target),
    )


def _later_hint(stack: Stack, target: Target) -> str:
    later = shadow(stack, target.ids)
    if later is None:
        return f'edit the layer of {target.env} that sets it'
    return f'{later.location} sets it: edit that file instead'


def _kind(node: Any) -> str:
    if values.is_delete(node):
        return '!delete'
    if isinstance(node, list):
        return 'a list'
    if isinstance(node, dict):
        return 'a mapping'
    return 'a scalar'
