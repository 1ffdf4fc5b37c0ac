"""Deterministic YAML and JSON output that every reader reads the same way."""

from __future__ import annotations

import dataclasses
import functools
import json
import marshal
import math
import re
from collections.abc import Callable
from typing import Any
from typing import cast

import yaml

from gitops_config.yaml_io.fast import Tagged
from gitops_config.yaml_io.fast import resolve_plain
from gitops_config.yaml_io.libyaml import CSafeDumper

_STR = 'tag:yaml.org,2002:str'
# PyYAML's own YAML 1.1 rules, as LiteLLM and other PyYAML users read our output.
_resolve_yaml11 = cast(
    Callable[[type, str, tuple[bool, bool]], str], yaml.resolver.Resolver().resolve
)


class _Quoting:
    """Quotes a string whenever a YAML 1.1 reader (PyYAML, LiteLLM) or a YAML 1.2
    reader (go-yaml v3, sops) would read the plain scalar as something else."""

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0] and value is not None:
            go_tag = resolve_plain(value)[0]
            old_tag = _resolve_yaml11(yaml.ScalarNode, value, (True, False))
            if go_tag != _STR or old_tag != _STR:
                return go_tag if go_tag != _STR else old_tag
            return _STR
        return cast(str, super().resolve(kind, value, implicit))  # type: ignore[misc]  # PyYAML's resolver is untyped


class _Dumper(_Quoting, CSafeDumper):
    pass


class _IndentedDumper(_Quoting, yaml.SafeDumper):
    """Block sequences indented under their key, as most hand-written files have them
    (`  - a` below `key:`); libyaml's emitter only writes them flush (`- a`)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.representer.SafeRepresenter, data: str) -> yaml.ScalarNode:
    style = '|' if '\n' in data and not data.startswith((' ', '\t')) else None
    return dumper.represent_scalar(_STR, data, style=style)


def _represent_float(dumper: yaml.representer.SafeRepresenter, data: float) -> yaml.ScalarNode:
    if math.isnan(data):
        text = '.nan'
    elif math.isinf(data):
        text = '.inf' if data > 0 else '-.inf'
    else:
        text = repr(data)
    return dumper.represent_scalar('tag:yaml.org,2002:float', text)


def _represent_tagged(dumper: yaml.representer.SafeRepresenter, data: Tagged) -> yaml.Node:
    """`!delete` and friends: `key: !delete`, `- !delete {name: x}`."""
    if isinstance(data.value, dict):
        return dumper.represent_mapping(data.tag, data.value, flow_style=True)
    if isinstance(data.value, list):
        return dumper.represent_sequence(data.tag, data.value, flow_style=True)
    text = '' if data.value is None else str(data.value)
    return dumper.represent_scalar(data.tag, text, style='' if not text else None)


for _dumper in (_Dumper, _IndentedDumper):
    _dumper.add_representer(str, _represent_str)
    _dumper.add_representer(float, _represent_float)
    _dumper.add_representer(Tagged, _represent_tagged)


_EMPTY_TAGGED = re.compile(r"( ![A-Za-z][\w-]*) ''$", re.M)


def to_yaml(
    data: Any, *, sort_keys: bool = False, indent: int = 2, indent_sequences: bool = False
) -> str:
    """Block-style YAML; key order kept unless `sort_keys`; sequences in a mapping
    flush with their key unless `indent_sequences`."""
    try:
        memo = marshal.dumps((data, sort_keys, indent, indent_sequences), 2)
    except ValueError:  # something marshal does not know: a date, a Tagged value
        return _dump(data, sort_keys, indent, indent_sequences)
    if len(memo) < 4096:  # the small blocks templates repeat
        return _dumped(_Block(memo, data, sort_keys, indent, indent_sequences))
    return _dump(data, sort_keys, indent, indent_sequences)


@dataclasses.dataclass(frozen=True)
class _Block:
    """What to dump, known by MEMO: the marshalled data and options, all the YAML
    depends on (marshal tells 1, 1.0 and True apart, and keeps key order)."""

    memo: bytes
    data: Any = dataclasses.field(compare=False)
    sort_keys: bool = dataclasses.field(compare=False)
    indent: int = dataclasses.field(compare=False)
    indent_sequences: bool = dataclasses.field(compare=False)


@functools.lru_cache(maxsize=4096)
def _dumped(block: _Block) -> str:
    """Templates dump the same small blocks (resources, probes) again and again."""
    return _dump(block.data, block.sort_keys, block.indent, block.indent_sequences)


def _dump(data: Any, sort_keys: bool, indent: int, indent_sequences: bool) -> str:
    text = str(
        yaml.dump(
            data,
            Dumper=_IndentedDumper if indent_sequences else _Dumper,
            sort_keys=sort_keys,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 30,
            indent=indent,
        )
    )
    if indent_sequences:
        # PyYAML's own emitter quotes the empty value of a tag: `key: !delete ''`
        text = _EMPTY_TAGGED.sub(r'\1', text)
    return text


def to_json(data: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    return json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False, default=str)


def to_flow(data: Any) -> str:
    """One-line flow YAML, as in `{a: 1, b: [x, y]}`."""
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        default_flow_style=True,
        allow_unicode=True,
        width=1 << 30,
        sort_keys=False,
    )
    return str(text).strip().removesuffix('...').strip()
