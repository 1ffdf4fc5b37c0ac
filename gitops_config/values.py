"""Layered values: merged in order, every leaf remembering where it was set.

Mappings deep-merge; scalars and lists are replaced; a list declared in the
project's `merge:` section merges item by item, matched by its key field; a
value tagged `!delete` removes the key (or, inside a keyed list, the item).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gitops_config import keypath
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.project import Project
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.source import Source

Path = tuple[str | int, ...]
DELETE_TAG = '!delete'


class LayerError(GitopsConfigError):
    code = 'invalid-layer'


@dataclass(frozen=True, slots=True)
class Provenance:
    location: Location
    overridden: tuple[Location, ...] = ()


@dataclass(frozen=True)
class Values:
    env: str
    data: dict[str, Any]
    provenance: dict[Path, Provenance] = field(repr=False)
    layers: tuple[str, ...] = ()

    def secrets(self) -> list[Secret | SealedSecret]:
        found: list[Secret | SealedSecret] = []
        _collect_secrets(self.data, found)
        return found


def _collect_secrets(node: Any, found: list[Secret | SealedSecret]) -> None:
    if isinstance(node, (Secret, SealedSecret)):
        found.append(node)
    elif isinstance(node, dict):
        for value in node.values():
            _collect_secrets(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_secrets(value, found)


@dataclass
class _Prov:
    """Provenance of one node, with its children's (a tree shaped like the value)."""

    here: Provenance
    kids: dict[str, _Prov] | list[_Prov] | None = None


@dataclass(frozen=True, slots=True)
class Layer:
    path: str
    data: dict[str, Any]
    positions: dict[Path, tuple[int, int]]


def load_layer(source: Source, path: str, *, sealed: bool = False) -> Layer:
    text = source.read(path)
    located = yaml_io.load_all_located(text, path)
    if len(located) > 1:
        raise LayerError(f'{path}: a layer must hold one YAML document, found {len(located)}',
                         location=Location(path))
    data, positions = located[0] if located else (None, {})
    if data is None:
        return Layer(path, {}, positions)
    if not isinstance(data, dict):
        raise LayerError(
            f'a layer must be a mapping at the top level, not {type(data).__name__}',
            location=Location(path, 1, 1), hint='write `key: value` pairs at the top level',
        )
    if isinstance(data.get('sops'), dict) and 'mac' in data['sops']:
        from gitops_config import sops

        opened = sops.open_values(text, path, sealed=sealed)
        assert isinstance(opened, dict)
        data = opened
    return Layer(path, data, positions)


def merge(source: Source, project: Project, env: str, *, sealed: bool = False) -> Values:
    """ENV's layers merged in order, with the provenance of every node."""
    environment = project.env(env)
    data: dict[str, Any] = {}
    prov = _Prov(Provenance(Location(environment.layers[0])), {})
    for path in environment.layers:
        layer = load_layer(source, path, sealed=sealed)
        layer_prov = _annotate(layer.data, layer, ())
        merged, prov = _merge(data, prov, layer.data, layer_prov, (), project.merge, layer)
        data = merged
    flat: dict[Path, Provenance] = {}
    _flatten(prov, (), flat)
    return Values(env, data, flat, environment.layers)


def _location(layer: Layer, path: Path) -> Location:
    pos = layer.positions.get(path)
    return Location(layer.path, pos[0], pos[1]) if pos else Location(layer.path)


def _annotate(value: Any, layer: Layer, path: Path) -> _Prov:
    here = Provenance(_location(layer, path))
    if isinstance(value, dict):
        return _Prov(here, {k: _annotate(v, layer, (*path, k)) for k, v in value.items()})
    if isinstance(value, list):
        return _Prov(here, [_annotate(v, layer, (*path, i)) for i, v in enumerate(value)])
    return _Prov(here)


def _is_delete(value: Any) -> bool:
    return isinstance(value, yaml_io.Tagged) and value.tag == DELETE_TAG


def _check_tags(value: Any, layer: Layer, path: Path) -> None:
    if isinstance(value, yaml_io.Tagged):
        raise LayerError(
            f'unknown tag {value.tag!r}' if value.tag != DELETE_TAG
            else f'{DELETE_TAG} is only allowed on a key that a layer below sets',
            location=_location(layer, path), hint=f'the only tag layers may use is {DELETE_TAG}',
        )


def _replaced(old: _Prov | None, new: _Prov) -> _Prov:
    if old is None:
        return new
    overridden = (old.here.location, *old.here.overridden)
    return _Prov(Provenance(new.here.location, overridden), new.kids)


def _strip(value: Any, layer: Layer, path: Path) -> Any:
    """VALUE from a layer with nothing left to merge: refuse stray tags."""
    if isinstance(value, dict):
        return {k: _strip(v, layer, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v, layer, (*path, i)) for i, v in enumerate(value)]
    _check_tags(value, layer, path)
    return value


def _merge_key(rules: Sequence[tuple[str, str]], path: Path) -> str | None:
    for pattern, key in rules:
        if keypath.match_glob(pattern, path):
            return key
    return None


def _merge(base: Any, base_prov: _Prov | None, over: Any, over_prov: _Prov, path: Path,
           rules: Sequence[tuple[str, str]], layer: Layer) -> tuple[Any, _Prov]:
    if isinstance(base, dict) and isinstance(over, dict):
        assert base_prov is not None and isinstance(base_prov.kids, dict)
        result = dict(base)
        kids = dict(base_prov.kids)
        for key, value in over.items():
            child_path = (*path, key)
            assert isinstance(over_prov.kids, dict)
            if _is_delete(value):
                if key not in result:
                    _check_tags(value, layer, child_path)
                del result[key]
                del kids[key]
                continue
            merged, child_prov = _merge(result.get(key), kids.get(key), value,
                                        over_prov.kids[key], child_path, rules, layer)
            result[key] = merged
            kids[key] = child_prov
        return result, _Prov(base_prov.here, kids)
    if isinstance(base, list) and isinstance(over, list):
        key_field = _merge_key(rules, path)
        if key_field is not None:
            assert base_prov is not None
            return _merge_keyed(base, base_prov, over, over_prov, path, key_field, rules, layer)
    return _strip(over, layer, path), _replaced(base_prov, over_prov)


def _item_key(item: Any, key_field: str) -> Any:
    """The identity of a list item: KEY_FIELD may be a KEYPATH such as model_info.id."""
    if isinstance(item, yaml_io.Tagged) and isinstance(item.value, dict):
        item = item.value
    for step in key_field.split('.'):
        if not isinstance(item, dict):
            return None
        item = item.get(step)
    return item


def _merge_keyed(base: list[Any], base_prov: _Prov, over: list[Any], over_prov: _Prov,
                 path: Path, key_field: str, rules: Sequence[tuple[str, str]], layer: Layer,
                 ) -> tuple[Any, _Prov]:
    assert isinstance(base_prov.kids, list) and isinstance(over_prov.kids, list)
    result = list(base)
    kids = list(base_prov.kids)
    for i, item in enumerate(over):
        item_path = (*path, i)
        ident = _item_key(item, key_field)
        if ident is None:
            raise LayerError(
                f'{keypath.format(path)} merges by {key_field!r}, but this item has none',
                location=_location(layer, item_path),
                hint=f'give the item a {key_field}: field',
            )
        match = next((j for j, old in enumerate(result) if _item_key(old, key_field) == ident),
                     None)
        if _is_delete(item):
            if match is None:
                raise LayerError(f'no item with {key_field}={ident} to delete',
                                 location=_location(layer, item_path))
            del result[match]
            del kids[match]
        elif match is None:
            result.append(_strip(item, layer, item_path))
            kids.append(over_prov.kids[i])
        else:
            merged, prov = _merge(result[match], kids[match], item, over_prov.kids[i],
                                  (*path, match), rules, layer)
            result[match] = merged
            kids[match] = prov
    return result, _Prov(base_prov.here, kids)


def _flatten(prov: _Prov, path: Path, out: dict[Path, Provenance]) -> None:
    out[path] = prov.here
    if isinstance(prov.kids, dict):
        for key, kid in prov.kids.items():
            _flatten(kid, (*path, key), out)
    elif isinstance(prov.kids, list):
        for i, kid in enumerate(prov.kids):
            _flatten(kid, (*path, i), out)
