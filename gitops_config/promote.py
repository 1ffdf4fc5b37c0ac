"""Promotion: move the promotable differences of FROM's merged values into TO.

The project file's `promotion:` section says which KEYPATH globs are
promotable (image tags, model versions, feature flags) and which are pinned
per environment. Edits go to TO's own layer (its last layer not shared with
FROM) as minimal text edits, and into a new branch built with git plumbing
and a temporary index: the user's working tree and index are never touched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from gitops_config import diff
from gitops_config import keypath
from gitops_config import values as values_mod
from gitops_config import yaml_io
from gitops_config.compare import options_for
from gitops_config.errors import GitopsConfigError
from gitops_config.model import ChangeKind
from gitops_config.project import Project
from gitops_config.source import Source
from gitops_config.yaml_io import edit

EMPTY_SHA = '0' * 40


class PromoteError(GitopsConfigError):
    code = 'promote'


class BranchExistsError(PromoteError):
    code = 'branch-exists'


@dataclass(frozen=True, slots=True)
class Edit:
    key: str  # KEYPATH in the merged values
    path: tuple[str | int, ...]  # concrete path in the target layer
    old: Any  # TO's current value (None when the key is new)
    new: Any  # the merged value FROM has
    write: Any = None  # what goes at `path` (a new list item carries its key too)


@dataclass(frozen=True, slots=True)
class Skipped:
    key: str
    reason: str


@dataclass(frozen=True)
class Plan:
    source_env: str
    target_env: str
    layer: str  # the file the edits go to
    edits: tuple[Edit, ...]
    skipped: tuple[Skipped, ...] = ()
    text: str = field(default='', repr=False)  # the layer file with every edit made

    @property
    def empty(self) -> bool:
        return not self.edits


def rules(project: Project) -> tuple[tuple[str, ...], tuple[str, ...]]:
    section = project.raw.get('promotion') or {}
    return tuple(section.get('promotable', ())), tuple(section.get('pinned', ()))


def target_layer(source: Source, project: Project, source_env: str, target_env: str) -> str:
    """TARGET_ENV's last layer that SOURCE_ENV does not read and that is not encrypted."""
    from gitops_config import sops

    shared = set(project.env(source_env).layers)
    own = [p for p in project.env(target_env).layers
           if p not in shared and not (source.exists(p) and sops.is_encrypted(source.read(p)))]
    if not own:
        raise PromoteError(f'{target_env} has no plain layer of its own to promote into',
                           hint=f'give {target_env} a layer that {source_env} does not read')
    return own[-1]


def plan(source: Source, project: Project, source_env: str, target_env: str) -> Plan:
    """What promoting SOURCE_ENV into TARGET_ENV would change (nothing is written)."""
    promotable, pinned = rules(project)
    layer_path = target_layer(source, project, source_env, target_env)
    old = values_mod.merge(source, project, target_env, sealed=True)
    new = values_mod.merge(source, project, source_env, sealed=True)
    text = source.read(layer_path).decode()
    data = values_mod.load_layer(source, layer_path, sealed=True).data
    options = options_for(project, key=None)
    edits: list[Edit] = []
    skipped: list[Skipped] = []

    def keyed(path: tuple[str | int, ...], field: str) -> bool:
        return any(key == field and keypath.match_glob(glob, path)
                   for glob, key in project.merge)

    for change in diff.diff_values(old.data, new.data, options=options):
        steps = keypath.parse(change.path) if change.path else ()
        if not any(diff.match_steps(p, steps) for p in promotable):
            continue
        if any(diff.match_steps(p, steps) for p in pinned):
            skipped.append(Skipped(change.path, 'pinned'))
        elif change.secret:
            skipped.append(Skipped(change.path, 'a secret: change it with `gitops-config '
                                                'secrets set`'))
        elif change.kind not in (ChangeKind.CHANGED, ChangeKind.ADDED):
            skipped.append(Skipped(change.path, f'{change.kind.value} in {source_env}: '
                                                'promote it by hand'))
        else:
            # placed against the layer as already edited: two new fields of one
            # new list item must land in the same item
            target = _target(data, steps, change.new, keyed)
            if target is None:
                skipped.append(Skipped(change.path, f'cannot place it in {layer_path}: '
                                                    'edit it by hand'))
            else:
                edits.append(Edit(change.path, target[0], change.old, change.new, target[1]))
                text = edit.set_value(text, target[0], target[1], where=layer_path)
                data = yaml_io.load(text, layer_path) or {}
    return Plan(source_env, target_env, layer_path, tuple(edits), tuple(skipped), text)


_MISSING: Any = object()


def _target(data: Any, steps: tuple[keypath.Step, ...], value: Any,
            keyed: Callable[[tuple[str | int, ...], str], bool],
            ) -> tuple[tuple[str | int, ...], Any] | None:
    """Where in a layer (and what) to write so that STEPS merges to VALUE.

    Existing keys and list items are followed; missing keys are created; a
    missing item of a list that layers merge by key (the project's `merge:`)
    is added with just its key and the changed field. None: cannot say.
    """
    node = data
    done: list[str | int] = []
    for i, step in enumerate(steps):
        rest = steps[i + 1:]
        if isinstance(step, keypath.Select):
            if not keyed(tuple(done), step.field):
                return None
            item = _item(step, rest, value, keyed, tuple(done))
            if item is None:
                return None
            if node is _MISSING or not isinstance(node, list):
                return (tuple(done), [item]) if node is _MISSING else None
            index = next((j for j, it in enumerate(node)
                          if str(_field(it, step.field)) == step.value), None)
            if index is None:
                return (*done, len(node)), item
            done.append(index)
            node = node[index]
        elif isinstance(step, int):
            if not isinstance(node, list) or not 0 <= step < len(node):
                return None
            done.append(step)
            node = node[step]
        else:
            if node is not _MISSING and not isinstance(node, dict):
                return None
            if node is _MISSING or step not in node:
                built = _build(rest, value, keyed, (*done, step))
                return None if built is _MISSING else ((*done, step), built)
            done.append(step)
            node = node[step]
    return tuple(done), value


def _build(steps: tuple[keypath.Step, ...], value: Any,
           keyed: Callable[[tuple[str | int, ...], str], bool],
           at: tuple[str | int, ...]) -> Any:
    if not steps:
        return value
    step = steps[0]
    if isinstance(step, str):
        inner = _build(steps[1:], value, keyed, (*at, step))
        return _MISSING if inner is _MISSING else {step: inner}
    if isinstance(step, keypath.Select) and keyed(at, step.field):
        item = _item(step, steps[1:], value, keyed, at)
        return _MISSING if item is None else [item]
    return _MISSING


def _item(select: keypath.Select, rest: tuple[keypath.Step, ...], value: Any,
          keyed: Callable[[tuple[str | int, ...], str], bool],
          at: tuple[str | int, ...]) -> dict[str, Any] | None:
    """A new list item: its identifying field (model_info.id) plus the promoted field."""
    ident: Any = select.value
    for part in reversed(select.field.split('.')):
        ident = {part: ident}
    body = _build(rest, value, keyed, (*at, 0))
    if body is _MISSING or not isinstance(body, dict):
        return None
    return _deep_merge(ident, body)


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(
            v, dict) else v
    return out


def _field(item: Any, dotted: str) -> Any:
    for part in dotted.split('.'):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def branch_name(plan: Plan, head: str) -> str:
    return f'promote/{plan.source_env}-to-{plan.target_env}-{head[:7]}'


def message(plan: Plan) -> str:
    from gitops_config.report.diff_text import show

    lines = [f'promote {plan.source_env} -> {plan.target_env}', '']
    lines += [f'- {e.key}: {show(e.old)} -> {show(e.new)}' for e in plan.edits]
    if plan.skipped:
        lines += ['', 'Not promoted:']
        lines += [f'- {s.key}: {s.reason}' for s in plan.skipped]
    return '\n'.join(lines) + '\n'


def commit(repo_root: Path, prefix: str, head: str, plan: Plan, text: str) -> tuple[str, str]:
    """Commit the edited layer on top of HEAD into a new branch; return (branch, sha).

    Built with a temporary index (GIT_INDEX_FILE), hash-object, write-tree,
    commit-tree and update-ref, so the checkout and the real index stay as
    they are. An existing branch is an error unless it already holds exactly
    this change.
    """
    from gitops_config import process
    from gitops_config.git import clean_env

    branch = branch_name(plan, head)
    path = prefix + plan.layer
    base_env = clean_env()

    def git(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
        return process.run(['git', *args], cwd=repo_root, stdin=stdin,
                           env=env or base_env).stdout.decode().strip()

    with tempfile.TemporaryDirectory(prefix='gitops-config-index-') as tmp:
        env = {**base_env, 'GIT_INDEX_FILE': os.path.join(tmp, 'index')}
        git('read-tree', head, env=env)
        mode = git('ls-tree', head, '--', path).split(' ', 1)[0] or '100644'
        blob = git('hash-object', '-w', '--stdin', stdin=text.encode())
        git('update-index', '--add', '--cacheinfo', f'{mode},{blob},{path}', env=env)
        tree = git('write-tree', env=env)
    existing = process.run(['git', 'rev-parse', '--verify', '--quiet', f'refs/heads/{branch}'],
                           cwd=repo_root, env=base_env, check=False).stdout.decode().strip()
    if existing:
        if git('rev-parse', f'{existing}^{{tree}}') == tree:
            return branch, existing  # the same promotion, already made
        raise BranchExistsError(f'branch {branch} already exists with other changes',
                                hint=f'delete it (git branch -D {branch}) or promote from a '
                                     'newer commit')
    sha = git('commit-tree', tree, '-p', head, '-m', message(plan))
    # EMPTY_SHA as the old value: fail rather than move a branch created meanwhile
    git('update-ref', f'refs/heads/{branch}', sha, EMPTY_SHA)
    return branch, sha
