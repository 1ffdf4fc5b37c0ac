"""Value layers checked as written, once each whichever environments use them.

A layer is checked raw: before merging, with its sops metadata and what it
`!delete`s left out, an encrypted one decrypted where a key is at hand and
sealed where not.
"""

from __future__ import annotations

from typing import Any

from gitops_config import sops
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.incremental.verdicts import LAYERS
from gitops_config.locate import Doc
from gitops_config.pipeline.checker import Checker
from gitops_config.pipeline.checker import head_text
from gitops_config.pipeline.checker import pick
from gitops_config.pipeline.checker import schema_map
from gitops_config.policy.runner import Target
from gitops_config.redact import SealedSecret
from gitops_config.schema import declared_schema
from gitops_config.values import DELETE_TAG


def check_layer(checker: Checker, path: str, targets: list[Target]) -> None:
    """Layer PATH against its schema and for plaintext secrets; its documents join
    TARGETS for the policies."""
    source = checker.source
    checker.checked.append(path)
    blob = source.blob_id(path)
    if checker.verdicts.known(LAYERS, path, blob):
        return
    text = source.read(path)
    raw_documents = _parsed(checker, path, text)
    encrypted = sops.is_encrypted(text)
    documents = [
        _without_sops(d, deletes=DELETE_TAG.encode() in text)
        for d in (_opened(checker, path, raw_documents) if encrypted else raw_documents)
    ]
    doc = Doc(path, documents, lambda: [p for _, p in yaml_io.load_all_located(text, path)])
    checker.docs[(None, path)] = doc
    declared = declared_schema(documents[0] if documents else None, head_text(text), path)
    if declared is None and not encrypted:
        # a schema the file names itself is not part of the verdict; an encrypted
        # layer's depends on the keys at hand
        checker.verdicts.offer(LAYERS, path, blob, structured=True)
    checker.validate(
        pick(schema_map(checker.project, 'values'), path, declared),
        doc,
        path,
        None,
        secrets=encrypted,
    )
    checker.scan_text(path, text, comments=True)
    for index, raw in enumerate(raw_documents):
        targets.append(Target('layer', path, path, raw, None, None, index))


def _parsed(checker: Checker, path: str, text: bytes) -> list[Any]:
    """The layer's documents as written. A plaintext layer is the one the merge parsed
    (the run's: a large one takes a second to parse); anything else is parsed here."""
    if not sops.is_encrypted(text):
        try:
            layer = checker.reuse.layer(checker.source, path)
        except GitopsConfigError:
            layer = None  # the parse below reports what is wrong, where
        if layer is not None and layer.data:
            return [layer.data]
    return yaml_io.load_all(text, path)


def _opened(checker: Checker, path: str, raw: list[Any]) -> list[Any]:
    """An encrypted layer as its schema should see it: decrypted where a key of the
    run's is at hand (Secret leaves), sealed where not; its encrypted leaves sealed if
    it cannot be opened at all (what is wrong with it is reported where it is merged)."""
    try:
        return [checker.reuse.layer(checker.source, path, sealed=True, keys=checker.keys).data]
    except GitopsConfigError:
        return [_sealed_leaves(d) for d in raw]


def _sealed_leaves(node: Any) -> Any:
    if isinstance(node, str) and node.startswith('ENC['):
        return SealedSecret(node)
    if isinstance(node, dict):
        return {k: _sealed_leaves(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_sealed_leaves(v) for v in node]
    return node


def _without_sops(doc: Any, *, deletes: bool = True) -> Any:
    """DOC without its sops metadata, and (DELETES: it may hold some) what it `!delete`s."""
    if isinstance(doc, dict) and isinstance(doc.get('sops'), dict):
        doc = {k: v for k, v in doc.items() if k != 'sops'}
    return _without_deletes(doc) if deletes else doc


def _without_deletes(node: Any) -> Any:
    """A layer as its schema should see it: what it `!delete`s is simply not there."""
    if isinstance(node, dict):
        return {k: _without_deletes(v) for k, v in node.items() if not _is_delete(v)}
    if isinstance(node, list):
        return [_without_deletes(v) for v in node if not _is_delete(v)]
    return node


def _is_delete(value: Any) -> bool:
    return isinstance(value, yaml_io.Tagged) and value.tag == DELETE_TAG
