"""Rendered files checked per environment: schemas, plaintext secrets, and the
documents the policies will see.

A file whose content was found clean before (its verdict) is not parsed
again; a document's document-rule results are kept by its content, unless it
holds a secret or a rule reads values that hold one.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
from typing import Any

from gitops_config import sops
from gitops_config.incremental.data import token
from gitops_config.incremental.store import key as store_key
from gitops_config.locate import Doc
from gitops_config.locate import Origins
from gitops_config.locate import Positions
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.pipeline.checker import SECRETS_RULE
from gitops_config.pipeline.checker import Checker
from gitops_config.pipeline.checker import head_text
from gitops_config.pipeline.checker import pick
from gitops_config.pipeline.checker import schema_map
from gitops_config.pipeline.rendering import EnvRender
from gitops_config.policy.runner import Hit
from gitops_config.policy.runner import Target
from gitops_config.policy.view import cel_view
from gitops_config.render import RenderedFile
from gitops_config.schema import declared_schema


def check_rendered(checker: Checker, render: EnvRender, targets: list[Target]) -> None:
    """The files of RENDER; their documents join TARGETS for the policies, unless their
    results are kept."""
    out = checker.project.output_dir(render.env)
    origins = Origins(render.values, checker.source)
    values_view: Any = None  # converted for CEL only if some document rule reads it
    clean = checker.verdicts.clean(render.env)
    for file in render.files:
        path = posixpath.join(out, file.path)
        if file.has_secrets:
            _committed_in_plaintext(checker, path, render.env)
        known = clean.get(path)
        if known is not None and (file.has_secrets or known[0] != file.digest):
            known = None
        if known is not None:
            if known[1]:
                checker.checked.append(path)
                if checker.env_rules:  # which may point here
                    _doc(checker, render.env, path, file, origins, lambda f=file: f.documents)
            continue
        if file.documents is None:
            if not file.has_secrets:
                checker.scan_text(path, file.content, comments=False, env=render.env)
                checker.verdicts.offer(render.env, path, file.digest, structured=False)
            continue
        doc = _doc(checker, render.env, path, file, origins, file.documents)
        checker.checked.append(path)
        declared = declared_schema(
            file.documents[0] if file.documents else None, head_text(file.content), file.template
        )
        if declared is None and not file.has_secrets:
            checker.verdicts.offer(render.env, path, file.digest, structured=True)
        checker.validate(
            pick(schema_map(checker.project, 'rendered'), file.path, declared),
            doc,
            file.path,
            render.env,
            secrets=file.has_secrets,
        )
        if not file.has_secrets:  # a decrypted secret's text is not plaintext in a file
            checker.scan_text(path, file.content, comments=True, env=render.env)
        for index, data in enumerate(file.documents):
            key = _policy_key(checker, render, file, path, index)
            if key is not None:
                hits = _kept(checker, key)
                if hits is not None:
                    checker.cached_hits += hits
                    continue
                checker.pending[(render.env, path, index)] = key
            if values_view is None and checker.reads_values:
                values_view = cel_view(render.values.data)
            targets.append(
                Target('rendered', path, file.path, data, render.env, values_view, index)
            )


def keep(checker: Checker, key: str, hits: list[Hit]) -> None:
    """HITS, one document's document-rule results, kept under KEY."""
    rows = [
        [
            checker.doc_rules.index(h.rule),
            h.message,
            h.env,
            h.file,
            h.name,
            h.index,
            h.path,
            h.error,
        ]
        for h in hits
    ]
    checker.reuse.remember('policy', key, rows)


def _committed_in_plaintext(checker: Checker, path: str, env: str) -> None:
    """A file that holds secrets must not be committed decrypted (`render --decrypt`)."""
    source = checker.source
    if source.exists(path) and not sops.is_encrypted(source.read(path)):
        checker.findings.append(
            Finding(
                SECRETS_RULE,
                Severity.ERROR,
                'holds secrets, but the committed file is not encrypted',
                Location(path, 1, 1),
                env,
                hint='run `gitops-config render` to write it encrypted; rotate the '
                'secrets it exposed if it was ever pushed',
            )
        )


def _doc(
    checker: Checker, env: str, path: str, file: RenderedFile, origins: Origins, documents: Any
) -> Doc:
    doc = Doc(path, documents, functools.partial(_positions, file), origins, file.template)
    checker.docs[(env, path)] = doc
    checker.docs[(env, file.path)] = doc
    return doc


def _positions(file: RenderedFile) -> Positions:
    return file.positions or []


def _policy_key(
    checker: Checker, render: EnvRender, file: RenderedFile, path: str, index: int
) -> str | None:
    """What one document's document-rule results depend on; None: not kept (it holds
    a secret, or a rule reads values that hold one)."""
    if file.has_secrets or (checker.reads_values and render.values.has_secrets):
        return None
    exact = token(render.values.data) if checker.reads_values else b''
    if exact is None:
        return None
    values = hashlib.sha256(exact).hexdigest() if exact else ''
    return store_key(
        'policy',
        checker.rules_digest,
        render.env or '',
        path,
        file.path,
        str(index),
        file.digest,
        values,
    )


def _kept(checker: Checker, key: str) -> list[Hit] | None:
    rows = checker.reuse.recall('policy', key)
    if rows is None:
        return None
    try:
        if type(rows) is not list or not all(
            type(row) is list
            and len(row) == 8
            and type(row[0]) is int
            and 0 <= row[0] < len(checker.doc_rules)
            for row in rows
        ):
            return None
        return [Hit(checker.doc_rules[rule], *rest) for rule, *rest in rows]
    except TypeError:  # forged: a miss
        return None
