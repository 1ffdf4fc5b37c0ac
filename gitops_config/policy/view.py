"""The data a CEL expression sees: plain JSON types, secrets as a marker.

CEL gets `'<secret>'` where a document or the values hold a decrypted or
sealed secret, so no expression (and no error message) can ever reach the
plaintext.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitops_config import yaml_io
from gitops_config.policy.secrets import MARKER
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret

_INT64 = 2**63


def cel_view(node: Any) -> Any:
    kind = type(node)  # the common kinds first, by exact type: documents have many nodes
    if kind is dict:
        return {k if type(k) is str else str(k): cel_view(v) for k, v in node.items()}
    if kind is str or kind is bool or kind is float or node is None:
        return node
    if kind is list:
        return [cel_view(v) for v in node]
    return _other(node)


def _other(node: Any) -> Any:
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        # CEL ints are int64; a larger YAML integer is compared as a double.
        return int(node) if -_INT64 <= node < _INT64 else float(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, Mapping):
        return {str(k): cel_view(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [cel_view(v) for v in node]
    if isinstance(node, (Secret, SealedSecret)):
        return MARKER
    if isinstance(node, yaml_io.Tagged):
        return cel_view(node.value)
    return str(node)
