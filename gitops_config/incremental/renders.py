"""Rendered outputs and compiled templates, kept in the render packs (packs.py).

A template's output is kept with the trace that verifies it (dependencies.py):
the value paths it read, each with a hash of what was there. It is reused for the
same template text and environment while every one of those hashes is the same
(or, when a snapshot of the exact inputs vouches for it, while its SHA-256 is the
one the snapshot holds). Nothing derived from a secret is kept.
"""

from __future__ import annotations

import hashlib
import marshal
import types
from typing import TYPE_CHECKING

from gitops_config import render
from gitops_config import trace
from gitops_config.incremental import data
from gitops_config.incremental.dependencies import Hasher
from gitops_config.incremental.dependencies import dependencies
from gitops_config.incremental.dependencies import still_valid
from gitops_config.incremental.packs import BYTECODE
from gitops_config.incremental.packs import Packs
from gitops_config.incremental.store import key
from gitops_config.render import Prepared
from gitops_config.render import RenderedFile
from gitops_config.render import Template

if TYPE_CHECKING:
    from gitops_config.render import Compiled


def digest(template: Template, env: str) -> str:
    """The key of TEMPLATE's output for ENV: its path, its text and the environment."""
    return key('render', template.path, template.raw, env)


def kept(
    packs: Packs,
    template: Template,
    prepared: Prepared,
    hasher: Hasher,
    *,
    output: str | None = None,
) -> RenderedFile | None:
    """The output a verifying trace recorded, if every value it read is unchanged in
    HASHER's values (or, given OUTPUT, if its SHA-256 is OUTPUT)."""
    blob = packs.get(prepared.env, template.path, digest(template, prepared.env))
    if blob is None:
        return None
    try:
        rows, content, documents = data.loads(blob, data.YAML)
        deps = [(tuple(p), token) for p, token in rows]
        hash(tuple(p for p, _ in deps))  # paths of strings and numbers only
    except (data.Damaged, TypeError, ValueError):  # damaged or forged: a miss
        return None
    if type(content) is not bytes or not (documents is None or type(documents) is list):
        return None
    if output is not None:
        if hashlib.sha256(content).hexdigest() != output:
            return None
    elif not still_valid(deps, hasher):
        return None
    if (
        prepared.taint is not None
        and prepared.taint.find(content.decode(errors='replace')) is not None
    ):
        return None  # a secret now equals text in this output: render it properly
    rel = template.rel.removesuffix(render.TEMPLATE_SUFFIX)
    return RenderedFile(
        prepared.env, rel, template.path, content, documents, reads=tuple(p for p, _ in deps)
    )


def keep(
    packs: Packs,
    template: Template,
    prepared: Prepared,
    hasher: Hasher,
    file: RenderedFile,
    rec: trace.Recorder,
) -> None:
    """Keep FILE with the trace that verifies it, unless anything about it comes from a
    secret: its taint, a value it read, or a secret's text (plain or base64) in it."""
    if file.has_secrets:
        return
    taint = prepared.taint
    if taint is not None and taint.find(file.content.decode(errors='replace')) is not None:
        return
    deps = dependencies(rec, hasher)
    if deps is None:
        return
    try:
        rows = [[list(p), token] for p, token in deps]
        payload = data.dumps([rows, file.content, file.documents], data.YAML)
    except data.Refused:  # a secret, or something else that is not plain data
        return
    packs.put(prepared.env, template.path, digest(template, prepared.env), payload)
    file.reads = tuple(p for p, _ in deps)


def compiled(packs: Packs, source_text: str, name: str) -> Compiled:
    """The compiled template, from the bytecode pack when an earlier run compiled it.

    Compiling (4 ms a template, most of a cold render) is keyed by the source, the
    name (runtime errors carry the template's own file and line) and the Jinja2 and
    Python versions that produced the bytecode. Bytecode is code: the pack hands back
    only what an HMAC under our own key (Store.code_key) vouches for, so only what
    this user's runs compiled is ever loaded.
    """
    code_digest = key('jinja', render.code_identity(), name, source_text)
    code = None
    blob = packs.get(BYTECODE, name, code_digest)
    if blob is not None:
        try:
            code = marshal.loads(blob)
        except (ValueError, EOFError, TypeError):
            code = None
        if not isinstance(code, types.CodeType):
            code = None
    if code is None:
        code = render.compile_code(source_text, name)
        packs.put(BYTECODE, name, code_digest, marshal.dumps(code))
    return render.load_code(code)
