"""Where a merged value came from: `gitops-config explain ENV KEYPATH`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_config import keypath
from gitops_config.model import Location
from gitops_config.values import Values


@dataclass(frozen=True, slots=True)
class Explanation:
    path: str
    value: Any
    location: Location
    overridden: tuple[Location, ...]
    # (path, location) of every leaf below a mapping or list, for containers
    leaves: tuple[tuple[str, Location], ...]


def explain(values: Values, text: str) -> Explanation:
    path = keypath.resolve(values.data, keypath.parse(text), where=f'{values.env}: ')
    value = keypath.get(values.data, path)
    prov = values.provenance[path]
    leaves = (
        tuple(
            (keypath.format(p), values.provenance[p].location)
            for p in sorted(values.provenance, key=_order)
            if len(p) > len(path)
            and p[: len(path)] == path
            and not isinstance(keypath.get(values.data, p), (dict, list))
        )
        if isinstance(value, (dict, list))
        else ()
    )
    return Explanation(keypath.format(path), value, prov.location, prov.overridden, leaves)


def _order(path: tuple[str | int, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((0, f'{s:09d}') if isinstance(s, int) else (1, s) for s in path)
