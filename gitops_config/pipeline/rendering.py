"""One revision's environments: each one's layers merged, its templates rendered.

Rendering is deterministic and sandboxed (render.py); this module decides what
to render: every template, or with a snapshot of the same inputs only what it
does not vouch for (incremental/snapshot.py), on worker processes (workers.py).
What earlier work it reuses is the run's (run.py, incremental/reuse.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_config import constants as C
from gitops_config import render as render_mod
from gitops_config import run as run_mod
from gitops_config import workers
from gitops_config.incremental import snapshot
from gitops_config.incremental.reuse import Reuse
from gitops_config.project import Project
from gitops_config.render import RenderedFile
from gitops_config.run import Run
from gitops_config.source import Source
from gitops_config.values import Values


@dataclass(frozen=True)
class EnvRender:
    env: str
    values: Values
    files: list[RenderedFile]


def render_one(
    source: Source, project: Project, env: str, *, sealed: bool = False, run: Run | None = None
) -> EnvRender:
    """ENV rendered from SOURCE in this process (RUN: default, one without a store)."""
    run = run if run is not None else run_mod.plain()
    reuse = run.reuse
    values = reuse.merge(source, project, env, sealed=sealed, keys=run.keys)
    prepared = reuse.prepared(values, project.limits)
    files = [reuse.output(t, prepared) for t in reuse.templates(source, project)]
    return EnvRender(env, values, sorted(files, key=lambda f: f.path))


def render(
    source: Source,
    project: Project,
    envs: Sequence[str] | None = None,
    *,
    sealed: bool = False,
    jobs: int | None = None,
    on_done: Callable[[str], None] | None = None,
    reuse: bool = False,
    run: Run | None = None,
) -> list[EnvRender]:
    """ENVS (default: all, in promotion order) rendered from SOURCE, on JOBS processes
    (default: the run's, else one per core); in a sharded RUN, only its share of the
    templates. RUN: default, one without a store.

    With REUSE, an environment whose exact inputs a snapshot knows renders only
    what it has no entry for; its other files render when their content is first
    read (validation reads few). Every full render leaves its snapshot.
    """
    run = run if run is not None else run_mod.plain()
    kept = run.reuse
    names = list(envs) if envs else project.env_names()
    for name in names:
        project.env(name)  # an unknown name fails before any work is done
    values = [kept.merge(source, project, name, sealed=sealed, keys=run.keys) for name in names]
    listed = kept.templates(source, project)
    shard = run.shard
    templates = shard.take(listed) if shard is not None else listed
    prepared = [kept.prepared(v, project.limits) for v in values]
    jobs = (
        jobs if jobs is not None else run.jobs if run.jobs is not None else (workers.default_jobs())
    )
    keys = [
        kept.snapshot_key(name, inputs(source, project, name, listed), sealed=sealed, shard=shard)
        for name in names
    ]
    known = [kept.snapshot(k) if reuse and k is not None else None for k in keys]
    if not any(known):
        files = workers.render_all(templates, prepared, kept, jobs=jobs)
    else:
        files = [
            workers.render_all(templates, [p], kept, jobs=jobs)[0]
            if snap is None
            else _reusing(snap, templates, p, kept, jobs=jobs)
            for snap, p in zip(known, prepared, strict=True)
        ]
    for k, snap, env_files in zip(keys, known, files, strict=True):
        if k is not None and snap is None and not kept.has_snapshot(k):
            kept.save_snapshot(k, snapshot.entries(templates, env_files))
    results = []
    for v, env_files in zip(values, files, strict=True):
        results.append(EnvRender(v.env, v, sorted(env_files, key=lambda f: f.path)))
        if on_done is not None:
            on_done(v.env)
    return results


def _reusing(
    known: snapshot.Snapshot,
    templates: Sequence[render_mod.Template],
    prepared: render_mod.Prepared,
    reuse: Reuse,
    *,
    jobs: int,
) -> list[RenderedFile]:
    """The files of one environment whose snapshot is KNOWN, in template order: what it
    has an entry for is rendered only when read."""
    [fresh] = workers.render_all(
        [t for t in templates if t.path not in known], [prepared], reuse, jobs=jobs
    )
    rendered = iter(fresh)
    return [
        next(rendered)
        if t.path not in known
        else RenderedFile(
            prepared.env,
            known[t.path].output,
            t.path,
            reads=known[t.path].reads,
            digest=known[t.path].digest,
            load=functools.partial(reuse.output, t, prepared),
        )
        for t in templates
    ]


def inputs(
    source: Source,
    project: Project,
    env: str,
    templates: Sequence[render_mod.Template] | None = None,
) -> dict[str, str]:
    """Every file ENV's rendering reads, with its blob SHA: equal inputs, equal output.
    TEMPLATES: the project's templates at SOURCE, when already listed."""
    paths = [C.PROJECT_FILE, *project.env(env).layers]
    if source.exists(C.SOPS_CONFIG_FILE):
        paths.append(C.SOPS_CONFIG_FILE)
    found = {p: (source.blob_id(p) if source.exists(p) else '') for p in paths}
    listed = templates if templates is not None else render_mod.templates(source, project)
    found.update((t.path, t.blob) for t in listed)
    return found
