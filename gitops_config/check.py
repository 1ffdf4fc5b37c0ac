"""Schemas and policies over what the pipeline rendered: Findings at file:line.

This is the glue the CLI, the hooks and the Action call. Value layers are
checked once each (raw, as written); rendered files once per environment, and
a finding in a rendered file also names the layer or template line that
produced the node, because that is what the user must edit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import posixpath
import re
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import cache
from gitops_config import cache_data
from gitops_config import clock
from gitops_config import constants as C
from gitops_config import keypath
from gitops_config import values as values_mod
from gitops_config import workers
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.locate import Doc
from gitops_config.locate import Origins
from gitops_config.locate import Positions
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.pipeline import EnvRender
from gitops_config.policy import waivers as waivers_mod
from gitops_config.policy.load import load_rules
from gitops_config.policy.match import glob_match
from gitops_config.policy.rules import Rule
from gitops_config.policy.runner import AgedSecret
from gitops_config.policy.runner import Hit
from gitops_config.policy.runner import Pair
from gitops_config.policy.runner import Target
from gitops_config.policy.runner import make_engine
from gitops_config.policy.runner import run_changes
from gitops_config.policy.runner import run_documents
from gitops_config.policy.runner import run_environments
from gitops_config.policy.runner import run_secret_ages
from gitops_config.policy.secrets import creation_rules
from gitops_config.policy.secrets import key_patterns
from gitops_config.policy.view import cel_view
from gitops_config.project import Project
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.render import RenderedFile
from gitops_config.schema import BUILTIN
from gitops_config.schema import BUILTINS
from gitops_config.schema import SchemaStore
from gitops_config.schema import builtin_text
from gitops_config.schema import declared_schema
from gitops_config.shard import Shard
from gitops_config.source import Source
from gitops_config.values import DELETE_TAG
from gitops_config.verdicts import LAYERS
from gitops_config.verdicts import Verdicts

if TYPE_CHECKING:
    from gitops_config.secret_age import SecretAge

Path = tuple[str | int, ...]
# The environments as rendered at the base of a change, or what renders them on demand.
Base = Sequence[EnvRender] | Callable[[], Sequence[EnvRender] | None] | None

SCHEMA_RULE = 'schema'
SECRETS_RULE = 'secrets/plaintext'
CHECKS = 'checks-2'  # bumped when what a check finds changes: older verdicts do not hold
TEXT_LIMIT = 1_000_000  # bytes of a file's text scanned for secrets
UNMATCHED_RULE = 'schema-unmatched'
EXPIRED_RULE = 'waiver-expired'
BUILTIN_RULES = (SCHEMA_RULE, UNMATCHED_RULE)


@dataclass(frozen=True)
class CheckResult:
    """What `validate` found; `failed` decides the exit code."""

    findings: tuple[Finding, ...]
    checked: tuple[str, ...] = ()  # every file looked at, project-relative
    waived: tuple[Finding, ...] = field(default=(), repr=False)
    strict: bool = False

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)

    @property
    def skipped(self) -> int:
        return sum(f.severity is Severity.SKIPPED for f in self.findings)

    @property
    def failed(self) -> bool:
        return self.errors > 0 or (self.strict and self.warnings > 0)

    @property
    def status(self) -> str:
        return 'fail' if self.failed else 'ok'


def _schema_map(project: Project, section: str) -> list[tuple[str, str]]:
    schemas = project.raw.get('schemas') or {}
    return [(m['files'], m['schema']) for m in schemas.get(section) or []]


def _pick(mapping: Sequence[tuple[str, str]], name: str, declared: str | None) -> str | None:
    if declared is not None:
        return declared  # the file's own `$schema` or modeline is the most specific
    return next((schema for pattern, schema in mapping if glob_match(pattern, name)), None)


class _Checker:
    def __init__(self, source: Source, project: Project, *, require_schema: bool,
                 only_packs: Sequence[str] | None, now: dt.datetime | None = None) -> None:
        self.source = source
        self.now = now if now is not None else clock.now()  # what secrets' ages count to
        self.project = project
        self.require_schema = require_schema
        self.store = SchemaStore(source)
        self.rules = load_rules(source, project.raw, where=project.location('policies'),
                                only_packs=only_packs)
        sops_text = source.read(C.SOPS_CONFIG_FILE) if source.exists(C.SOPS_CONFIG_FILE) else None
        patterns = (project.raw.get('secrets') or {}).get('key_patterns') or ()
        self.sops_rules = creation_rules(sops_text)
        self.engine = make_engine(sops_rules=self.sops_rules, key_patterns=patterns)
        for rule in self.rules:
            self.engine.compile(rule)  # every syntax error surfaces before any evaluation
        # Document rules' results are kept per document (see _policy_key); they depend on
        # the rules and on what the host functions read: .sops.yaml and key patterns.
        self.doc_rules = [r for r in self.rules if r.scope == 'document']
        self.env_rules = [r for r in self.rules if r.scope == 'environments']
        self.key_patterns = key_patterns(tuple(str(p) for p in patterns))
        # CHECKS: verdicts kept by an older version of the checks are not reused
        self.rules_digest = cache.key('rules', repr(self.doc_rules), sops_text or b'',
                                      repr(tuple(patterns)), CHECKS)
        self.reads_values = any(re.search(r'\bvalues\b', r.expr) for r in self.doc_rules)
        # Whether a file is clean depends on its content and on all of the above.
        self.verdicts = Verdicts(None if self.reads_values or not cache.default().enabled else
                                 cache.key('check', self.rules_digest, repr(only_packs),
                                           str(require_schema), _schema_inputs(source, project)))
        self.cached_hits: list[Hit] = []
        self.pending: dict[tuple[str | None, str, int], str] = {}
        self.partial = only_packs is not None
        self.docs: dict[tuple[str | None, str], Doc] = {}
        self.values: dict[str, values_mod.Values] = {}  # by environment, for its rules
        self.findings: list[Finding] = []
        self.checked: list[str] = []

    def covered(self, path: str) -> bool:
        """Whether a .sops.yaml creation rule says PATH must be encrypted."""
        from gitops_config.policy.secrets import covering_rule

        return covering_rule(self.sops_rules, path) is not None

    # -- schemas --

    def _validate(self, schema: str | None, doc: Doc, name: str, env: str | None, *,
                  secrets: bool = False) -> None:
        """DOC against SCHEMA. With SECRETS (it may hold some), a decrypted secret is
        checked by its plaintext (never quoted), and a sealed one is reported as skipped:
        its schema rules were not checked, which is not the same as passed."""
        if schema is None:
            if self.require_schema:
                self.findings.append(Finding(
                    UNMATCHED_RULE, Severity.ERROR, 'no schema matches this file',
                    Location(doc.file, 1, 1), env,
                    hint='map it under schemas: in gitops-config.yaml, or add a $schema'))
            return
        for index, data in enumerate(doc.documents):
            view, sealed = secret_view(data) if secrets else (data, [])
            for v in self.store.violations(schema, view):
                if any(v.path[:len(s)] == s for s in sealed):
                    continue  # about a value nobody here can read
                where = keypath.format(v.path) or '(document)'
                prefix = f'document {index + 1}: ' if len(doc.documents) > 1 else ''
                message = _masked(v.message, data, v.path)
                self.findings.append(Finding(
                    SCHEMA_RULE, Severity.ERROR, f'{prefix}{where}: {message}',
                    doc.locate(index, v.path), env, origin=doc.origin(index, v.path),
                    hint=f'schema: {schema}'))
            if sealed:
                self.findings.append(Finding(
                    SCHEMA_RULE, Severity.SKIPPED,
                    f'{len(sealed)} secret value(s) not checked against the schema: sealed, '
                    'no key at hand to open them', doc.locate(index, sealed[0]), env,
                    hint=f'schema: {schema}; run with the decryption key to check them'))

    def scan_text(self, path: str, content: bytes | str, *, comments: bool,
                  env: str | None = None) -> None:
        """Secrets in the text of PATH (with COMMENTS, in its YAML comments only): where no
        document rule looks."""
        from gitops_config.policy.secrets import scan_text

        text = content if isinstance(content, str) else content[:TEXT_LIMIT].decode(
            errors='replace')
        where = ' in a comment' if comments else ''
        for line, column, why in scan_text(text, comments=comments, extra=self.key_patterns):
            self.findings.append(Finding(
                SECRETS_RULE, Severity.ERROR, f'secret in plaintext{where}: {why}',
                Location(path, line, column), env,
                hint='remove it (git history keeps it: rotate it), then encrypt it with '
                     '`gitops-config secrets` or reference it (os.environ/NAME)'))

    def committed_in_plaintext(self, path: str, env: str) -> None:
        """A file that holds secrets must not be committed decrypted (`render --decrypt`)."""
        from gitops_config import sops

        if self.source.exists(path) and not sops.is_encrypted(self.source.read(path)):
            self.findings.append(Finding(
                SECRETS_RULE, Severity.ERROR,
                'holds secrets, but the committed file is not encrypted', Location(path, 1, 1),
                env, hint='run `gitops-config render` to write it encrypted; rotate the '
                          'secrets it exposed if it was ever pushed'))

    # -- inputs --

    def layer(self, path: str, targets: list[Target]) -> None:
        self.checked.append(path)
        blob = self.source.blob_id(path)
        if self.verdicts.known(LAYERS, path, blob):
            return
        text = self.source.read(path)
        raw_documents = _parsed_layer(self.source, path, text)
        encrypted = _sops_encrypted(text)
        documents = [_without_sops(d, deletes=DELETE_TAG.encode() in text)
                     for d in (_opened_layer(self.source, path, raw_documents) if encrypted
                               else raw_documents)]
        doc = Doc(path, documents,
                  lambda: [p for _, p in yaml_io.load_all_located(text, path)])
        self.docs[(None, path)] = doc
        declared = declared_schema(documents[0] if documents else None,
                                   _text(text), path)
        if declared is None and not encrypted:
            # a schema the file names itself is not part of the verdict; an encrypted
            # layer's depends on the keys at hand
            self.verdicts.offer(LAYERS, path, blob, structured=True)
        self._validate(_pick(_schema_map(self.project, 'values'), path, declared), doc, path,
                       None, secrets=encrypted)
        self.scan_text(path, text, comments=True)
        for index, raw in enumerate(raw_documents):
            targets.append(Target('layer', path, path, raw, None, None, index))

    def _policy_key(self, render: EnvRender, file: RenderedFile, path: str, index: int,
                    ) -> str | None:
        """What one document's document-rule results depend on; None: not kept (it holds
        a secret, or a rule reads values that hold one)."""
        if file.has_secrets or (self.reads_values and render.values.has_secrets):
            return None
        exact = cache_data.token(render.values.data) if self.reads_values else b''
        if exact is None:
            return None
        values = hashlib.sha256(exact).hexdigest() if exact else ''
        return cache.key('policy', self.rules_digest, render.env or '', path, file.path,
                         str(index), file.digest, values)

    def _cached(self, key: str) -> list[Hit] | None:
        blob = cache.default().get('policy', key)
        if blob is None:
            return None
        try:
            rows = cache_data.loads(blob)
            if not all(type(row) is list and len(row) == 8 and type(row[0]) is int
                       and 0 <= row[0] < len(self.doc_rules) for row in rows):
                return None
            return [Hit(self.doc_rules[rule], *rest) for rule, *rest in rows]
        except (cache_data.Damaged, TypeError):  # damaged or forged: a miss
            return None

    def _keep(self, key: str, hits: list[Hit]) -> None:
        rows = [[self.doc_rules.index(h.rule), h.message, h.env, h.file, h.name, h.index,
                 h.path, h.error] for h in hits]
        with contextlib.suppress(cache_data.Refused):
            cache.default().put('policy', key, cache_data.dumps(rows))

    def rendered(self, render: EnvRender, targets: list[Target]) -> None:
        out = self.project.output_dir(render.env)
        origins = Origins(render.values, self.source)
        values_view: Any = None  # converted for CEL only if some document rule reads it
        clean = self.verdicts.clean(render.env)
        for file in render.files:
            path = posixpath.join(out, file.path)
            if file.has_secrets:
                self.committed_in_plaintext(path, render.env)
            known = clean.get(path)
            if known is not None and (file.has_secrets or known[0] != file.digest):
                known = None
            if known is not None:
                if known[1]:
                    self.checked.append(path)
                    if self.env_rules:  # which may point here
                        self._doc(render.env, path, file, origins, lambda f=file: f.documents)
                continue
            if file.documents is None:
                if not file.has_secrets:
                    self.scan_text(path, file.content, comments=False, env=render.env)
                    self.verdicts.offer(render.env, path, file.digest, structured=False)
                continue
            doc = self._doc(render.env, path, file, origins, file.documents)
            self.checked.append(path)
            declared = declared_schema(file.documents[0] if file.documents else None,
                                       _text(file.content), file.template)
            if declared is None and not file.has_secrets:
                self.verdicts.offer(render.env, path, file.digest, structured=True)
            self._validate(_pick(_schema_map(self.project, 'rendered'), file.path, declared),
                           doc, file.path, render.env, secrets=file.has_secrets)
            if not file.has_secrets:  # a decrypted secret's text is not plaintext in a file
                self.scan_text(path, file.content, comments=True, env=render.env)
            for index, data in enumerate(file.documents):
                key = self._policy_key(render, file, path, index)
                if key is not None:
                    hits = self._cached(key)
                    if hits is not None:
                        self.cached_hits += hits
                        continue
                    self.pending[(render.env, path, index)] = key
                if values_view is None and self.reads_values:
                    values_view = cel_view(render.values.data)
                targets.append(Target('rendered', path, file.path, data, render.env,
                                      values_view, index))

    def _doc(self, env: str, path: str, file: RenderedFile, origins: Origins,
             documents: Any) -> Doc:
        doc = Doc(path, documents, functools.partial(_rendered_positions, file), origins,
                  file.template)
        self.docs[(env, path)] = doc
        self.docs[(env, file.path)] = doc
        return doc

    # -- policies --

    def policies(self, targets: list[Target], renders: Sequence[EnvRender], base: Base, *,
                 jobs: int | None) -> list[Hit]:
        hits = list(self.cached_hits)
        evaluated = workers.in_slices(functools.partial(self._evaluate, targets), len(targets),
                                      jobs=jobs)
        for target, rows in zip(targets, evaluated, strict=True):
            found = [Hit(self.rules[rule], *rest) for rule, *rest in rows]
            hits += found
            key = self.pending.get((target.env, target.file, target.index))
            if key is not None and found:  # a clean file is remembered by its verdict
                self._keep(key, found)
        env_rules = self.env_rules
        if env_rules:
            # Converting every file for CEL costs as much as checking it: only the files
            # some cross-environment rule can select.
            globs = None if any(not r.files for r in env_rules) else [
                g for r in env_rules for g in r.files]
            envs = {r.env: {'values': cel_view(r.values.data),
                            'files': _with_names({f.path: cel_view(f.documents) for f in r.files
                                                  if (globs is None or any(
                                                      glob_match(g, f.path) for g in globs))
                                                  and f.documents is not None})}
                    for r in renders}
            hits += run_environments(self.engine, self.rules, envs)
        if any(r.scope == 'secret-age' for r in self.rules):
            hits += self._secret_ages(renders)
        if base is not None and any(r.scope == 'change' for r in self.rules):
            before = base() if callable(base) else base
            if before is not None:
                hits += run_changes(self.engine, self.rules,
                                    _pairs(self.project, before, renders))
        return hits

    def _secret_ages(self, renders: Sequence[EnvRender]) -> list[Hit]:
        """Secret-age rules over the encrypted layers this check reads, environment by
        environment (a layer two environments share is dated once)."""
        from gitops_config import secret_age

        dated: dict[str, list[secret_age.SecretAge]] = {}
        found: list[AgedSecret] = []
        for render in renders:
            for layer in dict.fromkeys(render.values.layers):
                if (None, layer) not in self.docs:
                    continue  # not read by this check (or not a file)
                if layer not in dated:
                    encrypted = _sops_encrypted(self.source.read(layer))
                    dated[layer] = secret_age.ages(self.source, [layer], now=self.now) \
                        if encrypted else []
                found += [AgedSecret(render.env, layer, a.index, a.path, a.view(self.now),
                                     _age_detail(a, self.now)) for a in dated[layer]]
        return run_secret_ages(self.engine, self.rules, found, self.now.date().isoformat())

    def _evaluate(self, targets: list[Target], start: int, stop: int,
                  ) -> list[list[tuple[Any, ...]]]:
        """The hits of TARGETS[START:STOP], each document's apart (so that its results
        can be kept as they are), a rule by its index: what a worker sends back."""
        index = {id(rule): i for i, rule in enumerate(self.rules)}
        return [[(index[id(h.rule)], h.message, h.env, h.file, h.name, h.index, h.path, h.error)
                 for h in run_documents(self.engine, self.rules, [target])]
                for target in targets[start:stop]]

    def finding(self, hit: Hit) -> tuple[Finding, tuple[str, ...], tuple[str | int, ...] | None]:
        doc = self.docs.get((hit.env, hit.file or ''))
        if doc is None and hit.rule.scope == 'secret-age':
            doc = self.docs.get((None, hit.file or ''))  # a layer: the same in every env
        if doc is None and hit.env is not None and hit.file is not None:
            doc = self.docs.get((hit.env, posixpath.join(self.project.output_dir(hit.env),
                                                        hit.file)))
        if doc is None and hit.env is not None and hit.file is not None:
            # a bare name (config.yaml for litellm/config.yaml), when unique, as _with_names
            named = {d.file for (env, _), d in self.docs.items()
                     if env == hit.env and posixpath.basename(d.file) == hit.file}
            if len(named) == 1:
                doc = self.docs[(hit.env, named.pop())]
        path: tuple[str | int, ...] | None = None
        values = self.values.get(hit.env or '') if hit.file is None else None
        if doc is None and values is not None and hit.path:
            # a cross-environment rule names a value of that environment: where it is set
            path = _value_path(values.data, hit.path)
            where = _set_at(values, path) if path else self.project.location()
            origin = None
            files: tuple[str, ...] = (where.path,)
        elif doc is None:
            where = (self.project.location('environments', self.project.env_names().index(
                hit.env)) if hit.env in self.project.env_names() else self.project.location())
            origin = None
            files = (hit.file,) if hit.file else ()
        else:
            path = doc.resolve(hit.index, hit.path)
            where = doc.locate(hit.index, path or ())
            origin = doc.origin(index=hit.index, path=path or ())
            files = tuple({doc.file, hit.name or doc.file})
        message = hit.message
        if doc is not None and hit.index < len(doc.documents):
            message = _masked(message, doc.documents[hit.index], path or ())
        elif values is not None:
            message = _masked(message, values.data, path or ())
        if path:
            message = f'{keypath.format(path)}: {message}'
        severity = Severity.ERROR if hit.error else hit.rule.severity
        found = Finding(hit.rule.id, severity, message, where, hit.env, origin,
                        hint=_hint(hit.rule))
        return found, files, path


def _age_detail(found: SecretAge, now: dt.datetime) -> str:
    from gitops_config import secret_age

    day, days = found.changed.date().isoformat(), found.days(now)
    if found.how == secret_age.UNCOMMITTED:
        return f'changed in the working tree, not committed yet, encrypted {day}'
    if found.how == secret_age.LASTMODIFIED:
        return f'encrypted {day}, {days} days ago, by its sops.lastmodified: no git history'
    commit = (found.commit or '')[:12]
    if found.how == secret_age.SHALLOW:
        return f'changed on or before {day}, {days}+ days ago, in {commit} (shallow clone)'
    return f'last changed {day}, {days} days ago, in {commit}'


def _value_path(data: Any, raw: Path | str) -> Path | None:
    """RAW (a path or a KEYPATH) in merged values DATA, or None where it names nothing."""
    if isinstance(raw, tuple):
        return raw
    try:
        return keypath.resolve(data, keypath.parse(raw))
    except GitopsConfigError:
        return None


def _set_at(values: values_mod.Values, path: Path) -> Location:
    """The layer line that set PATH (or its nearest parent that some layer sets)."""
    provenance = values.provenance
    for cut in range(len(path), -1, -1):
        found = provenance.get(path[:cut])
        if found is not None and found.location.line is not None:
            return found.location
    return Location(values.layers[-1] if values.layers else C.PROJECT_FILE)


def _masked(message: str, document: Any, path: Path) -> str:
    """MESSAGE without the secrets found at PATH of DOCUMENT (a schema or rule message
    may quote the value it is about): a finding says where a secret is, not what."""
    from gitops_config import masking

    node = document
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return masking.mask_text(message)
    name = next((s for s in reversed(path) if isinstance(s, str)), None)
    return masking.mask_text(message, known=masking.secrets_in(node, name))


def _with_names(files: dict[str, Any]) -> dict[str, Any]:
    """FILES by path, and also by bare name where that name is unique: a rule can say
    files['config.yaml'] whether it renders to config.yaml or to litellm/config.yaml."""
    names: dict[str, list[str]] = {}
    for path in files:
        names.setdefault(posixpath.basename(path), []).append(path)
    aliases = {name: files[paths[0]] for name, paths in names.items()
               if len(paths) == 1 and name not in files}
    return {**files, **aliases}


def _schema_inputs(source: Source, project: Project) -> str:
    """The schema mapping and every file beside the schemas it names (a $ref may
    reach them), with their blob SHAs."""
    schemas = {schema for section in ('values', 'rendered')
               for _, schema in _schema_map(project, section)}
    folders = sorted({posixpath.dirname(s) for s in schemas if not s.startswith(BUILTIN)})
    files = [(path, source.blob_id(path)) for folder in folders if '://' not in folder
             for path in source.files(folder)]
    # a built-in schema (or one a repository schema may $ref) changes with the package
    shipped = [hashlib.sha256(builtin_text(BUILTIN + name)).hexdigest()
               for name in sorted(BUILTINS)]
    return repr((project.raw.get('schemas'), files, shipped))


def _rendered_positions(file: RenderedFile) -> Positions:
    return file.positions or []


def _located_positions(located: list[tuple[Any, dict[Path, tuple[int, int]]]]) -> Positions:
    return [positions for _, positions in located]


def _hint(rule: Rule) -> str | None:
    return rule.description.splitlines()[0] if rule.description else None


def _text(content: bytes | str) -> str | None:
    if isinstance(content, str):
        return content
    try:
        return content[:4096].decode()
    except UnicodeDecodeError:
        return None


def _parsed_layer(source: Source, path: str, text: bytes) -> list[Any]:
    """The layer's documents as written. A plaintext layer comes from the layer cache the
    merge filled (a large one takes a second to parse); anything else is parsed here."""
    from gitops_config import sops

    if not sops.is_encrypted(text):
        try:
            layer = values_mod.load_layer(source, path)
        except GitopsConfigError:
            layer = None  # the parse below reports what is wrong, where
        if layer is not None and layer.data:
            return [layer.data]
    return yaml_io.load_all(text, path)


def _opened_layer(source: Source, path: str, raw: list[Any]) -> list[Any]:
    """An encrypted layer as its schema should see it: decrypted where a key is at
    hand (Secret leaves), sealed where not; its encrypted leaves sealed if it cannot be
    opened at all (what is wrong with it is reported where it is merged)."""
    try:
        return [values_mod.load_layer(source, path, sealed=True).data]
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


def secret_view(node: Any, path: Path = ()) -> tuple[Any, list[Path]]:
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


def _pairs(project: Project, base: Sequence[EnvRender], head: Sequence[EnvRender],
           ) -> Iterable[Pair]:
    old_by_env = {r.env: r for r in base}
    for new in head:
        old = old_by_env.get(new.env)
        old_files = {f.path: f for f in old.files} if old is not None else {}
        old_values = cel_view(old.values.data) if old is not None else None
        new_values = cel_view(new.values.data)
        out = project.output_dir(new.env)
        for file in new.files:
            if file.documents is None:
                continue
            before = old_files.get(file.path)
            old_docs = before.documents if before is not None and before.documents else []
            for i, doc in enumerate(file.documents):
                yield Pair(new.env, posixpath.join(out, file.path), file.path,
                           cel_view(old_docs[i]) if i < len(old_docs) else None,
                           cel_view(doc), old_values, new_values, i)


def check(
        source: Source,
        project: Project,
        renders: Sequence[EnvRender],
        *,
        base: Base = None,
        strict: bool = False,
        require_schema: bool = False,
        layers: Collection[str] | None = None,
        today: dt.date | None = None,
        now: dt.datetime | None = None,
        jobs: int | None = None,
) -> CheckResult:
    """Schemas and policies over RENDERS (and their value layers) read from SOURCE,
    documents evaluated on JOBS processes (default: one per core).

    BASE, the same environments rendered at the PR's base, turns on change
    rules; as a function, it is called only when a change rule is in force (and
    may answer None: no base to compare with). LAYERS limits which value layers
    are checked (default: every layer of every rendered environment).
    """
    checker = _Checker(source, project, require_schema=require_schema, only_packs=None,
                       now=now)
    targets: list[Target] = []
    wanted = layers if layers is not None else _all_layers(renders)
    for path in dict.fromkeys(wanted):
        checker.layer(path, targets)
    for render in renders:
        checker.rendered(render, targets)
        checker.values[render.env] = render.values
    hits = checker.policies(targets, renders, base, jobs=jobs)
    checker.verdicts.settle([(f.env or LAYERS, f.location.path) for f in checker.findings]
                            + [(h.env or LAYERS, h.file or '') for h in hits])
    return _finish(checker, hits, strict=strict, today=today)


def base_renders(source: Source, project: Project, envs: Sequence[str], *,
                 shard: Shard | None = None) -> list[EnvRender] | None:
    """ENVS as rendered at a change's base SOURCE, for change rules: sealed (a rule sees
    a secret as '<secret>' either way), and only those the base has. None when the
    base does not render: there is nothing to compare with (a review reports that)."""
    from gitops_config import pipeline

    known = [e for e in envs if e in project.env_names()]
    try:
        return pipeline.render(source, project, known, sealed=True, shard=shard,
                               reuse=True) if known else []
    except GitopsConfigError:
        return None


def scan_secrets(source: Source, project: Project | None, files: Sequence[str], *,
                 today: dt.date | None = None) -> CheckResult:
    """The plaintext-secret guard alone, over FILES as written (no render): the hook's.

    A YAML or JSON file goes through the secrets rules (a file below an
    environment's output folder counts as rendered output); any other text
    file is scanned line by line for credentials.
    """
    proj = project if project is not None else _bare_project(source)
    checker = _Checker(source, proj, require_schema=False, only_packs=('secrets',))
    outputs = [proj.output_dir(e) + '/' for e in proj.env_names()]
    targets: list[Target] = []
    for path in files:
        text = source.read(path)
        checker.checked.append(path)
        if path.endswith(('.yaml', '.yml', '.json')):
            try:
                located = yaml_io.load_all_located(text, path)
            except GitopsConfigError:
                located = []
            if located:
                kind = 'rendered' if path.startswith(tuple(outputs)) else 'layer'
                checker.docs[(None, path)] = Doc(
                    path, [d for d, _ in located],
                    functools.partial(_located_positions, located))
                targets += [Target(kind, path, path, d, None, None, i)
                            for i, (d, _) in enumerate(located)]
                if not path.endswith('.json'):
                    checker.scan_text(path, text, comments=True)
                continue
        checker.scan_text(path, text, comments=False)
        if (not path.startswith(tuple(outputs)) and checker.covered(path)
                and not _sops_encrypted(text)):
            checker.findings.append(Finding(
                'secrets/sops-coverage', Severity.ERROR,
                'a .sops.yaml creation rule covers this file, but it is not encrypted',
                Location(path, 1, 1), hint='run `gitops-config secrets encrypt` on it'))
    hits = run_documents(checker.engine, checker.rules, targets)
    return _finish(checker, hits, strict=False, today=today)


def _sops_encrypted(text: bytes) -> bool:
    from gitops_config import sops

    return sops.is_encrypted(text)


def _bare_project(source: Source) -> Project:
    from pathlib import Path as FsPath

    root = getattr(source, 'root', FsPath.cwd())
    return Project.empty(root)


@dataclass(frozen=True)
class Affected:
    """What a set of changed files touches: environments to render and check, value
    layers to check (None: every layer of those environments), and environments whose
    rendered output can change (for `render --check`)."""

    envs: tuple[str, ...]
    layers: tuple[str, ...] | None
    outputs: tuple[str, ...] = ()


def affected(project: Project, files: Iterable[str], source: Source | None = None,
             ) -> Affected:
    """What changed FILES affect. A layer: the environments that use it, and itself. A
    template: every environment's output. The project file or `.sops.yaml`: everything.
    A policy file or a JSON Schema (a mapped one, a file beside it that a `$ref` may
    reach, or one that a layer or template names itself, read from SOURCE): every
    environment and every layer, since rules and schemas apply to both."""
    names = project.env_names()
    schema_dirs = {posixpath.dirname(schema) for section in ('values', 'rendered')
                   for _, schema in _schema_map(project, section)
                   if not schema.startswith(BUILTIN)}
    section = project.raw.get('policies') or {}
    policy_dirs = tuple(p.rstrip('/') + '/' for p in section.get('paths') or ['policies'])
    templates = project.templates.rstrip('/') + '/' if project.templates is not None else None
    named: set[str] | None = None  # schemas that files name themselves, read when needed
    envs: set[str] = set()
    outputs: set[str] = set()
    layers: list[str] | None = []
    for file in files:
        everything = file in (C.PROJECT_FILE, C.SOPS_CONFIG_FILE)
        if everything or (templates is not None and file.startswith(templates)):
            envs.update(names)
            outputs.update(names)
        checks_all = everything or file.startswith(policy_dirs) or (
            posixpath.dirname(file) in schema_dirs and not _is_layer(project, file))
        if not checks_all and source is not None and file.endswith(_SCHEMA_SUFFIXES):
            if named is None:
                named = _named_schemas(source, project)
            checks_all = file in named
        if checks_all:
            envs.update(names)
            layers = None
        for env in project.environments:
            if file in env.layers:
                envs.add(env.name)
                outputs.add(env.name)
                if layers is not None and file not in layers:
                    layers.append(file)
            if file.startswith(project.output_dir(env.name) + '/'):
                envs.add(env.name)
                outputs.add(env.name)
    return Affected(tuple(n for n in names if n in envs),
                    None if layers is None else tuple(layers),
                    tuple(n for n in names if n in outputs))


_SCHEMA_SUFFIXES = ('.json', '.yaml', '.yml')
# `$schema: x.json` or `"$schema": "x.json"`, near the top of a YAML or JSON file
_SCHEMA_KEY = re.compile(r'^\s*["\']?\$schema["\']?\s*:\s*["\']?([^"\'\s,]+)', re.MULTILINE)


def _is_layer(project: Project, file: str) -> bool:
    return any(file in env.layers for env in project.environments)


def _named_schemas(source: Source, project: Project) -> set[str]:
    """The schemas that layers and templates name themselves (a `$schema` key or a
    yaml-language-server modeline near the top)."""
    from gitops_config import render as render_mod

    files = {layer for env in project.environments for layer in env.layers}
    files.update(t.path for t in render_mod.templates(source, project))
    named: set[str] = set()
    for path in sorted(files):
        try:
            head = _text(source.read(path)[:4096]) or ''
        except GitopsConfigError:
            continue
        key = _SCHEMA_KEY.search(head)
        schema = declared_schema({'$schema': key.group(1)} if key else None, head, path)
        if schema is not None:
            named.add(schema)
    return named


def _all_layers(renders: Sequence[EnvRender]) -> list[str]:
    return [layer for r in renders for layer in r.values.layers]


def _finish(checker: _Checker, hits: Sequence[Hit], *, strict: bool, today: dt.date | None,
            ) -> CheckResult:
    project = checker.project
    known = {r.id for r in checker.rules} | set(BUILTIN_RULES)
    if checker.partial:
        # A scan with some packs only: waivers of the others are not unknown.
        known |= _declared_rule_ids(project)
    waivers = waivers_mod.parse(project.raw, project.location, known)
    day = today or checker.now.date()
    active = [w for w in waivers if not w.expired(day)]
    kept: list[Finding] = []
    waived: list[Finding] = []
    items: list[tuple[Finding, tuple[str, ...], Path | None]] = [
        (f, (f.location.path,), None) for f in checker.findings]
    items += [checker.finding(hit) for hit in hits]
    for found, files, path in items:
        if any(w.covers(found.rule, found.env, files, path) for w in active):
            waived.append(found)
        else:
            kept.append(found)
    loaded = {r.id for r in checker.rules} | set(BUILTIN_RULES)
    for w in waivers:
        # A partial scan (the secrets hook) answers only for the rules it ran.
        if w.expired(day) and (not checker.partial or w.rule in loaded):
            kept.append(Finding(
                EXPIRED_RULE, Severity.ERROR,
                f'the waiver of {w.rule} expired on {w.expires.isoformat()} ({w.reason})',
                w.location, w.env, hint='fix what it waived, or extend expires with a reason'))
    kept.sort(key=_order)
    return CheckResult(tuple(kept), tuple(dict.fromkeys(checker.checked)), tuple(waived),
                       strict)


def _declared_rule_ids(project: Project) -> set[str]:
    section = project.raw.get('policies') or {}
    return {str(w.get('rule')) for w in section.get('waivers') or []}


def _order(f: Finding) -> tuple[str, int, int, str, str]:
    return (f.location.path, f.location.line or 0, f.location.column or 0, f.rule, f.message)
