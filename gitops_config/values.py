"""Layered values: merged in order, every leaf remembering where it was set.

Mappings deep-merge; scalars and lists are replaced; a list declared in the
project's `merge:` section merges item by item, matched by its key field; a
value tagged `!delete` removes the key (or, inside a keyed list, the item).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import keypath
from gitops_config import sops
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.project import Project
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.redact import walk_secrets
from gitops_config.sops.errors import NoKeyError
from gitops_config.source import Source

if TYPE_CHECKING:
    from gitops_config.sops.keys.ring import KeyRing

DELETE_TAG = '!delete'


class LayerError(GitopsConfigError):
    code = 'invalid-layer'


@dataclass(frozen=True, slots=True)
class Provenance:
    location: Location
    overridden: tuple[Location, ...] = ()


@dataclass(frozen=True)
class Layer:
    path: str
    data: dict[str, Any]
    text: bytes = field(repr=False)
    encrypted: bool = False  # a SOPS file: its data holds Secret or SealedSecret leaves

    @functools.cached_property
    def positions(self) -> dict[NodePath, tuple[int, int]]:
        """(line, column) of every node: parsed again on first use, since only
        provenance needs them and they cost a third of the parse."""
        located = yaml_io.load_all_located(self.text, self.path)
        return located[0][1] if located else {}


@dataclass(frozen=True)
class Values:
    env: str
    data: dict[str, Any]
    layers: tuple[str, ...] = ()
    loaded: tuple[Layer, ...] = field(default=(), repr=False)
    merge_rules: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @functools.cached_property
    def provenance(self) -> dict[NodePath, Provenance]:
        """Where every node was set, and what it overrode.

        Computed on first use by replaying the merge with positions: only
        `explain` and error reports need it, and it costs more than the merge.
        """
        data: Any = {}
        prov = _Prov(Provenance(Location(self.layers[0] if self.layers else '')), {})
        for layer in self.loaded:
            data, merged = _merge(
                data,
                prov,
                layer.data,
                _annotate(layer.data, layer, ()),
                (),
                self.merge_rules,
                layer,
            )
            assert merged is not None  # both sides were tracked
            prov = merged
        flat: dict[NodePath, Provenance] = {}
        _flatten(prov, (), flat)
        return flat

    @property
    def has_secrets(self) -> bool:
        """Whether any secret can be in the data: only encrypted layers bring them
        (values made without layers may hold anything)."""
        return any(layer.encrypted for layer in self.loaded) if self.loaded else True

    def secrets(self) -> list[Secret | SealedSecret]:
        if not self.has_secrets:
            return []
        return [secret for _, secret in walk_secrets(self.data)]


@dataclass
class _Prov:
    """Provenance of one node, with its children's (a tree shaped like the value)."""

    here: Provenance
    kids: dict[str, _Prov] | list[_Prov] | None = None


# Reads a layer file (or knows it already): load_layer, or the incremental layer's.
LoadLayer = Callable[[Source, str], Layer]


def load_layer(
    source: Source, path: str, *, sealed: bool = False, keys: KeyRing | None = None
) -> Layer:
    """The layer at PATH, parsed (and decrypted with KEYS, for a SOPS file; SEALED: its
    secrets stay sealed where no key opens it)."""
    return parse_layer(source.read(path), path, sealed=sealed, keys=keys)


def parse_layer(
    text: bytes, path: str, *, sealed: bool = False, keys: KeyRing | None = None
) -> Layer:
    """TEXT, the layer at PATH, parsed (and decrypted, for a SOPS file)."""
    docs = yaml_io.load_all(text, path)
    if len(docs) > 1:
        raise LayerError(
            f'{path}: a layer must hold one YAML document, found {len(docs)}',
            location=Location(path),
        )
    data = docs[0] if docs else None
    if data is None:
        return Layer(path, {}, text)
    if not isinstance(data, dict):
        raise LayerError(
            f'a layer must be a mapping at the top level, not {type(data).__name__}',
            location=Location(path, 1, 1),
            hint='write `key: value` pairs at the top level',
        )
    if isinstance(data.get('sops'), dict) and 'mac' in data['sops']:
        opened = sops.open_values(text, path, sealed=sealed, ring=keys)
        assert isinstance(opened, dict)
        return Layer(path, opened, text, encrypted=True)
    return Layer(path, data, text)


# What a command can do when no key opens a secret: most can go on sealed.
NO_KEY_HINT = 'use --sealed to go on with placeholders for the secrets'


def merge(
    source: Source,
    project: Project,
    env: str,
    *,
    sealed: bool = False,
    keys: KeyRing | None = None,
    load: LoadLayer | None = None,
    no_key_hint: str = NO_KEY_HINT,
) -> Values:
    """ENV's layers merged in order; provenance is worked out when first asked for.
    LOAD reads each layer (default: load_layer, with KEYS). Without a key for a secret
    (and not SEALED), the error's hint ends in NO_KEY_HINT."""
    loaded = load_layers(
        source,
        project,
        env,
        load or functools.partial(load_layer, sealed=sealed, keys=keys),
        no_key_hint,
    )
    return merge_loaded(env, project, loaded)


def load_layers(
    source: Source, project: Project, env: str, load: LoadLayer, no_key_hint: str = NO_KEY_HINT
) -> tuple[Layer, ...]:
    """ENV's layers, each read by LOAD; a missing key named with the way around it."""
    try:
        return tuple(load(source, path) for path in project.env(env).layers)
    except NoKeyError as exc:
        raise type(exc)(
            f'{env}: {exc.message}',
            location=exc.location,
            hint=f'{exc.hint}; or {no_key_hint}' if exc.hint else no_key_hint,
        ) from None


def merge_loaded(env: str, project: Project, loaded: Sequence[Layer]) -> Values:
    """LOADED, ENV's layers, merged by PROJECT's rules."""
    data = merge_layers(loaded, project.merge)
    return Values(env, data, project.env(env).layers, tuple(loaded), project.merge)


def merge_layers(layers: Sequence[Layer], rules: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """LAYERS merged in order, without provenance."""
    data: dict[str, Any] = {}
    for layer in layers:
        data, _ = _merge(data, None, layer.data, None, (), rules, layer)
    return data


def _location(layer: Layer, path: NodePath) -> Location:
    pos = layer.positions.get(path)
    return Location(layer.path, pos[0], pos[1]) if pos else Location(layer.path)


def _annotate(value: Any, layer: Layer, path: NodePath) -> _Prov:
    here = Provenance(_location(layer, path))
    if isinstance(value, dict):
        return _Prov(here, {k: _annotate(v, layer, (*path, k)) for k, v in value.items()})
    if isinstance(value, list):
        return _Prov(here, [_annotate(v, layer, (*path, i)) for i, v in enumerate(value)])
    return _Prov(here)


def is_delete(value: Any) -> bool:
    """Whether VALUE is a `!delete` marker (of a key, or of a keyed list's item)."""
    return isinstance(value, yaml_io.Tagged) and value.tag == DELETE_TAG


def _check_tags(value: Any, layer: Layer, path: NodePath) -> None:
    if isinstance(value, yaml_io.Tagged):
        raise LayerError(
            f'unknown tag {value.tag!r}'
            if value.tag != DELETE_TAG
            else f'{DELETE_TAG} is only allowed on a key that a layer below sets',
            location=_location(layer, path),
            hint=f'the only tag layers may use is {DELETE_TAG}',
        )


def _replaced(old: _Prov | None, new: _Prov | None) -> _Prov | None:
    if old is None or new is None:
        return new
    overridden = (old.here.location, *old.here.overridden)
    return _Prov(Provenance(new.here.location, overridden), new.kids)


def _strip(value: Any, layer: Layer, path: NodePath) -> Any:
    """VALUE from a layer with nothing left to merge: refuse stray tags.

    Returned as it is, not copied: merging never changes its inputs, and merged
    values are read-only, so they may share subtrees with the cached layers.
    """
    if b'!' not in layer.text:
        return value  # no tag can hide in a file without a `!`
    if isinstance(value, dict):
        for k, v in value.items():
            _strip(v, layer, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _strip(v, layer, (*path, i))
    else:
        _check_tags(value, layer, path)
    return value


def merge_key(rules: Sequence[tuple[str, str]], path: NodePath) -> str | None:
    """The identifying field of the list at merged PATH, when `merge:` names one."""
    for pattern, key in rules:
        if keypath.match_glob(pattern, path):
            return key
    return None


def _kid(prov: _Prov | None, step: str | int) -> _Prov | None:
    if prov is None or prov.kids is None:
        return None
    if isinstance(prov.kids, dict):
        assert isinstance(step, str)
        return prov.kids.get(step)
    assert isinstance(step, int)
    return prov.kids[step]


def _merge(
    base: Any,
    base_prov: _Prov | None,
    over: Any,
    over_prov: _Prov | None,
    path: NodePath,
    rules: Sequence[tuple[str, str]],
    layer: Layer,
) -> tuple[Any, _Prov | None]:
    """OVER merged onto BASE. Provenance is tracked alongside when both provs are
    given, and skipped (the fast path) when they are None."""
    tracked = base_prov is not None and over_prov is not None
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        kids: dict[str, _Prov] = {}
        if tracked and base_prov is not None and isinstance(base_prov.kids, dict):
            kids = dict(base_prov.kids)
        for key, value in over.items():
            child_path = (*path, key)
            if is_delete(value):
                if key not in result:
                    _check_tags(value, layer, child_path)
                del result[key]
                kids.pop(key, None)
                continue
            merged, child_prov = _merge(
                result.get(key),
                kids.get(key),
                value,
                _kid(over_prov, key),
                child_path,
                rules,
                layer,
            )
            result[key] = merged
            if child_prov is not None:
                kids[key] = child_prov
        return result, (_Prov(base_prov.here, kids) if base_prov is not None and tracked else None)
    if isinstance(base, list) and isinstance(over, list):
        key_field = merge_key(rules, path)
        if key_field is not None:
            return _merge_keyed(
                base,
                base_prov if tracked else None,
                over,
                over_prov if tracked else None,
                path,
                key_field,
                rules,
                layer,
            )
    return _strip(over, layer, path), _replaced(base_prov, over_prov)


def item_key(item: Any, key_field: str) -> Any:
    """The identity of a list item: KEY_FIELD may be a KEYPATH such as model_info.id."""
    if isinstance(item, yaml_io.Tagged) and isinstance(item.value, dict):
        item = item.value
    return keypath.field_of(item, key_field)


def _merge_keyed(
    base: list[Any],
    base_prov: _Prov | None,
    over: list[Any],
    over_prov: _Prov | None,
    path: NodePath,
    key_field: str,
    rules: Sequence[tuple[str, str]],
    layer: Layer,
) -> tuple[Any, _Prov | None]:
    result = list(base)
    kids: list[_Prov | None] = (
        list(base_prov.kids)
        if base_prov is not None and isinstance(base_prov.kids, list)
        else [None] * len(base)
    )
    for i, item in enumerate(over):
        item_path = (*path, i)
        ident = item_key(item, key_field)
        if ident is None:
            raise LayerError(
                f'{keypath.format(path)} merges by {key_field!r}, but this item has none',
                location=_location(layer, item_path),
                hint=f'give the item a {key_field}: field',
            )
        match = next((j for j, old in enumerate(result) if item_key(old, key_field) == ident), None)
        if is_delete(item):
            if match is None:
                raise LayerError(
                    f'no item with {key_field}={ident} to delete',
                    location=_location(layer, item_path),
                )
            del result[match]
            del kids[match]
        elif match is None:
            result.append(_strip(item, layer, item_path))
            kids.append(_kid(over_prov, i))
        else:
            merged, prov = _merge(
                result[match], kids[match], item, _kid(over_prov, i), (*path, match), rules, layer
            )
            result[match] = merged
            kids[match] = prov
    if base_prov is None:
        return result, None
    return result, _Prov(base_prov.here, [k for k in kids if k is not None])


def _flatten(prov: _Prov, path: NodePath, out: dict[NodePath, Provenance]) -> None:
    out[path] = prov.here
    if isinstance(prov.kids, dict):
        for key, kid in prov.kids.items():
            _flatten(kid, (*path, key), out)
    elif isinstance(prov.kids, list):
        for i, kid in enumerate(prov.kids):
            _flatten(kid, (*path, i), out)
