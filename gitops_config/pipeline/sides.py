"""Each environment at each of two revisions (a side), rendered for a diff.

Every side of every environment renders on one pool. A template that renders
the same on both sides (both snapshots agree, or what it reads did not change)
is rendered on neither; what a side's own snapshot vouches for is read back
instead of rendered. A template that fails is kept as an error of its side,
so that the rest of the environment is still diffed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gitops_config import render as render_mod
from gitops_config import workers
from gitops_config.errors import GitopsConfigError
from gitops_config.incremental import snapshot as snapshot_mod
from gitops_config.incremental.reuse import Reuse
from gitops_config.model import NodePath
from gitops_config.pipeline import rendering
from gitops_config.pipeline.file_diff import VALUES_FILE
from gitops_config.pipeline.file_diff import FileContent
from gitops_config.project import Project
from gitops_config.redact import Secret
from gitops_config.redact import scrub
from gitops_config.run import Run
from gitops_config.sops.errors import KeyUnavailableError
from gitops_config.source import Source
from gitops_config.values import Values


@dataclass
class Opened:
    """One environment at one revision, before rendering: its values, templates and
    snapshot (which templates render to what)."""

    project: Project | None
    values: Values | None = None
    failed: str | None = None
    templates: list[render_mod.Template] = field(default_factory=list)
    key: str | None = None  # its snapshot's key (None: no templates, or no cache)
    snapshot: snapshot_mod.Snapshot | None = None
    values_share: bool = True  # without templates: whether this shard diffs the values


@dataclass(frozen=True, slots=True)
class Side:
    """One environment at one revision, rendered: its files, or what went wrong."""

    files: dict[str, FileContent]
    errors: dict[str, str]  # file or template -> message
    failed: str | None = None  # the whole environment could not be rendered


def open_side(
    source: Source,
    project: Project | None,
    env: str,
    *,
    sealed: bool,
    run: Run,
) -> Opened:
    """ENV at SOURCE, merged, its templates listed (a sharded RUN's share of them)."""
    if project is None or env not in project.env_names():
        return Opened(None)
    reuse, shard = run.reuse, run.shard
    try:
        values = reuse.merge(source, project, env, sealed=sealed, keys=run.keys)
    except KeyUnavailableError as exc:
        if sealed:
            return Opened(project, failed=exc.one_line())
        # the keys at hand open the other side, not this one (its recipients changed):
        # this side's secrets are compared sealed
        sealed = True
        values = reuse.merge(source, project, env, sealed=True, keys=run.keys)
    except GitopsConfigError as exc:
        return Opened(project, failed=exc.one_line())
    if project.templates is None:
        # the values diff is one unit of work: shard 1's
        return Opened(project, values, values_share=shard is None or shard.index == 1)
    templates = reuse.templates(source, project)
    if shard is not None:
        templates = shard.take(templates)
    key = reuse.snapshot_key(
        env, rendering.inputs(source, project, env), sealed=sealed, shard=shard
    )
    return Opened(
        project, values, None, templates, key, reuse.snapshot(key) if key is not None else None
    )


# (id(old), id(new)) -> (old, new, their changed paths), for one comparison; holding the
# layers keeps the ids unique
LayerChanges = dict[tuple[int, int], tuple[Any, Any, list[NodePath]]]


def same_outputs(old: Opened, new: Opened, layer_changes: LayerChanges) -> set[str]:
    """Templates that render the same on both sides, found without rendering: both
    snapshots agree, or one is known and what its templates read did not change
    (LAYER_CHANGES: what the comparison found changed in which layers so far)."""
    if old.values is None or new.values is None:
        return set()
    if old.snapshot is not None and new.snapshot is not None:
        return {t for t, entry in new.snapshot.items() if old.snapshot.get(t) == entry}
    known, other = (old, new) if old.snapshot is not None else (new, old)
    if known.snapshot is None or known.values is None or other.values is None:
        return set()
    return snapshot_mod.unaffected(
        known.snapshot,
        {t.path: t.blob for t in other.templates},
        _changed_values(known.values, other.values, layer_changes),
    )


def _changed_values(a: Values, b: Values, memos: LayerChanges) -> list[NodePath]:
    """Paths at which A and B may differ. Where both merge the same layer files by the
    same rules, they are found in the layers that differ, once per layer however
    many environments share it (up to the first list: merging by a key moves items)."""
    if (a.layers, a.merge_rules) != (b.layers, b.merge_rules):
        return snapshot_mod.changed_paths(a.data, b.data)
    found: list[NodePath] = []
    for old, new in zip(a.loaded, b.loaded, strict=True):
        if old is new:
            continue  # the same blob: one shared Layer
        memo = memos.get((id(old), id(new)))
        if memo is None or memo[0] is not old or memo[1] is not new:
            paths = [
                next((path[:i] for i, step in enumerate(path) if isinstance(step, int)), path)
                for path in snapshot_mod.changed_paths(old.data, new.data)
            ]
            memo = memos[(id(old), id(new))] = (old, new, paths)
        found += memo[2]
    return found


def render_sides(
    sides: Sequence[tuple[Opened, set[str], snapshot_mod.Snapshot]], reuse: Reuse, *, jobs: int
) -> list[Side]:
    """Each (revision, SAME, KNOWN) rendered but for the templates in SAME, on one pool
    for every environment and both revisions. What a revision's own snapshot vouches
    for is read back here meanwhile. A revision without a snapshot gets one: KNOWN's
    entries for SAME, and what was rendered."""
    work = [_work(rev, same, reuse) for rev, same, _ in sides]
    collect = workers.start_groups(
        [(w.todo, w.prepared) for w in work if w is not None], reuse, jobs=jobs
    )
    try:
        for w, (rev, _, _) in zip(work, sides, strict=True):
            if w is not None and rev.snapshot is not None:
                w.kept = {
                    t.path: found
                    for t in w.templates
                    if t.path in rev.snapshot
                    and (found := reuse.vouched(t, w.prepared, rev.snapshot[t.path].digest))
                }
    finally:
        fresh = iter(collect())
    # what a snapshot vouched for but could not be read back (pruned, or another
    # run's output since): rendered now
    retry = [(w, missed) for w in work if w is not None and (missed := w.missed())]
    again = iter(
        workers.start_groups([(missed, w.prepared) for w, missed in retry], reuse, jobs=jobs)()
    )
    retried = {
        id(w): dict(zip([t.path for t in missed], next(again), strict=True)) for w, missed in retry
    }
    sides_out = []
    for w, (rev, same, known) in zip(work, sides, strict=True):
        if w is None:
            sides_out.append(_unrendered(rev))
            continue
        done = {
            **dict(zip([t.path for t in w.todo], next(fresh), strict=True)),
            **w.kept,
            **retried.get(id(w), {}),
        }
        outcomes = [done[t.path] for t in w.templates]
        if rev.key is not None and rev.snapshot is None:
            borrowed = {t: known[t] for t in same}
            reuse.save_snapshot(
                rev.key, {**borrowed, **snapshot_mod.entries(w.templates, outcomes)}
            )
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


def _work(rev: Opened, same: set[str], reuse: Reuse) -> _Work | None:
    if (
        rev.failed is not None
        or rev.project is None
        or rev.values is None
        or (rev.project.templates is None)
    ):
        return None
    templates = [t for t in rev.templates if t.path not in same]
    vouched = rev.snapshot or {}
    return _Work(
        templates,
        reuse.prepared(rev.values, rev.project.limits),
        [t for t in templates if t.path not in vouched],
    )


def _unrendered(rev: Opened) -> Side:
    """A revision that renders nothing: it failed, lacks the environment, or has no
    templates (its values are the one file to diff)."""
    if rev.failed is not None:
        return Side({}, {}, failed=rev.failed)
    if rev.project is None or rev.values is None:
        return Side({}, {})
    return Side({VALUES_FILE: ([rev.values.data], None)} if rev.values_share else {}, {})


def _side(
    rev: Opened, templates: Sequence[render_mod.Template], outcomes: Sequence[workers.Outcome]
) -> Side:
    assert rev.project is not None
    assert rev.values is not None
    secrets = [s for s in rev.values.secrets() if isinstance(s, Secret)]
    files: dict[str, FileContent] = {}
    errors: dict[str, str] = {}
    for template, outcome in zip(templates, outcomes, strict=True):
        if isinstance(outcome, GitopsConfigError):
            # a template error may quote a value it choked on: scrub plaintexts
            errors[_output_name(rev.project, template.path)] = scrub(outcome.one_line(), secrets)
        else:
            files[outcome.path] = (outcome.documents, outcome.content)
    return Side(files, errors)


def _output_name(project: Project, template: str) -> str:
    root = (project.templates or '').rstrip('/')
    rel = template[len(root) + 1 :] if root and template.startswith(root + '/') else template
    return rel.removesuffix(render_mod.TEMPLATE_SUFFIX)
