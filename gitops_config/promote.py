"""Promotion: move the promotable differences of FROM's merged values into TO.

The project file's `promotion:` section says which KEYPATH globs are
promotable (image tags, model versions, feature flags) and which are pinned
per environment. Edits go to TO's own layer (its last layer not shared with
FROM) as minimal text edits; where the project commits rendered output, TO's
re-rendered files go with them, so the result passes `render --check`. It is
validated before anything is made, then committed on one branch per FROM/TO
pair (promote/FROM-to-TO), replaced in place on the next run, with git
plumbing and a temporary index: the user's working tree and index are never
touched. The pull request follows the branch: opened or updated, and closed
when nothing is left to promote.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import diff
from gitops_config import keypath
from gitops_config import outputs
from gitops_config import run as run_mod
from gitops_config import sops
from gitops_config import values as values_mod
from gitops_config import yaml_io
from gitops_config.errors import FileMissingError
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import UsageError
from gitops_config.git import GitError
from gitops_config.git import blob_sha
from gitops_config.masking import show
from gitops_config.model import ChangeKind
from gitops_config.pipeline import rendering
from gitops_config.pipeline import validation
from gitops_config.pipeline.file_diff import options_for
from gitops_config.pipeline.keys_at_hand import can_decrypt
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.source import Source
from gitops_config.yaml_io import edit

if TYPE_CHECKING:
    from gitops_config.git import Repo
    from gitops_config.github import Client
    from gitops_config.outputs import Stale
    from gitops_config.pipeline.results import CheckResult


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
    shared = set(project.env(source_env).layers)
    own = [
        p
        for p in project.env(target_env).layers
        if p not in shared and not (source.exists(p) and sops.is_encrypted(source.read(p)))
    ]
    if not own:
        raise PromoteError(
            f'{target_env} has no plain layer of its own to promote into',
            hint=f'give {target_env} a layer that {source_env} does not read',
        )
    return own[-1]


def plan(
    source: Source, project: Project, source_env: str, target_env: str, run: Run | None = None
) -> Plan:
    """What promoting SOURCE_ENV into TARGET_ENV would change (nothing is written), its
    secrets opened with RUN's keys (default: the environment's)."""
    keys = (run if run is not None else run_mod.plain()).keys
    promotable, pinned = rules(project)
    layer_path = target_layer(source, project, source_env, target_env)
    old = values_mod.merge(source, project, target_env, sealed=True, keys=keys)
    new = values_mod.merge(source, project, source_env, sealed=True, keys=keys)
    text = source.read(layer_path).decode()
    data = values_mod.load_layer(source, layer_path, sealed=True, keys=keys).data
    options = options_for(project, key=None)
    edits: list[Edit] = []
    skipped: list[Skipped] = []

    def keyed(path: tuple[str | int, ...], field: str) -> bool:
        return any(key == field and keypath.match_glob(glob, path) for glob, key in project.merge)

    for change in diff.diff_values(old.data, new.data, options=options):
        steps = keypath.parse(change.path) if change.path else ()
        if not any(diff.match_steps(p, steps) for p in promotable):
            continue
        if any(diff.match_steps(p, steps) for p in pinned):
            skipped.append(Skipped(change.path, 'pinned'))
        elif change.secret:
            skipped.append(
                Skipped(change.path, 'a secret: change it with `gitops-config secrets set`')
            )
        elif change.kind not in (ChangeKind.CHANGED, ChangeKind.ADDED):
            skipped.append(
                Skipped(change.path, f'{change.kind.value} in {source_env}: promote it by hand')
            )
        else:
            # placed against the layer as already edited: two new fields of one
            # new list item must land in the same item
            target = _target(data, steps, change.new, keyed)
            if target is None:
                skipped.append(
                    Skipped(change.path, f'cannot place it in {layer_path}: edit it by hand')
                )
            else:
                edits.append(Edit(change.path, target[0], change.old, change.new, target[1]))
                text = edit.set_value(text, target[0], target[1], where=layer_path)
                data = yaml_io.load(text, layer_path) or {}
    return Plan(source_env, target_env, layer_path, tuple(edits), tuple(skipped), text)


_MISSING: Any = object()


def _target(
    data: Any,
    steps: tuple[keypath.Step, ...],
    value: Any,
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
        rest = steps[i + 1 :]
        if isinstance(step, keypath.Select):
            if not keyed(tuple(done), step.field):
                return None
            item = _item(step, rest, value, keyed, tuple(done))
            if item is None:
                return None
            if node is _MISSING or not isinstance(node, list):
                return (tuple(done), [item]) if node is _MISSING else None
            index = next(
                (
                    j
                    for j, it in enumerate(node)
                    if str(keypath.field_of(it, step.field)) == step.value
                ),
                None,
            )
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


def _build(
    steps: tuple[keypath.Step, ...],
    value: Any,
    keyed: Callable[[tuple[str | int, ...], str], bool],
    at: tuple[str | int, ...],
) -> Any:
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


def _item(
    select: keypath.Select,
    rest: tuple[keypath.Step, ...],
    value: Any,
    keyed: Callable[[tuple[str | int, ...], str], bool],
    at: tuple[str | int, ...],
) -> dict[str, Any] | None:
    """A new list item: its identifying field (model_info.id) plus the promoted field."""
    ident = keypath.holding(select.field, select.value)
    body = _build(rest, value, keyed, (*at, 0))
    if body is _MISSING or not isinstance(body, dict):
        return None
    return _deep_merge(ident, body)


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = (
            _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
        )
    return out


def check_order(
    project: Project, source_env: str, target_env: str, *, allow_backwards: bool = False
) -> None:
    """Promotion goes the way `environments:` lists them (dev, then staging, then prod)."""
    names = project.env_names()
    project.env(source_env)
    project.env(target_env)
    if source_env == target_env:
        raise UsageError(
            f'cannot promote {source_env} into itself',
            hint=f'environments, in promotion order: {" -> ".join(names)}',
        )
    if names.index(source_env) > names.index(target_env) and not allow_backwards:
        raise UsageError(
            f'{source_env} comes after {target_env} in the promotion order ({" -> ".join(names)})',
            hint=f'promote {target_env} {source_env}, or pass --allow-backwards '
            'to carry a value back on purpose',
        )


class Edited:
    """A Source with some files replaced (None: removed): the tree a promotion makes."""

    def __init__(self, base: Source, changes: Mapping[str, bytes | None]) -> None:
        self.base = base
        self.changes = dict(changes)
        self.label = 'promotion'
        self.root = base.root
        self.commit = None  # a tree no commit holds (yet)

    def read(self, path: str) -> bytes:
        if path in self.changes:
            data = self.changes[path]
            if data is None:
                raise FileMissingError(f'{path}: removed by the promotion')
            return data
        return self.base.read(path)

    def exists(self, path: str) -> bool:
        if path in self.changes:
            return self.changes[path] is not None
        return self.base.exists(path)

    def files(self, under: str = '') -> list[str]:
        start = under.rstrip('/') + '/' if under else ''
        found = set(self.base.files(under))
        found |= {
            p
            for p, d in self.changes.items()
            if d is not None and (p == under or p.startswith(start))
        }
        return sorted(p for p in found if self.changes.get(p, b'') is not None)

    def blob_id(self, path: str) -> str:
        return blob_sha(self.read(path)) if path in self.changes else self.base.blob_id(path)

    def find_upwards(self, name: str) -> tuple[str, bytes] | None:
        # a promotion edits a layer and rendered output, never .sops.yaml
        return self.base.find_upwards(name)


@dataclass(frozen=True)
class Result:
    """A promotion made in memory and validated: what the commit would hold."""

    plan: Plan
    files: dict[str, bytes | None]  # project-relative path -> content (None: removed)
    after: Edited
    findings: CheckResult
    stale: tuple[Stale, ...] = ()  # where TO's committed output would not be up to date

    @property
    def rendered(self) -> list[str]:
        return sorted(p for p in self.files if p != self.plan.layer)

    @property
    def failed(self) -> bool:
        return self.findings.failed or any(s.blocking for s in self.stale)


def commits_output(source: Source, project: Project, env: str) -> bool:
    """Whether ENV's rendered output is committed (the rendered-manifest pattern)."""
    return project.output is not None and bool(source.files(project.output_dir(env)))


def build(source: Source, project: Project, plan: Plan, run: Run | None = None) -> Result:
    """PLAN applied to SOURCE in memory: the edited layer and, where the project commits
    rendered output, TO's re-rendered files; then TO validated (schemas, policies and
    change rules against TO as it is, and the committed output up to date), in RUN
    (default: one without a store)."""
    run = run if run is not None else run_mod.plain()  # one run for every step below
    env = plan.target_env
    files: dict[str, bytes | None] = {plan.layer: plan.text.encode()}
    after = Edited(source, files)
    sealed = not can_decrypt(after, project, [env], run)
    render = rendering.render_one(after, project, env, sealed=sealed, run=run)
    committed = commits_output(source, project, env)
    if committed:
        files.update(outputs.planned(project, render, source, run))
        after = Edited(source, files)
    before = rendering.render_one(source, project, env, sealed=True, run=run)
    findings = validation.check(after, project, [render], base=[before], run=run)
    stale = tuple(outputs.check(project, after, render, run=run)) if committed else ()
    return Result(plan, files, after, findings, stale)


def subject(plan: Plan) -> str:
    return f'promote {plan.source_env} -> {plan.target_env}'


def branch_name(plan: Plan) -> str:
    return f'promote/{plan.source_env}-to-{plan.target_env}'


def message(plan: Plan, rendered: Sequence[str] = ()) -> str:
    lines = [subject(plan), '']
    lines += [f'- {e.key}: {show(e.old)} -> {show(e.new)}' for e in plan.edits]
    if plan.skipped:
        lines += ['', 'Not promoted:']
        lines += [f'- {s.key}: {s.reason}' for s in plan.skipped]
    if rendered:
        lines += ['', f'Re-rendered for {plan.target_env}:']
        lines += [f'- {path}' for path in rendered]
    return '\n'.join(lines) + '\n'


@dataclass(frozen=True, slots=True)
class Published:
    branch: str
    sha: str
    state: str  # 'created', 'updated', 'up to date'


def publish(repo: Repo, prefix: str, head: str, result: Result) -> Published:
    """Commit RESULT on top of HEAD to branch promote/FROM-to-TO: created, or replaced
    in place when it holds an earlier promotion of the same pair (never another's
    commits), or left as it is when it already holds exactly this."""
    plan = result.plan
    name = branch_name(plan)
    sha = repo.commit_files(
        head, {prefix + p: d for p, d in result.files.items()}, message(plan, result.rendered)
    )
    old = repo.branch(name)
    if old is None:
        repo.set_branch(name, sha, was=None)
        return Published(name, sha, 'created')
    if _same_commit(repo, old, sha):
        return Published(name, old, 'up to date')
    _check_ours(repo, old, plan, head, where=f'branch {name}')
    if repo.current_branch() == name:
        raise PromoteError(
            f'branch {name} is checked out here: moving it would leave your working tree behind',
            hint='switch to the branch to promote from',
        )
    repo.set_branch(name, sha, was=old)
    return Published(name, sha, 'updated')


def retire(repo: Repo, plan: Plan, head: str) -> str | None:
    """Nothing left to promote: delete promote/FROM-to-TO if it holds only an earlier
    promotion (returns its name), and leave it if someone else's commits are on it."""
    name = branch_name(plan)
    old = repo.branch(name)
    if old is None or not _ours(repo, old, plan, head):
        return None
    repo.delete_branch(name, was=old)
    return name


def _same_commit(repo: Repo, a: str, b: str) -> bool:
    """Same tree on the same parent: the same promotion, whenever it was made."""
    try:
        return repo.run('rev-parse', f'{a}^{{tree}}', f'{a}^') == repo.run(
            'rev-parse', f'{b}^{{tree}}', f'{b}^'
        )
    except GitError:  # a commit without a parent: not one of ours
        return False


def _ours(repo: Repo, sha: str, plan: Plan, head: str) -> bool:
    """Whether SHA is a promotion of this pair made on top of HEAD's history."""
    lines = repo.message(sha).splitlines()
    return bool(lines) and lines[0] == subject(plan) and repo.is_ancestor(f'{sha}^', head)


def _check_ours(repo: Repo, sha: str, plan: Plan, head: str, *, where: str) -> None:
    if not _ours(repo, sha, plan, head):
        raise BranchExistsError(
            f'{where} holds commits that are not a promotion of {plan.source_env} to '
            f'{plan.target_env}: not replacing them',
            hint=f'merge or close that work, or delete the branch (git branch -D '
            f'{branch_name(plan)}), then promote again',
        )


# -- the pull request --------------------------------------------------------

REMOTE = 'origin'


def push(repo: Repo, plan: Plan, head: str, published: Published) -> None:
    """Make promote/FROM-to-TO on origin what it is here, replacing only an earlier
    promotion of the pair (checked after fetching it), under a lease."""
    there = repo.remote_branch(REMOTE, published.branch)
    if there == published.sha:
        return
    if there is not None:
        repo.fetch_branch(REMOTE, published.branch)
        _check_ours(repo, there, plan, head, where=f'{REMOTE}/{published.branch}')
    repo.push_branch(REMOTE, published.sha, published.branch, was=there)


def open_pull(
    client: Client,
    plan: Plan,
    published: Published,
    *,
    base: str,
    body: str,
) -> dict[str, Any]:
    return client.open_or_update_pull(
        head=published.branch,
        base=base,
        title=f'Promote {plan.source_env} to {plan.target_env}',
        body=body,
    )


def close_pulls(
    repo: Repo,
    connect: Callable[[], Client],
    plan: Plan,
    head: str,
) -> list[int]:
    """Nothing left to promote: close the pair's open pull requests, saying why, and
    delete its branch on origin (when it holds only an earlier promotion). GitHub is
    asked (CONNECT) only when origin has the branch."""
    name = branch_name(plan)
    if REMOTE not in repo.run('remote').split():
        return []
    there = repo.remote_branch(REMOTE, name)
    if there is None:
        return []  # no branch there: no pull request can be open from it
    client = connect()
    closed = []
    for pull in client.list_pulls(name):
        number = int(pull['number'])
        client.create_comment(
            number,
            f'Nothing is left to promote from {plan.source_env} to {plan.target_env}: closing.',
        )
        client.close_pull(number)
        closed.append(number)
    repo.fetch_branch(REMOTE, name)
    if _ours(repo, there, plan, head):
        repo.push_branch(REMOTE, None, name, was=there)
    return closed
