"""Kubernetes objects as the API server returns them, against the manifests we render.

`kubectl get -o yaml` prints more than was applied: defaults (strategy,
dnsPolicy, terminationMessagePath...), status, bookkeeping metadata, a
Secret's stringData folded into base64 `data`, resource quantities in
canonical form. None of that is drift. Like Argo CD's diff, only what the
desired manifest sets is compared; the rest is ignored by the built-in rules
here, each with its reason, so a project rule (`compare: true`) can take any
of them back.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from gitops_config import keypath
from gitops_config.model import Change
from gitops_config.model import ChangeKind

LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'
# Written by the API server, never by a manifest: ignored on both sides.
SERVER_FIELDS: tuple[tuple[str, ...], ...] = (
    ('status',),
    ('metadata', 'managedFields'),
    ('metadata', 'resourceVersion'),
    ('metadata', 'uid'),
    ('metadata', 'generation'),
    ('metadata', 'creationTimestamp'),
    ('metadata', 'selfLink'),
    ('metadata', 'annotations', LAST_APPLIED),
)
# Keys whose every entry is the user's data: the server adds none of them.
DATA_KEYS = {'ConfigMap': ('data', 'binaryData'), 'Secret': ('data', 'stringData')}
# Go's zero values: a field set to one of them is omitted by the API server.
_ZERO: tuple[Any, ...] = (None, '', {}, [], False, 0)

SERVER_SET = 'set by the API server'
NOT_SET = "not set in the desired manifest (a default or another controller's field)"
OMITTED = 'empty in the desired manifest; the API server omits empty fields'


@dataclass(frozen=True, slots=True)
class ObjectId:
    api_version: str
    kind: str
    name: str
    namespace: str | None

    def __str__(self) -> str:
        ns = f'{self.namespace}/' if self.namespace else ''
        return f'{self.kind}/{ns}{self.name}'


def object_id(doc: Any) -> ObjectId | None:
    """DOC's identity when it is a Kubernetes object (apiVersion, kind, metadata.name)."""
    if not isinstance(doc, dict):
        return None
    meta = doc.get('metadata')
    api, kind = doc.get('apiVersion'), doc.get('kind')
    if not (
        isinstance(api, str)
        and isinstance(kind, str)
        and isinstance(meta, dict)
        and isinstance(meta.get('name'), str)
    ):
        return None
    ns = meta.get('namespace')
    return ObjectId(api, kind, meta['name'], ns if isinstance(ns, str) else None)


def matches(desired: ObjectId, live: ObjectId) -> bool:
    """Same object: a manifest without a namespace is applied to one (`-n`), so any
    live namespace matches it."""
    return (desired.api_version, desired.kind, desired.name) == (
        live.api_version,
        live.kind,
        live.name,
    ) and desired.namespace in (None, live.namespace)


def unpack(docs: list[Any]) -> list[Any]:
    """Documents with every `kind: List` (or ConfigMapList...) replaced by its items."""
    out: list[Any] = []
    for doc in docs:
        if (
            isinstance(doc, dict)
            and isinstance(doc.get('kind'), str)
            and doc['kind'].endswith('List')
            and isinstance(doc.get('items'), list)
        ):
            out += unpack(doc['items'])
        else:
            out.append(doc)
    return out


def normalize(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """LIVE re-encoded the way DESIRED is written, where the API server only changed
    the encoding: a Secret's base64 `data` back to the `stringData` the manifest
    uses, resource quantities (`0.5` and `500m`) to the manifest's spelling."""
    out = dict(live)
    if live.get('kind') == 'Secret':
        out = _string_data(desired, out)
    normalized: dict[str, Any] = _quantities(desired, out, ())
    return normalized


def _string_data(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    wanted = desired.get('stringData')
    data = live.get('data')
    if not isinstance(wanted, dict) or not isinstance(data, dict):
        return live
    raw = desired.get('data')
    kept_raw = raw if isinstance(raw, dict) else {}
    moved = dict(live.get('stringData') or {})
    rest = {}
    for key, value in data.items():
        text = _decoded(value) if key not in kept_raw else None
        if text is None:
            rest[key] = value
        else:
            moved.setdefault(key, text)
    out = {k: v for k, v in live.items() if k != 'data'}
    if rest:
        out['data'] = rest
    out['stringData'] = moved
    return out


def _decoded(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        return None


_QUANTITY = re.compile(
    r'^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|'
    r'[numkMGTPE]))?$'
)
_SUFFIX = {
    'n': Decimal('1e-9'),
    'u': Decimal('1e-6'),
    'm': Decimal('1e-3'),
    '': Decimal(1),
    'k': Decimal('1e3'),
    'M': Decimal('1e6'),
    'G': Decimal('1e9'),
    'T': Decimal('1e12'),
    'P': Decimal('1e15'),
    'E': Decimal('1e18'),
    'Ki': Decimal(2**10),
    'Mi': Decimal(2**20),
    'Gi': Decimal(2**30),
    'Ti': Decimal(2**40),
    'Pi': Decimal(2**50),
    'Ei': Decimal(2**60),
}


def quantity(value: Any) -> Decimal | None:
    """A resource quantity's amount (`500m` -> 0.5, `1Gi` -> 1073741824), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    try:
        amount = Decimal(number)
        if exponent:
            return amount.scaleb(int(exponent[1:]))
    except (InvalidOperation, ValueError):
        return None
    return amount * _SUFFIX[suffix or '']


def _quantities(desired: Any, live: Any, path: tuple[str, ...]) -> Any:
    if isinstance(desired, list) and isinstance(live, list):
        return [_quantities(d, v, path) for d, v in zip(desired, live, strict=False)] + live[
            len(desired) :
        ]
    if not isinstance(desired, dict) or not isinstance(live, dict):
        return live
    if path[-2:-1] == ('resources',) and path[-1:] in (('limits',), ('requests',)):
        return {
            k: desired[k]
            if k in desired and quantity(v) is not None and quantity(v) == quantity(desired[k])
            else v
            for k, v in live.items()
        }
    return {
        k: _quantities(desired[k], v, (*path, k)) if k in desired else v for k, v in live.items()
    }


def server_rule(change: Change, kind: str | None) -> str | None:
    """Why CHANGE (between a desired object of KIND and its live state) is not drift,
    or None when it is."""
    steps = _steps(change.path)
    if any(steps[: len(f)] == f for f in SERVER_FIELDS):
        return SERVER_SET
    if not steps or steps[0] in DATA_KEYS.get(kind or '', ()):
        return None
    if change.kind is ChangeKind.ADDED and isinstance(steps[-1], str):
        return NOT_SET
    if change.kind is ChangeKind.REMOVED and _is_zero(change.old):
        return OMITTED
    return None


def _steps(path: str) -> tuple[Any, ...]:
    try:
        return keypath.parse(path) if path else ()
    except keypath.KeyPathError:
        return (path,)


def _is_zero(value: Any) -> bool:
    return any(type(value) is type(z) and value == z for z in _ZERO)
