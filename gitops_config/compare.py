"""Two Sources -> each environment rendered at both -> semantic changes.

An environment whose inputs (layers, templates, project file, .sops.yaml,
schemas) have the same blob SHAs on both sides is not rendered at all; in one
whose inputs differ, a template that a snapshot shows to render the same on
both sides (snapshot.py) is rendered on neither. A file that cannot be rendered
or parsed on one side is reported and left out; the rest of its environment is
still diffed.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from gitops_config import cache
from gitops_config import constants as C
from gitops_config import diff
from gitops_config import pipeline
from gitops_config import project as project_mod
from gitops_config import render as render_mod
from gitops_config import snapshot as snapshot_mod
from gitops_config import values as values_mod
from gitops_config import workers
from gitops_config.errors import FileMissingError
from gitops_config.errors import GitopsConfigError
from gitops_config.ignore import Ignored
from gitops_config.ignore import Ignores
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.model import Finding
from gitops_config.project import Project
from gitops_config.redact import Secret
from gitops_config.redact import scrub
from gitops_config.shard import Shard
from gitops_config.source import Source
from gitops_config.values import Values

VALUES_FILE = '(values)'  # the pseudo-file diffed when nothing is rendered
READERS = 'sops.recipients'  # the change path of an encrypted file's recipients
# Changes that are shown but do not make a diff "changed" (exit code, PR status).
UNCOUNTED = frozenset({ChangeKind.RESEALED})


@dataclass(frozen=True, slots=True, order=True)
class Cause:
    """An input whose content differs between the two sides."""

    path: str
    kind: str  # 'project', 'sops-rules', 'layer', 'template', 'schema'


@dataclass(frozen=True)
class EnvDiff:
    env: str
    changes: list[Change]
    ignored: list[Ignored] = field(default_factory=list)
    causes: tuple[Cause, ...] = ()  # inputs whose content differs, sorted
    skipped: bool = False  # same inputs on both sides: not rendered
    errors: tuple[str, ...] = ()  # what could not be compared, one line each
    findings: tuple[Finding, ...] = ()
    sealed: bool = False  # secrets compared by ciphertext only (no key)

    @property
    def changed(self) -> bool:
        return any(c.kind not in UNCOUNTED for c in self.changes)


@dataclass(frozen=True)
class Review:
    base: str  # labels: short SHAs or 'working tree'
    head: str
    envs: tuple[EnvDiff, ...]
    sealed: bool  # no keys: secrets compared by ciphertext only
    fingerprints: bool  # secrets carry keyed fingerprints

    @property
    def changed(self) -> bool:
        return any(e.changed for e in self.envs)

    @property
    def errors(self) -> bool:
        return any(e.errors for e in self.envs)


# a rendered file: its documents (None: not YAML/JSON) and bytes (None: no bytes)
_File = tuple[list[Any] | None, bytes | None]


@dataclass(frozen=True, slots=True)
class _Side:
    """One environment at one revision: rendered files or what went wrong."""

    files: dict[str, _File]
    errors: dict[str, str]  # file or template -> message
    failed: str | None = None  # the whole environment could not be rendered


def options_for(project: Project, *, key: bytes | None) -> diff.Options:
    section = project.raw.get('diff') or {}
    rules = tuple(diff.IdentityRule(r['path'], r['key']) for r in section.get('identity', ()))
    # lists that layers merge by a key are naturally identified by it too
    rules += tuple(diff.IdentityRule(path, field) for path, field in project.merge)
    patterns = tuple(str(p) for p in (project.raw.get('secrets') or {}).get('key_patterns') or ())
    return diff.Options(identity=rules, key=key, embedded=parse_embedded, secret_keys=patterns)


def parse_embedded(text: str) -> Any:
    """TEXT as YAML when it holds a mapping or a list (a ConfigMap entry), else None."""
    from gitops_config import yaml_io

    try:
        docs = yaml_io.load_all(text, '(embedded)')
    except GitopsConfigError:
        return None
    if len(docs) == 1 and isinstance(docs[0], (dict, list)):
        return docs[0]
    return None


def inputs(source: Source, project: Project, env: str) -> dict[str, str]:
    """pipeline.inputs plus the schema files, which decide findings."""
    found = pipeline.inputs(source, project, env)
    schemas = project.raw.get('schemas') or {}
    for kind in ('values', 'rendered'):
        for entry in schemas.get(kind, ()):
            path = entry['schema']
            found[path] = source.blob_id(path) if source.exists(path) else ''
    return found


def compare(base: Source, head: Source, *, envs: Sequence[str] | None = None,
            sealed: bool | None = None, key: bytes | None = None, shard: Shard | None = None,
            jobs: int | None = None) -> Review:
    """Diff every environment (or ENVS) between BASE and HEAD.

    sealed=None decrypts when a key is available and falls back to sealed
    mode (ciphertext only) when not. KEY is the fingerprint key of this one
    report; a random one is made when secrets are decrypted.
    """
    base_project, head_project = projects(base, head)
    names = list(envs) if envs else _env_names(base_project, head_project)
    for name in names:
        if not (_has_env(head_project, name) or _has_env(base_project, name)):
            head_project.env(name)  # the error names the environments there are
    if key is None and sealed is not True:
        key = derived_key(head, head_project) or os.urandom(32)
    options = options_for(head_project, key=key)
    ignores = Ignores.from_project(head_project.raw)
    plans = [_plan(name, base, base_project, head, head_project, sealed=sealed, shard=shard)
             for name in names]
    opened = [p for p in plans if isinstance(p, _Plan)]
    sides = iter(_render_all([(rev, p.same, p.known) for p in opened for rev in (p.old, p.new)],
                             jobs=jobs if jobs is not None else workers.default_jobs()))
    results = tuple(
        plan if isinstance(plan, EnvDiff) else _compared(
            plan, next(sides), next(sides), base.label, head.label, options, ignores)
        for plan in plans
    )
    compared = [e for e in results if not e.skipped]
    return Review(base.label, head.label, results, sealed=any(e.sealed for e in compared),
                  fingerprints=any(not e.sealed for e in compared) and key is not None)


def projects(base: Source, head: Source) -> tuple[Project | None, Project]:
    """The project at BASE (None where the project file is new) and at HEAD, each
    rendering within the lower of their limits: a pull request cannot raise its own."""
    head_project = project_mod.load(head, getattr(head, 'root', None))
    base_project = _load_or_none(base, head_project)
    if base_project is None:
        return None, head_project
    limits = base_project.limits.stricter(head_project.limits)
    return (dataclasses.replace(base_project, limits=limits),
            dataclasses.replace(head_project, limits=limits))


def _load_or_none(source: Source, fallback: Project) -> Project | None:
    try:
        return project_mod.load(source, fallback.root)
    except FileMissingError:
        return None  # the project file is new in HEAD


def _env_names(base: Project | None, head: Project) -> list[str]:
    names = head.env_names()
    if base is not None:
        names += [n for n in base.env_names() if n not in names]
    return names


def can_decrypt(source: Source, project: Project, envs: Sequence[str] | None) -> bool:
    names = list(envs) if envs else project.env_names()
    names = [n for n in names if n in project.env_names()]
    try:
        for name in names:
            values_mod.merge(source, project, name, sealed=False)
    except GitopsConfigError as exc:
        if 'key' in exc.code:  # sops-no-key, sops-key-not-found: read sealed instead
            return False
    return True


def _has_env(project: Project | None, env: str) -> bool:
    return project is not None and env in project.env_names()


@dataclass
class _Plan:
    """One environment to diff, opened at both revisions but not rendered yet."""

    env: str
    causes: tuple[Cause, ...]
    sealed: bool
    old: _Revision
    new: _Revision
    same: set[str]  # templates that render the same on both sides
    known: snapshot_mod.Snapshot  # a snapshot of either side, for SAME
    readers: list[Change] = field(default_factory=list)  # recipients that changed


def _plan(env: str, base: Source, base_project: Project | None, head: Source,
          head_project: Project, *, sealed: bool | None, shard: Shard | None,
          ) -> _Plan | EnvDiff:
    before = inputs(base, base_project, env) if (
        base_project is not None and _has_env(base_project, env)) else {}
    after = inputs(head, head_project, env) if _has_env(head_project, env) else {}
    project = head_project if _has_env(head_project, env) else base_project
    assert project is not None
    causes = tuple(sorted(_cause(project, env, p) for p in before.keys() | after.keys()
                          if before.get(p, '') != after.get(p, '')))
    encrypted = _encrypted_files(env, base, base_project, head, head_project)
    if not causes and not encrypted:
        return EnvDiff(env, [], skipped=True)
    if sealed is None:
        # per environment: dev's demo key may be at hand while prod's is not
        sealed = not (_has_env(head_project, env) and can_decrypt(head, head_project, [env]))
    readers = _readers(env, base, head, encrypted)
    if not causes:
        # only encrypted files changed: who reads them, and whether a committed
        # output still holds what its (unchanged) inputs render to
        changes, errors = _outputs(env, head, head_project, encrypted, sealed, causes)
        return EnvDiff(env, readers + changes, errors=errors, sealed=sealed)
    old = _open(base, base_project, env, sealed=sealed, shard=shard)
    new = _open(head, head_project, env, sealed=sealed, shard=shard)
    return _Plan(env, causes, sealed, old, new, _same_outputs(old, new),
                 old.snapshot or new.snapshot or {}, readers)


def _compared(plan: _Plan, old: _Side, new: _Side, base: str, head: str,
              options: diff.Options, ignores: Ignores) -> EnvDiff:
    errors = [f'{base}: {old.failed}'] if old.failed else []
    errors += [f'{head}: {new.failed}'] if new.failed else []
    errors += [f'{base}: {m}' for m in old.errors.values()]
    errors += [f'{head}: {m}' for m in new.errors.values()]
    changes: list[Change] = []
    if old.failed is None and new.failed is None:
        for path in sorted(old.files.keys() | new.files.keys()):
            if path in old.errors or path in new.errors:
                continue
            changes += _diff_file(plan.env, path, old.files.get(path), new.files.get(path),
                                  options)
    kept, ignored = ignores.split(plan.readers + changes)
    return EnvDiff(plan.env, kept, ignored, plan.causes, errors=tuple(errors),
                   sealed=plan.sealed)


def _encrypted_files(env: str, base: Source, base_project: Project | None, head: Source,
                     head_project: Project) -> list[str]:
    """ENV's encrypted layers and committed outputs whose bytes differ between BASE and
    HEAD (encrypted on either side)."""
    from gitops_config import sops

    paths: set[str] = set()
    for project, source in ((base_project, base), (head_project, head)):
        if project is not None and _has_env(project, env):
            paths.update(project.env(env).layers)
            paths.update(source.files(project.output_dir(env)))
    found = []
    for path in sorted(paths):
        if _blob(base, path) == _blob(head, path):
            continue  # most files: told apart by their blob SHAs, never read
        sides = [s.read(path) if s.exists(path) else None for s in (base, head)]
        if any(d is not None and sops.is_encrypted(d) for d in sides):
            found.append(path)
    return found


def _blob(source: Source, path: str) -> str | None:
    return source.blob_id(path) if source.exists(path) else None


def _readers(env: str, base: Source, head: Source, paths: list[str]) -> list[Change]:
    """Who can read each of PATHS, where that changed: a change to review like any."""
    from gitops_config import recipients

    changes = []
    for path in paths:
        old, new = (recipients.of_file(s.read(path), path) if s.exists(path) else None
                    for s in (base, head))
        change = recipients.compared(path, old, new)
        if change is not None:
            changes.append(Change(env, path, READERS, ChangeKind.CHANGED, ', '.join(old or ()),
                                  ', '.join(new or ()), detail=change.summary()))
    return changes


def _outputs(env: str, head: Source, project: Project, paths: list[str], sealed: bool,
             causes: tuple[Cause, ...]) -> tuple[list[Change], tuple[str, ...]]:
    """The committed outputs among PATHS whose ciphertext changed, checked against what
    HEAD renders: with a key, by their plaintext (an error where they differ); without
    one, each is UNVERIFIABLE, a change to review, never 'unchanged'."""
    from gitops_config import outputs as outputs_mod

    out = project.output_dir(env) + '/' if _has_env(project, env) else None
    moved = [p for p in paths if out is not None and p.startswith(out) and head.exists(p)]
    if not moved:
        return [], ()
    if sealed:
        detail = 'committed file: ' + outputs_mod.UNVERIFIABLE
        kind = ChangeKind.RESEALED if causes else ChangeKind.CHANGED
        return [Change(env, p, '', kind, secret=True,
                       detail=detail + (' (its inputs changed too)' if causes else ''))
                for p in moved], ()
    try:
        render = pipeline.render_one(head, project, env, sealed=True)
    except GitopsConfigError as exc:
        return [], (f'{head.label}: {exc.one_line()}',)
    stale = [s for s in outputs_mod.check(project, head, render) if s.path in moved]
    return [], tuple(f'{head.label}: {s.path}: committed output does not match its inputs '
                     f'({s.reason})' for s in stale)


def _cause(project: Project, env: str, path: str) -> Cause:
    if path == C.PROJECT_FILE:
        return Cause(path, 'project')
    if path == C.SOPS_CONFIG_FILE:
        return Cause(path, 'sops-rules')
    if path in project.env(env).layers:
        return Cause(path, 'layer')
    templates = (project.templates or '').rstrip('/') + '/'
    return Cause(path, 'template' if path.startswith(templates) else 'schema')


def _diff_file(env: str, path: str, old: _File | None,
               new: _File | None, options: diff.Options,
               ) -> list[Change]:
    if old is not None and new is not None and old[1] is not None and old[1] == new[1]:
        return []  # same bytes: same documents, nothing to walk
    old_docs = None if old is None else old[0]
    new_docs = None if new is None else new[0]
    if (old is None or old_docs is not None) and (new is None or new_docs is not None):
        return diff.diff_documents(old_docs, new_docs, env=env, file=path, options=options)
    return [text_change(env, path, old, new)]


def text_change(env: str, path: str, old: _File | None,
                 new: _File | None) -> Change:
    """A file that is not YAML or JSON: say how much changed, never what."""
    if old is None or new is None:
        kind = ChangeKind.ADDED if old is None else ChangeKind.REMOVED
        return Change(env, path, '', kind, detail=f'file {kind.value}')
    a = (old[1] or b'').decode(errors='replace').splitlines()
    b = (new[1] or b'').decode(errors='replace').splitlines()
    plus = minus = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != 'equal':
            minus += i2 - i1
            plus += j2 - j1
    return Change(env, path, '', ChangeKind.CHANGED, detail=f'text: +{plus} -{minus} lines')


@dataclass
class _Revision:
    """One environment at one revision, before rendering: its values, templates and
    snapshot (which templates render to what)."""

    project: Project | None
    values: Values | None = None
    failed: str | None = None
    templates: list[render_mod.Template] = field(default_factory=list)
    key: str | None = None  # its snapshot's key (None: no templates, or no cache)
    snapshot: snapshot_mod.Snapshot | None = None
    values_share: bool = True  # without templates: whether this shard diffs the values


def _open(source: Source, project: Project | None, env: str, *, sealed: bool,
          shard: Shard | None) -> _Revision:
    if project is None or env not in project.env_names():
        return _Revision(None)
    try:
        values = values_mod.merge(source, project, env, sealed=sealed)
    except GitopsConfigError as exc:
        if sealed or 'key' not in exc.code:
            return _Revision(project, failed=exc.one_line())
        # the keys at hand open the other side, not this one (its recipients changed):
        # this side's secrets are compared sealed
        sealed = True
        values = values_mod.merge(source, project, env, sealed=True)
    if project.templates is None:
        # the values diff is one unit of work: shard 1's
        return _Revision(project, values, values_share=shard is None or shard.index == 1)
    templates = render_mod.templates(source, project)
    if shard is not None:
        templates = shard.take(templates)
    key = snapshot_mod.key(env, pipeline.inputs(source, project, env), sealed=sealed,
                           shard=shard) if cache.default().enabled else None
    return _Revision(project, values, None, templates, key,
                     snapshot_mod.load(key) if key is not None else None)


def _same_outputs(old: _Revision, new: _Revision) -> set[str]:
    """Templates that render the same on both sides, found without rendering: both
    snapshots agree, or one is known and what its templates read did not change."""
    if old.values is None or new.values is None:
        return set()
    if old.snapshot is not None and new.snapshot is not None:
        return {t for t, entry in new.snapshot.items() if old.snapshot.get(t) == entry}
    known, other = (old, new) if old.snapshot is not None else (new, old)
    if known.snapshot is None or known.values is None or other.values is None:
        return set()
    return snapshot_mod.unaffected(known.snapshot, {t.path: t.blob for t in other.templates},
                                   _changed_values(known.values, other.values))


def _changed_values(a: Values, b: Values) -> list[snapshot_mod.Path]:
    """Paths at which A and B may differ. Where both merge the same layer files by the
    same rules, they are found in the layers that differ, once per layer however
    many environments share it (up to the first list: merging by a key moves items)."""
    if (a.layers, a.merge_rules) != (b.layers, b.merge_rules):
        return snapshot_mod.changed_paths(a.data, b.data)
    found: list[snapshot_mod.Path] = []
    for old, new in zip(a.loaded, b.loaded, strict=True):
        if old is new:
            continue  # the same blob: one shared Layer
        memo = _LAYER_CHANGES.get((id(old), id(new)))
        if memo is None or memo[0] is not old or memo[1] is not new:
            paths = [next((path[:i] for i, step in enumerate(path) if isinstance(step, int)),
                          path) for path in snapshot_mod.changed_paths(old.data, new.data)]
            memo = _LAYER_CHANGES[(id(old), id(new))] = (old, new, paths)
        found += memo[2]
    return found


# (id(old), id(new)) -> (old, new, their changed paths); holding the layers keeps ids unique
_LAYER_CHANGES: dict[tuple[int, int], tuple[Any, Any, list[snapshot_mod.Path]]] = (
    cache.memo())


def _render_all(sides: Sequence[tuple[_Revision, set[str], snapshot_mod.Snapshot]], *,
                jobs: int) -> list[_Side]:
    """Each (revision, SAME, KNOWN) rendered but for the templates in SAME, on one pool
    for every environment and both revisions. What a revision's own snapshot vouches
    for is read back here meanwhile. A revision without a snapshot gets one: KNOWN's
    entries for SAME, and what was rendered."""
    work = [_work(rev, same) for rev, same, _ in sides]
    collect = workers.start_groups([(w.todo, w.prepared) for w in work if w is not None],
                                   jobs=jobs)
    try:
        for w, (rev, _, _) in zip(work, sides, strict=True):
            if w is not None and rev.snapshot is not None:
                w.kept = {t.path: found for t in w.templates if t.path in rev.snapshot and (
                    found := render_mod.vouched(t, w.prepared, rev.snapshot[t.path].digest))}
    finally:
        fresh = iter(collect())
    # what a snapshot vouched for but could not be read back (pruned, or another
    # run's output since): rendered now
    retry = [(w, missed) for w in work if w is not None and (missed := w.missed())]
    again = iter(workers.start_groups([(missed, w.prepared) for w, missed in retry],
                                      jobs=jobs)())
    retried = {id(w): dict(zip([t.path for t in missed], next(again), strict=True))
               for w, missed in retry}
    sides_out = []
    for w, (rev, same, known) in zip(work, sides, strict=True):
        if w is None:
            sides_out.append(_unrendered(rev))
            continue
        done = {**dict(zip([t.path for t in w.todo], next(fresh), strict=True)), **w.kept,
                **retried.get(id(w), {})}
        outcomes = [done[t.path] for t in w.templates]
        if rev.key is not None and rev.snapshot is None:
            borrowed = {t: known[t] for t in same}
            snapshot_mod.save(rev.key, {**borrowed,
                                        **snapshot_mod.entries(w.templates, outcomes)})
        sides_out.append(_side(rev, w.templates, outcomes))
    return sides_out


@dataclass
class _Work:
    templates: list[render_mod.Template]  # what one revision renders
    prepared: render_mod.Prepared
    todo: list[render_mod.Template]  # what its snapshot does not vouch for
    kept: dict[str, render_mod.RenderedFile] = field(default_factory=dict)

    def missed(self) -> list[render_mod.Template]:
        todo = {t.path for t in self.todo}
        return [t for t in self.templates if t.path not in todo and t.path not in self.kept]


def _work(rev: _Revision, same: set[str]) -> _Work | None:
    if rev.failed is not None or rev.project is None or rev.values is None or (
            rev.project.templates is None):
        return None
    templates = [t for t in rev.templates if t.path not in same]
    vouched = rev.snapshot or {}
    return _Work(templates, render_mod.prepare(rev.values, rev.project.limits),
                 [t for t in templates if t.path not in vouched])


def _unrendered(rev: _Revision) -> _Side:
    """A revision that renders nothing: it failed, lacks the environment, or has no
    templates (its values are the one file to diff)."""
    if rev.failed is not None:
        return _Side({}, {}, failed=rev.failed)
    if rev.project is None or rev.values is None:
        return _Side({}, {})
    return _Side({VALUES_FILE: ([rev.values.data], None)} if rev.values_share else {}, {})


def _side(rev: _Revision, templates: Sequence[render_mod.Template],
          outcomes: Sequence[workers.Outcome]) -> _Side:
    assert rev.project is not None
    assert rev.values is not None
    secrets = [s for s in rev.values.secrets() if isinstance(s, Secret)]
    files: dict[str, _File] = {}
    errors: dict[str, str] = {}
    for template, outcome in zip(templates, outcomes, strict=True):
        if isinstance(outcome, GitopsConfigError):
            # a template error may quote a value it choked on: scrub plaintexts
            errors[_output_name(rev.project, template.path)] = scrub(outcome.one_line(),
                                                                     secrets)
        else:
            files[outcome.path] = (outcome.documents, outcome.content)
    return _Side(files, errors)


def _output_name(project: Project, template: str) -> str:
    root = (project.templates or '').rstrip('/')
    rel = template[len(root) + 1:] if root and template.startswith(root + '/') else template
    return rel.removesuffix(render_mod.TEMPLATE_SUFFIX)



class NoMergeBaseError(GitopsConfigError):
    code = 'no-merge-base'


def open_revisions(start: Path, base: str | None, head: str | None,
                   ) -> tuple[Source, Source]:
    """BASE and HEAD of the project at START, read from git objects.

    HEAD None is the working tree (in a bare clone, which has none: HEAD); BASE None
    is the merge-base of HEAD with the default branch (origin/HEAD, origin/main...).
    """
    from gitops_config.source import GitTree
    from gitops_config.source import WorkTree
    from gitops_config.workspace import locate

    found = locate(start)
    repo, root, prefix = found.repo, found.root, found.prefix
    if head is None and repo.bare:
        head = 'HEAD'
    head_commit = repo.resolve(head) if head is not None else None
    if base is None:
        branch = repo.default_branch()
        if branch is None:
            raise NoMergeBaseError('no default branch to compare with',
                                   hint='name the base revision: gitops-config diff BASE')
        tip = head_commit or repo.resolve('HEAD')
        base_commit = repo.merge_base(repo.resolve(branch), tip)
        if base_commit is None:
            raise NoMergeBaseError(
                f'{branch} and {tip[:12]} have no common history (unrelated histories)',
                hint='name the base revision explicitly, or fetch the full history '
                     '(actions/checkout with fetch-depth: 0)')
    else:
        base_commit = repo.resolve(base)
    head_source: Source = (GitTree(repo, head_commit, prefix) if head_commit is not None
                           else WorkTree(root))
    return GitTree(repo, base_commit, prefix), head_source


def derived_key(source: Source, project: Project) -> bytes | None:
    """A fingerprint key only key holders can compute: from the SOPS data keys.

    Stable from run to run (so JSON reports are byte-for-byte repeatable and
    a PR comment's fingerprints stay put) until a data key is rotated; None
    when no encrypted layer can be opened.
    """
    return fingerprint_from(data_keys(source, project))


def fingerprint_from(keys: Sequence[tuple[str, bytes | None]]) -> bytes | None:
    """derived_key from data_keys already read."""
    import hashlib
    import hmac

    found = [key for _, key in keys if key is not None]
    if not found:
        return None
    return hmac.new(b'gitops-config fingerprint key v1', b''.join(sorted(found)),
                    hashlib.sha256).digest()


def data_keys(source: Source, project: Project) -> list[tuple[str, bytes | None]]:
    """Each encrypted layer of PROJECT with its SOPS data key, None where no key at hand
    opens it (its secrets are then compared sealed). Secret: never print or keep."""
    from gitops_config import sops

    found: list[tuple[str, bytes | None]] = []
    for path in sorted({p for env in project.environments for p in env.layers}):
        if not source.exists(path):
            continue
        data = source.read(path)
        if not sops.is_encrypted(data):
            continue
        # imported only now: the ciphers cost a start-up that plaintext projects skip
        from gitops_config.sops import engine
        from gitops_config.sops import keys

        try:
            found.append((path, keys.data_key(engine.parse(data, path).meta, path)))
        except GitopsConfigError:
            found.append((path, None))
    return found


def fingerprint_key() -> bytes | None:
    """A fixed fingerprint key from GITOPS_CONFIG_FINGERPRINT_KEY (reproducible reports)."""
    text = os.environ.get('GITOPS_CONFIG_FINGERPRINT_KEY')
    return text.encode() if text else None
