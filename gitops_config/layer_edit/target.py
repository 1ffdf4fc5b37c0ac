"""What a KEYPATH names: resolved in the merged values of each environment a layer
feeds, as `get` resolves it, then followed by identity through any one layer.

A merged path's list indices mean nothing in a layer: a keyed list (`merge:`) matches
items by their key field, and a layer holds only the items it overrides. So the path is
re-spelled by identity (`Item`) where the merge rules give one, and by position
(`Index`) only in lists that are replaced whole, whose positions are the same in the one
layer that holds them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config import keypath
from gitops_config import values
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.values import Layer
from gitops_config.values import Values


@dataclass(frozen=True, slots=True)
class Item:
    """The item of a keyed list whose FIELD (maybe dotted, like model_info.id) is IDENT."""

    field: str
    ident: Any

    def stub(self) -> dict[str, Any]:
        """The least an override of this item holds: its identity."""
        return keypath.holding(self.field, self.ident)


@dataclass(frozen=True, slots=True)
class Index:
    """An item of a list that layers replace whole, by position."""

    index: int


IdStep = str | Item | Index


@dataclass(frozen=True)
class Stack:
    """One environment as seen from the layer being edited: the layers below it (its
    base), the layer, and the layers read after it."""

    values: Values
    at: int  # the edited layer's position in values.loaded

    @property
    def env(self) -> str:
        return self.values.env

    @property
    def rules(self) -> tuple[tuple[str, str], ...]:
        return self.values.merge_rules

    @property
    def layer(self) -> Layer:
        return self.values.loaded[self.at]

    @property
    def after(self) -> tuple[Layer, ...]:
        return self.values.loaded[self.at + 1 :]

    @functools.cached_property
    def base(self) -> dict[str, Any]:
        return values.merge_layers(self.values.loaded[: self.at], self.rules)


@dataclass(frozen=True, slots=True)
class Target:
    """What KEYPATH names in one environment's merged values."""

    env: str
    path: NodePath  # concrete, in the merged values; keys past `held` are new
    ids: tuple[IdStep, ...]  # the same path, by identity
    held: int  # how many steps of it the merged values hold

    @property
    def shown(self) -> str:
        return keypath.format(self.path)


@dataclass(frozen=True, slots=True)
class Shadow:
    """A later layer that decides the node (OVERRIDES: it sets the node itself, or part
    of it) or one of its ancestors (HIDES: the edited layer's value never shows)."""

    location: Location
    hides: bool


def resolve(stack: Stack, steps: Sequence[keypath.Step], *, create: bool) -> Target | Shadow:
    """STEPS in STACK's merged values; a Shadow when a later layer replaced where they
    lead, so that they name something the edited layer cannot reach.

    With CREATE, mapping keys the merged values lack are new keys (for `set`).
    Errors are the ones `get` gives, ambiguous selectors included.
    """
    data = stack.values.data
    where = f'{stack.env}: '
    try:
        path, rest = keypath.resolve_prefix(data, steps, where=where)
        if rest and (not create or not all(isinstance(s, str) for s in rest)):
            keypath.resolve(data, steps, where=where)  # raises: the error `get` gives
    except keypath.KeyPathError:
        shadow = _replaced_on_the_way(stack, steps)
        if shadow is None:
            raise
        return shadow
    keys = [s for s in rest if isinstance(s, str)]
    return Target(
        stack.env, (*path, *keys), (*_identities(data, path, stack.rules), *keys), len(path)
    )


def _replaced_on_the_way(stack: Stack, steps: Sequence[keypath.Step]) -> Shadow | None:
    """The later layer that set the node where STEPS stop resolving, if one did."""
    data = stack.values.data
    for cut in range(len(steps), -1, -1):
        try:
            path = keypath.resolve(data, steps[:cut])
        except keypath.KeyPathError:
            continue
        origin = stack.values.provenance.get(path)
        later = {layer.path for layer in stack.after}
        if origin is not None and origin.location.path in later:
            return Shadow(origin.location, hides=True)
        return None
    return None


def _identities(data: Any, path: NodePath, rules: Sequence[tuple[str, str]]) -> list[IdStep]:
    ids: list[IdStep] = []
    node = data
    for depth, step in enumerate(path):
        if isinstance(step, int):
            field = values.merge_key(rules, path[:depth])
            if field is None:
                ids.append(Index(step))
            else:
                # a keyed item with no identity, or one it shares, no override can
                # single out: its ident is None, and editing it is refused
                ident = values.item_key(node[step], field)
                shared = sum(values.item_key(other, field) == ident for other in node) > 1
                ids.append(Item(field, None if shared else ident))
        else:
            ids.append(step)
        node = node[step]
    return ids


def trace(data: Any, ids: Sequence[IdStep]) -> tuple[NodePath, int, Any]:
    """Follow IDS through one layer's DATA: the layer's own path, how many steps of IDS
    it holds, and the node it holds last. A `!delete` stops the walk (it is held)."""
    path: list[str | int] = []
    node = data
    for depth, step in enumerate(ids):
        if isinstance(step, str):
            if not isinstance(node, dict) or step not in node:
                return tuple(path), depth, node
            path.append(step)
        elif isinstance(step, Item):
            found = _find_item(node, step)
            if found is None:
                return tuple(path), depth, node
            path.append(found)
        else:
            if not isinstance(node, list) or step.index >= len(node):
                return tuple(path), depth, node
            path.append(step.index)
        node = node[path[-1]]
        if values.is_delete(node):
            return tuple(path), depth + 1, node
    return tuple(path), len(ids), node


def _find_item(node: Any, step: Item) -> int | None:
    if not isinstance(node, list) or step.ident is None:
        return None
    return next(
        (i for i, item in enumerate(node) if values.item_key(item, step.field) == step.ident), None
    )


def merges_into(node: Any, step: IdStep) -> bool:
    """Whether a layer holding NODE (but not STEP below it) leaves STEP to the layers
    below: a mapping merges key by key, a keyed list item by item; anything else
    replaces what is below."""
    return (isinstance(node, dict) and isinstance(step, str) and not values.is_delete(node)) or (
        isinstance(node, list) and isinstance(step, Item)
    )


def shadow(stack: Stack, ids: Sequence[IdStep]) -> Shadow | None:
    """The last later layer that replaces an ancestor of IDS (hides) or, failing one,
    the last that sets the node itself (overrides)."""
    found: Shadow | None = None
    for layer in stack.after:
        path, depth, node = trace(layer.data, ids)
        if depth == len(ids):
            if found is None or not found.hides:
                found = Shadow(location(layer, path), hides=False)
        elif not merges_into(node, ids[depth]):
            found = Shadow(location(layer, path), hides=True)
    return found


def location(layer: Layer, path: NodePath) -> Location:
    for cut in range(len(path), -1, -1):
        pos = layer.positions.get(path[:cut])
        if pos is not None:
            return Location(layer.path, pos[0], pos[1])
    return Location(layer.path)
