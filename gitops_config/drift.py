"""Drift: the desired state (rendered at a revision) against the live state.

The live state is a folder (an environment's output, as `render --out` writes
it), one file, or what a command printed (`kubectl get ... -o yaml`). A folder's
files are compared with the rendered files of the same paths, one file with
the rendered file its path ends with (or the one `--as` names). Kubernetes
objects, alone or in a `kind: List`, are compared with the rendered document
of the same apiVersion, kind, namespace and name, through kube.py's rules (what
only the API server added is not drift); a ConfigMap no rendered document
declares stands for the rendered files its data entries are named after.

A SOPS-encrypted live file is opened with the keys at hand, else compared by
its sealed shape (which leaves are encrypted); its `sops:` metadata is never a
value. Secrets are never shown: a live value where a secret is desired is
masked whatever it holds, and so is any value the secrets pack flags as a
plaintext secret. The project's ignore rules apply, as they do to diffs.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import shlex
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import constants as C
from gitops_config import diff
from gitops_config import history
from gitops_config import keypath
from gitops_config import kube
from gitops_config import process
from gitops_config import project as project_mod
from gitops_config import revision
from gitops_config import sops
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import InvalidYamlError
from gitops_config.git import RefNotFoundError
from gitops_config.git import Repo
from gitops_config.ignore import Ignored
from gitops_config.ignore import IgnoreRule
from gitops_config.ignore import Ignores
from gitops_config.manifest import NAME
from gitops_config.masking import conceal
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.pipeline import rendering
from gitops_config.pipeline.file_diff import VALUES_FILE
from gitops_config.pipeline.file_diff import options_for
from gitops_config.pipeline.file_diff import parse_embedded
from gitops_config.pipeline.file_diff import text_change
from gitops_config.pipeline.fingerprint_key import derived_key
from gitops_config.pipeline.keys_at_hand import can_decrypt
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.render import RenderedFile

if TYPE_CHECKING:
    from gitops_config.project import Project
    from gitops_config.run import Run
    from gitops_config.source import Source


class LiveStateError(GitopsConfigError):
    code = 'live-state'


@dataclass(frozen=True)
class LiveFile:
    """One live file, or a ConfigMap entry standing for one."""

    name: str
    docs: list[Any] | None  # None: not YAML or JSON
    raw: bytes | None = None
    exact: bool = True  # NAME is the rendered path; else the rendered path NAME ends with
    encrypted: bool = False  # a SOPS file
    shape: bool = False  # a SOPS file we cannot open: its ENC[] leaves are SealedSecret
    tampered: str | None = None  # why the SOPS file is not as sops wrote it


@dataclass(frozen=True)
class Live:
    """The observed state: files, and Kubernetes objects."""

    label: str
    files: tuple[LiveFile, ...] = ()
    objects: tuple[Any, ...] = ()
    complete: bool = False  # a folder: a rendered file missing here is drift


@dataclass(frozen=True)
class DriftReport:
    env: str
    ref: str  # the commit the desired state was rendered at
    live: str
    changes: list[Change]
    ignored: list[Ignored]
    last_set: dict[tuple[str, str], str]  # (file, path) -> commit that last set the value
    not_compared: int = 0  # secrets sealed on one side: no key to compare with
    # what only the API server added or re-encoded (kube.py's built-in rules)
    server: list[Ignored] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # desired, not in the live state
    unknown: list[str] = field(default_factory=list)  # live, not in the desired state

    @property
    def drifted(self) -> bool:
        return bool(self.changes)


# -- reading the live state -------------------------------------------------


def read_live_path(path: Path, *, as_file: str | None = None) -> Live:
    if path.is_dir():
        if as_file is not None:
            raise LiveStateError(
                f'--as names one rendered file; {path} is a folder',
                hint="drop --as: a folder's files are matched by path",
            )

        files = []
        for item in sorted(p for p in path.rglob('*') if p.is_file() and p.name != NAME):
            rel = item.relative_to(path)
            if '.git' in rel.parts:
                continue
            files.append(_live_file(rel.as_posix(), item.read_bytes()))
        return Live(str(path), tuple(files), complete=True)
    if not path.is_file():
        raise LiveStateError(f'{path}: no such file or folder')
    return _from_one(
        str(path), _live_file(path.as_posix(), path.read_bytes(), exact=False), as_file
    )


def read_live_command(command: str, *, name: str | None = None, timeout: float = 120.0) -> Live:
    """What COMMAND prints: Kubernetes objects, or plain YAML/JSON that stands for
    the rendered file NAME."""
    argv = shlex.split(command)
    if not argv:
        raise LiveStateError('the live command is empty')
    done = process.run(argv, check=False, timeout=timeout)
    if done.returncode != 0:
        err = done.stderr.decode(errors='replace').strip().splitlines()
        raise LiveStateError(
            f'live command failed (exit {done.returncode}): {argv[0]}: '
            f'{err[-1] if err else "no output"}',
            hint='run the command by hand to see why',
        )
    if not done.stdout.strip():
        raise LiveStateError(f'live command printed nothing: {argv[0]}')
    live = _live_file(f'output of {argv[0]}', done.stdout, exact=False)
    if live.docs is None:
        raise LiveStateError(
            f'live state output of {argv[0]} is not YAML or JSON',
            hint='pass -o yaml (or -o json) to kubectl',
        )
    if name is None and not _objects(live.docs):
        raise LiveStateError(
            f'live state `{argv[0]}` holds no Kubernetes object',
            hint='for plain YAML or JSON, name the rendered file it stands '
            'for with --as FILE (e.g. --as litellm/config.yaml)',
        )
    return _from_one(f'`{argv[0]}`', live, name)


def _from_one(label: str, live: LiveFile, as_file: str | None) -> Live:
    if as_file is not None:
        return Live(label, (dataclasses.replace(live, name=as_file, exact=True),))
    objects = _objects(live.docs)
    if objects and not live.encrypted:  # the sealed shape is checked file by file
        return Live(label, objects=tuple(objects))
    return Live(label, (live,))


def _objects(docs: list[Any] | None) -> list[Any]:
    """DOCS as Kubernetes objects (a List unpacked), or [] when they are something else."""
    items = kube.unpack(docs or [])
    return items if items and all(kube.object_id(d) is not None for d in items) else []


def _live_file(name: str, raw: bytes, *, exact: bool = True) -> LiveFile:
    if sops.is_encrypted(raw):
        return _sops_file(name, raw, exact)
    try:
        docs = [d for d in yaml_io.load_all(raw, name) if d is not None]
    except InvalidYamlError:
        return LiveFile(name, None, raw, exact)
    return LiveFile(name, docs, raw, exact)


def _sops_file(name: str, raw: bytes, exact: bool) -> LiveFile:
    """A SOPS file opened with the keys at hand; without one (or when it is no longer
    a valid sops file), its shape: ENC[] leaves sealed, the rest as written."""
    where = name if posixpath.splitext(name)[1] else f'{name}.yaml'
    tampered = None
    try:
        try:
            opened = sops.open_values(raw, where, sealed=False)
        except sops.MacMismatchError:
            tampered = 'sops MAC mismatch: the live file was edited outside sops'
            opened = sops.open_values(raw, where, sealed=False, ignore_mac=True)
    except sops.NoKeyError:
        return LiveFile(name, _sealed_view(raw, name), raw, exact, True, True)
    except sops.SopsError as exc:
        return LiveFile(
            name,
            _sealed_view(raw, name),
            raw,
            exact,
            True,
            True,
            f'not a valid sops file any more: {exc.message}',
        )
    docs = opened if isinstance(opened, list) else [opened]
    return LiveFile(name, docs, raw, exact, True, False, tampered)


def _sealed_view(raw: bytes, name: str) -> list[Any]:
    def seal(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: seal(v) for k, v in node.items()}
        if isinstance(node, list):
            return [seal(v) for v in node]
        if isinstance(node, str) and node.startswith('ENC['):
            return SealedSecret(node)
        return node

    try:
        docs = yaml_io.load_all(raw, name)
    except InvalidYamlError as exc:
        raise LiveStateError(f'live state {name} is not YAML or JSON: {exc.message}') from None
    return [
        seal({k: v for k, v in d.items() if k != 'sops'} if isinstance(d, dict) else d)
        for d in docs
        if d is not None
    ]


# -- comparing --------------------------------------------------------------


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    server: list[Ignored] = field(default_factory=list)
    not_compared: int = 0
    absent: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    matched: int = 0  # live files and objects that something desired stands for


class _Comparer:
    def __init__(self, env: str, ignores: Ignores, options: diff.Options) -> None:
        self.env = env
        self.ignores = ignores
        self.options = options
        self.out = Outcome()

    def keep(self, change: Change, *, kind: str | None = None, k8s: bool = False) -> None:
        rule = self.ignores.rule_for(change) if self.ignores.rules else None
        if rule is not None and not rule.compare:
            self.out.ignored.append(Ignored(change, rule))
            return
        why = kube.server_rule(change, kind) if k8s and rule is None else None
        if why is not None:
            self.out.server.append(Ignored(change, IgnoreRule(change.path, why)))
        else:
            self.out.changes.append(change)

    def pair(
        self, file: str, desired: Any, live: Any, document: str | None, *, shape: bool = False
    ) -> None:
        """One desired document against its live counterpart (SHAPE: a SOPS file we
        could not open, where a leaf is either encrypted or not)."""
        k8s = kube.object_id(desired) is not None and kube.object_id(live) is not None
        kind = desired.get('kind') if k8s else None
        if k8s:
            live = kube.normalize(desired, live)
        patterns = self.options.secret_keys
        wanted = conceal(_parsed(desired), patterns=patterns)
        if kind == 'Secret':  # its data is secret, even where the manifest spells it out
            wanted = _secret_data(wanted)
        seen, sealed = _align(
            wanted, _parsed(live), secret=False, secret_kind=kind == 'Secret', shape=shape
        )
        if k8s:
            seen = _masked_last_applied(seen)
        seen = conceal(seen, patterns=patterns)
        self.out.not_compared += sealed
        for change in diff.diff_values(
            wanted, seen, env=self.env, file=file, document=document, options=self.options
        ):
            if change.kind is ChangeKind.RESEALED:  # sealed desired, plain live (SHAPE)
                change = dataclasses.replace(
                    change, kind=ChangeKind.CHANGED, detail='not encrypted in the live state'
                )
            self.keep(change, kind=kind, k8s=k8s)

    def file(self, desired: RenderedFile, live: LiveFile) -> None:
        self.out.matched += 1
        if live.tampered:
            self.keep(Change(self.env, desired.path, '', ChangeKind.CHANGED, detail=live.tampered))
        if desired.documents is None:  # a text file: how much differs, never what
            if live.raw != desired.content:
                self.keep(
                    text_change(self.env, desired.path, (None, desired.content), (None, live.raw))
                )
            return
        if live.docs is None:
            self.keep(
                Change(
                    self.env,
                    desired.path,
                    '',
                    ChangeKind.CHANGED,
                    detail='not YAML or JSON in the live state',
                )
            )
            return
        wanted, seen = desired.documents, live.docs
        if len(wanted) <= 1 and len(seen) <= 1:
            self.pair(
                desired.path,
                wanted[0] if wanted else None,
                seen[0] if seen else None,
                None,
                shape=live.shape,
            )
            return
        ids_a = _document_ids(wanted)
        ids_b = _document_ids(seen)
        by_b = dict(zip(ids_b, seen, strict=True))
        for ident, doc in zip(ids_a, wanted, strict=True):
            if ident in by_b:
                self.pair(desired.path, doc, by_b.pop(ident), ident, shape=live.shape)
            else:
                self.keep(
                    Change(
                        self.env,
                        desired.path,
                        '',
                        ChangeKind.REMOVED,
                        self.shown(doc),
                        None,
                        False,
                        'document missing in the live state',
                        document=ident,
                    )
                )
        for ident, doc in by_b.items():
            self.keep(
                Change(
                    self.env,
                    desired.path,
                    '',
                    ChangeKind.ADDED,
                    None,
                    self.shown(doc),
                    True,
                    'document not in the desired state',
                    document=ident,
                )
            )

    def shown(self, doc: Any) -> Any:
        """A whole document as a report may show it: a Secret's data masked, and every
        value the secrets pack flags."""
        if kube.object_id(doc) is not None and doc.get('kind') == 'Secret':
            doc = _secret_data(doc)
        return diff.mask(doc, self.options.key, patterns=self.options.secret_keys)


def _document_ids(docs: list[Any]) -> list[str]:
    ids = [diff.document_id(d, i) for i, d in enumerate(docs)]
    return ids if len(set(ids)) == len(ids) else [f'#{i}' for i in range(len(docs))]


def compare(
    env: str, rendered: list[RenderedFile], live: Live, ignores: Ignores, options: diff.Options
) -> Outcome:
    """The drift between RENDERED files and LIVE, after the ignore rules."""
    comparer = _Comparer(env, ignores, options)
    out = comparer.out
    seen_files: set[str] = set()
    loose: list[LiveFile] = []
    for item in live.files:
        target = _target(item, rendered)
        if target is None:
            if live.complete:
                comparer.keep(
                    Change(env, item.name, '', ChangeKind.ADDED, detail='not in the desired state')
                )
            else:
                loose.append(item)
            continue
        seen_files.add(target.path)
        comparer.file(target, item)
    objects = [
        (f, i, doc, oid)
        for f in rendered
        for i, doc in enumerate(f.documents or [])
        if (oid := kube.object_id(doc)) is not None
    ]
    found: set[tuple[str, int]] = set()
    for obj in live.objects:
        oid = kube.object_id(obj)
        assert oid is not None  # only objects get here
        hit = next(((f, i, doc) for f, i, doc, want in objects if kube.matches(want, oid)), None)
        if hit is not None:
            out.matched += 1
            found.add((hit[0].path, hit[1]))
            comparer.pair(hit[0].path, hit[2], obj, diff.document_id(hit[2], hit[1]))
            continue
        entries = _entries(obj) if oid.kind == 'ConfigMap' else []
        matched = [(t, e) for e in entries if (t := _target(e, rendered)) is not None]
        for target, entry in matched:
            seen_files.add(target.path)
            comparer.file(target, entry)
        if not matched:
            out.unknown.append(str(oid))
    if live.complete:
        for f in rendered:
            if f.path not in seen_files:
                comparer.keep(
                    Change(env, f.path, '', ChangeKind.REMOVED, detail='missing in the live state')
                )
    elif live.objects:
        out.absent += [str(oid) for f, i, _, oid in objects if (f.path, i) not in found]
    if not out.matched:
        raise _nothing_matched(env, live, rendered, loose)
    out.unknown += [item.name for item in loose]
    return out


def _target(item: LiveFile, rendered: list[RenderedFile]) -> RenderedFile | None:
    """The rendered file ITEM stands for: its path, or the one its path ends with
    (the longest; a bare file name must name just one)."""
    if item.exact:
        return next((f for f in rendered if f.path == item.name), None)
    name = item.name.replace('\\', '/')
    tails = [f for f in rendered if name == f.path or name.endswith('/' + f.path)]
    if tails:
        return max(tails, key=lambda f: len(f.path))
    base = posixpath.basename(name)
    same = [f for f in rendered if posixpath.basename(f.path) == base]
    if len(same) > 1:
        raise LiveStateError(
            f'live file {item.name} could stand for any of {", ".join(f.path for f in same)}',
            hint='name the one it stands for with --as FILE',
        )
    return same[0] if same else None


def _entries(configmap: dict[str, Any]) -> list[LiveFile]:
    """A ConfigMap's data entries, each standing for the rendered file of its name."""
    out = []
    for key, text in (configmap.get('data') or {}).items():
        docs: list[Any] | None = [text]
        raw = text.encode() if isinstance(text, str) else None
        if isinstance(text, str):
            try:
                docs = [d for d in yaml_io.load_all(text, key) if d is not None]
            except InvalidYamlError:
                docs = None
        out.append(LiveFile(str(key), docs, raw, exact=False))
    return out


def _nothing_matched(
    env: str, live: Live, rendered: list[RenderedFile], loose: list[LiveFile]
) -> LiveStateError:
    """LIVE has nothing that ENV's desired state has: name what was expected."""
    files = [f.path for f in rendered]
    objects = [
        str(oid)
        for f in rendered
        for d in f.documents or []
        if (oid := kube.object_id(d)) is not None
    ]
    expected = f'the files {", ".join(files) or "(none)"}'
    if objects:
        expected += f' or the Kubernetes objects {", ".join(objects)}'
    hint = 'check the path, or name the rendered file with --as FILE'
    if live.complete and Path(live.label, env).is_dir():
        hint = f"pass the environment's folder: --live {Path(live.label, env)}"
    what = loose[0].name if len(loose) == 1 and not live.complete else live.label
    return LiveStateError(
        f'live state {what} matches nothing rendered for {env}: expected {expected}', hint=hint
    )


def _parsed(node: Any) -> Any:
    """NODE with every multi-line string that holds YAML (a ConfigMap's data entry)
    parsed, so that secrets inside are found and masked like any other value."""
    if isinstance(node, dict):
        return {k: _parsed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_parsed(v) for v in node]
    if isinstance(node, str) and '\n' in node:
        inner = parse_embedded(node)
        return _parsed(inner) if inner is not None else node
    return node


def _secret_data(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _everything_secret(v) if k in kube.DATA_KEYS['Secret'] else v for k, v in obj.items()
    }


def _everything_secret(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _everything_secret(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_everything_secret(v) for v in node]
    if node is None or isinstance(node, (Secret, SealedSecret)):
        return node
    return Secret(node)


def _align(
    desired: Any, live: Any, *, secret: bool, secret_kind: bool = False, shape: bool = False
) -> tuple[Any, int]:
    """LIVE with its values wrapped as secrets wherever DESIRED holds a secret, and
    the number of secrets that could not be compared.

    A desired secret we cannot open (sealed), or a live one (encrypted to keys we
    do not hold), cannot be compared: the live side takes the desired value (no
    change) and is counted. With SHAPE (a SOPS file we could not open) a plain
    live value where a secret is desired is drift, shown masked. Everything under
    a live Secret's data is a secret.
    """
    if isinstance(live, SealedSecret):
        # even where a plain value is desired: the render taints any text equal to a
        # secret, which a render without the key cannot know
        return (live, 0) if desired is None else (desired, 1)
    if isinstance(desired, SealedSecret) and not shape:
        return desired, 1
    if (
        isinstance(live, Secret)
        and not isinstance(desired, (Secret, SealedSecret))
        and (type(live.reveal()) is type(desired) and live.reveal() == desired)
    ):
        # render encrypts by key name (encrypted_regex): a plain leaf that shares a
        # secret's key name comes back encrypted, with the value it was written with
        return desired, 0
    if isinstance(desired, (Secret, SealedSecret)) or (
        secret and not isinstance(live, (dict, list))
    ):
        if isinstance(live, Secret) or (
            not isinstance(desired, (Secret, SealedSecret))
            and live == desired
            and type(live) is type(desired)
        ):
            return live, 0
        return _everything_secret(live), 0
    if isinstance(live, dict):
        out: dict[Any, Any] = {}
        total = 0
        for k, v in live.items():
            child = desired.get(k) if isinstance(desired, dict) else None
            under = secret or (secret_kind and k in ('data', 'stringData'))
            out[k], n = _align(child, v, secret=under, shape=shape)
            total += n
        return out, total
    if isinstance(live, list):
        items = []
        total = 0
        for i, v in enumerate(live):
            child = desired[i] if isinstance(desired, list) and i < len(desired) else None
            item, n = _align(child, v, secret=secret, shape=shape)
            items.append(item)
            total += n
        return items, total
    return live, 0


def _masked_last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    """The last-applied annotation copies the whole manifest (a Secret's stringData in
    plaintext): never shown, even where a rule compares it."""
    meta = obj.get('metadata')
    notes = meta.get('annotations') if isinstance(meta, dict) else None
    if not isinstance(notes, dict) or kube.LAST_APPLIED not in notes:
        return obj
    notes = {**notes, kube.LAST_APPLIED: _everything_secret(notes[kube.LAST_APPLIED])}
    assert isinstance(meta, dict)
    return {**obj, 'metadata': {**meta, 'annotations': notes}}


# -- the command ------------------------------------------------------------


def desired_ref(repo: Repo, env: str) -> str:
    """The commit recorded by `mark-deployed ENV`, else HEAD."""
    try:
        return repo.resolve(f'refs/tags/{C.DEPLOYED_TAG_PREFIX}{env}')
    except RefNotFoundError:
        return repo.resolve('HEAD')


def mark_deployed(root: Path, env: str, rev: str = 'HEAD') -> str:
    """Record REV as deployed to ENV (the lightweight tag deployed/ENV); return its SHA."""
    repo = Repo(root)
    sha = repo.resolve(rev)
    repo.run('update-ref', f'refs/tags/{C.DEPLOYED_TAG_PREFIX}{env}', sha)
    return sha


def assess(
    source: Source,
    project: Project,
    env: str,
    live: Live,
    *,
    fingerprint_key: bytes | None = None,
    run: Run | None = None,
) -> tuple[list[RenderedFile], Outcome]:
    """Render ENV from SOURCE (secrets sealed when no key of RUN's opens them) and
    compare it with LIVE."""
    project.env(env)
    sealed = not can_decrypt(source, project, [env], run)
    if fingerprint_key is None:
        # per run when no data key can derive one: equal values still show equal
        fingerprint_key = (None if sealed else derived_key(source, project, run)) or os.urandom(32)
    options = options_for(project, key=fingerprint_key)
    env_render = rendering.render_one(source, project, env, sealed=sealed, run=run)
    rendered = env_render.files
    if project.templates is None:
        rendered = [RenderedFile(env, VALUES_FILE, '', b'', [env_render.values.data])]
    outcome = compare(env, rendered, live, Ignores.from_project(project.raw), options)
    return rendered, outcome


def run(
    root: Path,
    env: str,
    live: Live,
    *,
    ref: str | None = None,
    fingerprint_key: bytes | None = None,
    blame: bool = True,
    run: Run | None = None,
) -> DriftReport:
    """Render ENV at REF (default: deployed/ENV, else HEAD) and compare it with LIVE."""
    found = revision.located_at(root)
    commit = found.repo.resolve(ref) if ref is not None else desired_ref(found.repo, env)
    source = found.commit(commit)
    project = project_mod.load(source, root)
    rendered, out = assess(source, project, env, live, fingerprint_key=fingerprint_key, run=run)
    changes = out.changes
    last_set = _last_set(root, env, commit, changes, rendered, run) if blame and changes else {}
    return DriftReport(
        env,
        commit,
        live.label,
        changes,
        out.ignored,
        last_set,
        out.not_compared,
        out.server,
        out.absent,
        out.unknown,
    )


def _last_set(
    root: Path,
    env: str,
    commit: str,
    changes: list[Change],
    rendered: list[RenderedFile],
    run: Run | None,
    limit: int = 50,
) -> dict[tuple[str, str], str]:
    """For each drifted key, the commit that last changed its desired value (in RUN)."""
    found: dict[tuple[str, str], str] = {}
    by_file: dict[str, list[Change]] = {}
    for change in changes:
        by_file.setdefault(change.file, []).append(change)
    for file, items in by_file.items():
        docs = next((f.documents or [] for f in rendered if f.path == file), [])
        wanted: dict[tuple[str, str], list[str]] = {}
        for change in items:
            prefix: tuple[Any, ...] = ()
            if len(docs) > 1:
                index = next(
                    (i for i, d in enumerate(docs) if diff.document_id(d, i) == change.document),
                    None,
                )
                if index is None:
                    continue
                prefix = (index,)
            try:
                steps = keypath.parse(change.path) if change.path else ()
            except keypath.KeyPathError:
                continue
            full = (*prefix, *steps)
            # the deepest path that exists at the desired revision: an added live
            # key has no history of its own, its parent does
            wanted[(file, change.path)] = [
                keypath.format(full[:n]) for n in range(len(full), 0, -1)
            ]
        keys = sorted({k for options in wanted.values() for k in options})
        if not keys:
            continue
        target = None if file == '(values)' else file
        walk = history.walk(root, env, keys, rev=commit, file=target, limit=limit, run=run)
        for where, options in wanted.items():
            for key in options:
                entries = walk.entries.get(key)
                if entries:
                    found[where] = entries[0].commit.sha
                    break
    return found
