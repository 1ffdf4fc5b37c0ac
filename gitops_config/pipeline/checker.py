"""One check of one revision: what it reads once, and what it has found so far.

A Checker loads the rules, the JSON Schemas and `.sops.yaml` of its Source
once; the layer, rendered-file and policy checks (layer_checks.py,
rendered_checks.py, policy_checks.py) add their findings to it, and
findings.py turns it into the CheckResult.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from gitops_config import constants as C
from gitops_config import keypath
from gitops_config import masking
from gitops_config import values as values_mod
from gitops_config.incremental.store import key as store_key
from gitops_config.locate import Doc
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.model import Severity
from gitops_config.policy import secrets as detect
from gitops_config.policy.load import load_rules
from gitops_config.policy.match import glob_match
from gitops_config.policy.runner import Hit
from gitops_config.policy.runner import make_engine
from gitops_config.project import Project
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.run import Run
from gitops_config.schema import BUILTIN
from gitops_config.schema import BUILTINS
from gitops_config.schema import SchemaStore
from gitops_config.schema import builtin_text
from gitops_config.source import Source

SCHEMA_RULE = 'schema'
SECRETS_RULE = 'secrets/plaintext'
UNMATCHED_RULE = 'schema-unmatched'
CHECKS = 'checks-2'  # bumped when what a check finds changes: older verdicts do not hold
TEXT_LIMIT = 1_000_000  # bytes of a file's text scanned for secrets


class Checker:
    def __init__(
        self,
        source: Source,
        project: Project,
        *,
        require_schema: bool,
        only_packs: Sequence[str] | None,
        run: Run,
        now: dt.datetime | None = None,
    ) -> None:
        self.source = source
        self.reuse = run.reuse  # earlier checks' verdicts and results, and parsed layers
        self.keys = run.keys
        self.now = now if now is not None else run.now  # what secrets' ages count to
        self.project = project
        self.require_schema = require_schema
        self.store = SchemaStore(source)
        self.rules = load_rules(
            source, project.raw, where=project.location('policies'), only_packs=only_packs
        )
        sops_text = source.read(C.SOPS_CONFIG_FILE) if source.exists(C.SOPS_CONFIG_FILE) else None
        patterns = (project.raw.get('secrets') or {}).get('key_patterns') or ()
        self.sops_rules = detect.creation_rules(sops_text)
        self.engine = make_engine(sops_rules=self.sops_rules, key_patterns=patterns)
        for rule in self.rules:
            self.engine.compile(rule)  # every syntax error surfaces before any evaluation
        # Document rules' results are kept per document (see rendered_checks); they depend
        # on the rules and on what the host functions read: .sops.yaml and key patterns.
        self.doc_rules = [r for r in self.rules if r.scope == 'document']
        self.env_rules = [r for r in self.rules if r.scope == 'environments']
        self.key_patterns = detect.key_patterns(tuple(str(p) for p in patterns))
        # CHECKS: verdicts kept by an older version of the checks are not reused
        self.rules_digest = store_key(
            'rules', repr(self.doc_rules), sops_text or b'', repr(tuple(patterns)), CHECKS
        )
        self.reads_values = any(re.search(r'\bvalues\b', r.expr) for r in self.doc_rules)
        # Whether a file is clean depends on its content and on all of the above.
        self.verdicts = self.reuse.verdicts(
            None
            if self.reads_values or not self.reuse.keeps
            else store_key(
                'check',
                self.rules_digest,
                repr(only_packs),
                str(require_schema),
                _schema_inputs(source, project),
            )
        )
        self.cached_hits: list[Hit] = []
        self.pending: dict[tuple[str | None, str, int], str] = {}
        self.partial = only_packs is not None
        self.docs: dict[tuple[str | None, str], Doc] = {}
        self.values: dict[str, values_mod.Values] = {}  # by environment, for its rules
        self.findings: list[Finding] = []
        self.checked: list[str] = []

    def covered(self, path: str) -> bool:
        """Whether a .sops.yaml creation rule says PATH must be encrypted."""
        return detect.covering_rule(self.sops_rules, path) is not None

    def validate(
        self, schema: str | None, doc: Doc, name: str, env: str | None, *, secrets: bool = False
    ) -> None:
        """DOC against SCHEMA. With SECRETS (it may hold some), a decrypted secret is
        checked by its plaintext (never quoted), and a sealed one is reported as skipped:
        its schema rules were not checked, which is not the same as passed."""
        if schema is None:
            if self.require_schema:
                self.findings.append(
                    Finding(
                        UNMATCHED_RULE,
                        Severity.ERROR,
                        'no schema matches this file',
                        Location(doc.file, 1, 1),
                        env,
                        hint='map it under schemas: in gitops-config.yaml, or add a $schema',
                    )
                )
            return
        for index, data in enumerate(doc.documents):
            view, sealed = secret_view(data) if secrets else (data, [])
            for v in self.store.violations(schema, view):
                if any(v.path[: len(s)] == s for s in sealed):
                    continue  # about a value nobody here can read
                where = keypath.format(v.path) or '(document)'
                prefix = f'document {index + 1}: ' if len(doc.documents) > 1 else ''
                message = masked(v.message, data, v.path)
                self.findings.append(
                    Finding(
                        SCHEMA_RULE,
                        Severity.ERROR,
                        f'{prefix}{where}: {message}',
                        doc.locate(index, v.path),
                        env,
                        origin=doc.origin(index, v.path),
                        hint=f'schema: {schema}',
                    )
                )
            if sealed:
                self.findings.append(
                    Finding(
                        SCHEMA_RULE,
                        Severity.SKIPPED,
                        f'{len(sealed)} secret value(s) not checked against the schema: sealed, '
                        'no key at hand to open them',
                        doc.locate(index, sealed[0]),
                        env,
                        hint=f'schema: {schema}; run with the decryption key to check them',
                    )
                )

    def scan_text(
        self, path: str, content: bytes | str, *, comments: bool, env: str | None = None
    ) -> None:
        """Secrets in the text of PATH (with COMMENTS, in its YAML comments only): where no
        document rule looks."""
        text = (
            content if isinstance(content, str) else content[:TEXT_LIMIT].decode(errors='replace')
        )
        where = ' in a comment' if comments else ''
        for line, column, why in detect.scan_text(text, comments=comments, extra=self.key_patterns):
            self.findings.append(
                Finding(
                    SECRETS_RULE,
                    Severity.ERROR,
                    f'secret in plaintext{where}: {why}',
                    Location(path, line, column),
                    env,
                    hint='remove it (git history keeps it: rotate it), then encrypt it with '
                    '`gitops-config secrets` or reference it (os.environ/NAME)',
                )
            )


def schema_map(project: Project, section: str) -> list[tuple[str, str]]:
    """The (files glob, schema) pairs of SECTION ('values' or 'rendered')."""
    schemas = project.raw.get('schemas') or {}
    return [(m['files'], m['schema']) for m in schemas.get(section) or []]


def pick(mapping: Sequence[tuple[str, str]], name: str, declared: str | None) -> str | None:
    """The schema of file NAME: the one it DECLARED itself, else the first that maps it."""
    if declared is not None:
        return declared  # the file's own `$schema` or modeline is the most specific
    return next((schema for pattern, schema in mapping if glob_match(pattern, name)), None)


def head_text(content: bytes | str) -> str | None:
    """The start of CONTENT as text, where a `$schema` key or a modeline would be."""
    if isinstance(content, str):
        return content
    try:
        return content[:4096].decode()
    except UnicodeDecodeError:
        return None


def secret_view(node: Any, path: NodePath = ()) -> tuple[Any, list[NodePath]]:
    """NODE as a schema checks it: decrypted secrets by their plaintext; and the paths
    of the sealed ones (their checks are skipped)."""
    if isinstance(node, Secret):
        return node.reveal(), []
    if isinstance(node, SealedSecret):
        return node.ciphertext, [path]
    if isinstance(node, dict):
        out, sealed = {}, []
        for k, v in node.items():
            out[k], more = secret_view(v, (*path, k))
            sealed += more
        return out, sealed
    if isinstance(node, list):
        items, sealed = [], []
        for i, v in enumerate(node):
            item, more = secret_view(v, (*path, i))
            items.append(item)
            sealed += more
        return items, sealed
    return node, []


def masked(message: str, document: Any, path: NodePath) -> str:
    """MESSAGE without the secrets found at PATH of DOCUMENT (a schema or rule message
    may quote the value it is about): a finding says where a secret is, not what."""
    node = document
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return masking.mask_text(message)
    name = next((s for s in reversed(path) if isinstance(s, str)), None)
    return masking.mask_text(message, known=masking.secrets_in(node, name))


def _schema_inputs(source: Source, project: Project) -> str:
    """The schema mapping and every file beside the schemas it names (a $ref may
    reach them), with their blob SHAs."""
    schemas = {
        schema for section in ('values', 'rendered') for _, schema in schema_map(project, section)
    }
    folders = sorted({posixpath.dirname(s) for s in schemas if not s.startswith(BUILTIN)})
    files = [
        (path, source.blob_id(path))
        for folder in folders
        if '://' not in folder
        for path in source.files(folder)
    ]
    # a built-in schema (or one a repository schema may $ref) changes with the package
    shipped = [
        hashlib.sha256(builtin_text(BUILTIN + name)).hexdigest() for name in sorted(BUILTINS)
    ]
    return repr((project.raw.get('schemas'), files, shipped))
