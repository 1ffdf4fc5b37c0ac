"""Drift: the desired state (rendered at a revision) against the live state.

The live state is a folder of files, one file, or what a command printed
(`kubectl get configmap x -o yaml`). A ConfigMap's data entries are compared,
each parsed as YAML, with the rendered file of the same name; another
Kubernetes object with the rendered document of the same kind/namespace/name;
a plain file with the rendered file of the same name. The project's ignore
rules apply, as they do to diffs. Live values standing where a secret is
desired are compared as secrets and never shown.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import constants as C
from gitops_config import diff
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import InvalidYamlError
from gitops_config.ignore import Ignored
from gitops_config.ignore import Ignores
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.render import RenderedFile
from gitops_config.source import prefix_of

if TYPE_CHECKING:
    from gitops_config.git import Repo

# Live keys that look like credentials are masked even where nothing is desired.
SECRET_KEY = re.compile(r'(?i)(pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential)')


class LiveStateError(GitopsConfigError):
    code = 'live-state'


@dataclass(frozen=True)
class Live:
    """The observed state: documents by file name, and objects by kind/ns/name."""

    label: str
    files: dict[str, list[Any]] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)
    complete: bool = False  # a folder: a desired file missing here is drift


@dataclass(frozen=True)
class DriftReport:
    env: str
    ref: str  # the commit the desired state was rendered at
    live: str
    changes: list[Change]
    ignored: list[Ignored]
    last_set: dict[tuple[str, str], str]  # (file, path) -> commit that last set the value
    not_compared: int = 0  # secrets sealed on our side: no key to compare with

    @property
    def drifted(self) -> bool:
        return any(c.kind is not ChangeKind.RESEALED for c in self.changes)


def read_live_path(path: Path) -> Live:
    if path.is_dir():
        files: dict[str, list[Any]] = {}
        from gitops_config.manifest import NAME  # what render wrote: not live state

        for item in sorted(p for p in path.rglob('*') if p.is_file() and p.name != NAME):
            rel = item.relative_to(path).as_posix()
            files[rel] = _parse(item.read_bytes(), rel)
        return Live(str(path), files, complete=True)
    if not path.is_file():
        raise LiveStateError(f'{path}: no such file or folder')
    return _from_documents(str(path), path.name, _parse(path.read_bytes(), str(path)))


def read_live_command(command: str, *, name: str | None = None,
                      timeout: float = 120.0) -> Live:
    """What COMMAND prints: Kubernetes objects (a ConfigMap's entries stand for rendered
    files of their names), or plain YAML/JSON that stands for the rendered file NAME."""
    from gitops_config import process

    argv = shlex.split(command)
    if not argv:
        raise LiveStateError('the live command is empty')
    done = process.run(argv, check=False, timeout=timeout)
    if done.returncode != 0:
        err = done.stderr.decode(errors='replace').strip().splitlines()
        raise LiveStateError(f'live command failed (exit {done.returncode}): {argv[0]}: '
                             f'{err[-1] if err else "no output"}',
                             hint='run the command by hand to see why')
    if not done.stdout.strip():
        raise LiveStateError(f'live command printed nothing: {argv[0]}')
    return _from_documents(f'`{argv[0]}`', name, _parse(done.stdout, f'output of {argv[0]}'))


def _parse(raw: bytes, name: str) -> list[Any]:
    try:
        docs = [d for d in yaml_io.load_all(raw, name) if d is not None]
    except InvalidYamlError as exc:
        raise LiveStateError(f'live state {name} is not YAML or JSON: {exc.message}',
                             hint='pass -o yaml (or -o json) to kubectl') from None
    return docs


def _from_documents(label: str, name: str | None, docs: list[Any]) -> Live:
    files: dict[str, list[Any]] = {}
    objects: dict[str, Any] = {}
    items: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get('kind') == 'List':
            items += list(doc.get('items') or [])
        else:
            items.append(doc)
    for doc in items:
        if isinstance(doc, dict) and doc.get('kind') == 'ConfigMap':
            for key, text in (doc.get('data') or {}).items():
                files[key] = _entry(text, key)
        elif isinstance(doc, dict) and 'kind' in doc:
            objects[diff.document_id(doc, 0)] = doc
    if not files and not objects and name is not None:
        files[name] = items
    if not files and not objects:
        raise LiveStateError(f'live state {label} holds nothing to compare',
                             hint='for plain YAML or JSON, name the rendered file it stands '
                                  'for with --as FILE (e.g. --as litellm/config.yaml)')
    return Live(label, files, objects)


def _entry(text: Any, key: str) -> list[Any]:
    if not isinstance(text, str):
        return [text]
    try:
        docs = yaml_io.load_all(text, key)
    except InvalidYamlError:
        return [text]
    return docs if docs else [None]


def compare(env: str, ref: str, rendered: list[RenderedFile], live: Live, ignores: Ignores,
            options: diff.Options) -> tuple[list[Change], list[Ignored], int]:
    """The drift between RENDERED files and LIVE, after the ignore rules."""
    changes: list[Change] = []
    sealed = 0
    by_name = {f.path: f for f in rendered}
    by_base: dict[str, RenderedFile] = {}
    for f in rendered:
        by_base.setdefault(posixpath.basename(f.path), f)
    for name, live_docs in sorted(live.files.items()):
        desired = by_name.get(name) or by_base.get(posixpath.basename(name))
        if desired is None or desired.documents is None:
            continue
        aligned, n = _align_all(desired.documents, live_docs)
        sealed += n
        changes += diff.diff_documents(desired.documents, aligned, env=env, file=desired.path,
                                       options=options)
    if live.complete:
        for f in rendered:
            if f.path not in live.files:
                changes.append(Change(env, f.path, '', ChangeKind.REMOVED,
                                      detail='missing in the live state'))
    for ident, obj in sorted(live.objects.items()):
        for f in rendered:
            for i, doc in enumerate(f.documents or []):
                if diff.document_id(doc, i) == ident:
                    aligned_obj, n = _align(doc, obj, secret_kind=obj.get('kind') == 'Secret')
                    sealed += n
                    changes += diff.diff_values(doc, _prune(doc, aligned_obj), env=env,
                                                file=f.path, document=ident, options=options)
    kept, ignored = ignores.split(changes)
    return kept, ignored, sealed


def _prune(desired: Any, live: Any) -> Any:
    """LIVE without the fields DESIRED does not declare: for a live object the
    server adds defaults and status, which are not drift (as `kubectl diff`)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {k: _prune(desired[k], v) for k, v in live.items() if k in desired}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [_prune(d, v) for d, v in zip(desired, live, strict=True)]
    return live


def _align_all(desired: list[Any], live: list[Any]) -> tuple[list[Any], int]:
    out = []
    total = 0
    for i, doc in enumerate(live):
        aligned, n = _align(desired[i] if i < len(desired) else None, doc)
        out.append(aligned)
        total += n
    return out, total


def _align(desired: Any, live: Any, *, secret: bool = False, secret_kind: bool = False,
           key: str | None = None) -> tuple[Any, int]:
    """LIVE with its values wrapped as secrets wherever DESIRED holds a secret.

    Also wrapped: everything under a live Secret's data, and values under
    keys named like credentials. A live value under a sealed desired secret
    cannot be compared: it takes the desired object itself (no change) and
    is counted as not compared.
    """
    if isinstance(desired, SealedSecret):
        return desired, 1
    if isinstance(desired, Secret) and not isinstance(live, (dict, list)):
        return (Secret(live) if live is not None else live), 0
    if isinstance(live, dict):
        out: dict[str, Any] = {}
        total = 0
        for k, v in live.items():
            child = desired.get(k) if isinstance(desired, dict) else None
            out[k], n = _align(child, v, key=k,
                               secret=secret or (secret_kind and k in ('data', 'stringData')))
            total += n
        return out, total
    if isinstance(live, list):
        items = []
        total = 0
        for i, v in enumerate(live):
            child = desired[i] if isinstance(desired, list) and i < len(desired) else None
            item, n = _align(child, v, secret=secret, key=key)
            items.append(item)
            total += n
        return items, total
    if live is not None and (secret or (key is not None and SECRET_KEY.search(key))):
        return Secret(live), 0
    return live, 0


def desired_ref(repo: Repo, env: str) -> str:
    """The commit recorded by `mark-deployed ENV`, else HEAD."""
    from gitops_config.git import RefNotFoundError

    try:
        return repo.resolve(f'refs/tags/{C.DEPLOYED_TAG_PREFIX}{env}')
    except RefNotFoundError:
        return repo.resolve('HEAD')


def mark_deployed(root: Path, env: str, rev: str = 'HEAD') -> str:
    """Record REV as deployed to ENV (the lightweight tag deployed/ENV); return its SHA."""
    from gitops_config.git import Repo

    repo = Repo(root)
    sha = repo.resolve(rev)
    repo.run('update-ref', f'refs/tags/{C.DEPLOYED_TAG_PREFIX}{env}', sha)
    return sha


def run(root: Path, env: str, live: Live, *, ref: str | None = None,
        fingerprint_key: bytes | None = None, blame: bool = True) -> DriftReport:
    """Render ENV at REF (default: deployed/ENV, else HEAD) and compare it with LIVE."""
    import os

    from gitops_config import compare as compare_mod
    from gitops_config import project as project_mod
    from gitops_config import render as render_mod
    from gitops_config import values as values_mod
    from gitops_config.git import Repo
    from gitops_config.source import GitTree

    repo = Repo(root)
    commit = repo.resolve(ref) if ref is not None else desired_ref(repo, env)
    source = GitTree(repo, commit, prefix_of(repo.root, root))
    project = project_mod.load(source, root)
    project.env(env)
    sealed = not compare_mod.can_decrypt(source, project, [env])
    if fingerprint_key is None and not sealed:
        fingerprint_key = compare_mod.derived_key(source, project) or os.urandom(32)
    options = compare_mod.options_for(project, key=fingerprint_key)
    values = values_mod.merge(source, project, env, sealed=sealed)
    rendered = render_mod.render_env(source, project, values)
    if project.templates is None:
        rendered = [RenderedFile(env, compare_mod.VALUES_FILE, '', b'', [values.data])]
    changes, ignored, not_compared = compare(env, commit, rendered, live,
                                             Ignores.from_project(project.raw), options)
    last_set = _last_set(root, env, commit, changes, rendered) if blame and changes else {}
    return DriftReport(env, commit, live.label, changes, ignored, last_set, not_compared)


def _last_set(root: Path, env: str, commit: str, changes: list[Change],
              rendered: list[RenderedFile], limit: int = 50) -> dict[tuple[str, str], str]:
    """For each drifted key, the commit that last changed its desired value."""
    from gitops_config import history
    from gitops_config import keypath

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
                index = next((i for i, d in enumerate(docs)
                              if diff.document_id(d, i) == change.document), None)
                if index is None:
                    continue
                prefix = (index,)
            steps = keypath.parse(change.path) if change.path else ()
            full = (*prefix, *steps)
            # the deepest path that exists at the desired revision: an added live
            # key has no history of its own, its parent does
            wanted[(file, change.path)] = [keypath.format(full[:n])
                                           for n in range(len(full), 0, -1)]
        keys = sorted({k for options in wanted.values() for k in options})
        if not keys:
            continue
        target = None if file == '(values)' else file
        walk = history.walk(root, env, keys, rev=commit, file=target, limit=limit)
        for where, options in wanted.items():
            for key in options:
                entries = walk.entries.get(key)
                if entries:
                    found[where] = entries[0].commit.sha
                    break
    return found
