"""One revision's environments: each one's layers merged, its templates rendered.

Rendering is deterministic and sandboxed (render.py); this module decides what
to render: every template, or with a snapshot of the same inputs only what it
does not vouch for (snapshot.py), on worker processes (workers.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_config import cache
from gitops_config import constants as C
from gitops_config import render as render_mod
from gitops_config import snapshot
from gitops_config import values as values_mod
from gitops_config import workers
from gitops_config.project import Project
from gitops_config.render import RenderedFile
from gitops_config.shard import Shard
from gitops_config.source import Source
from gitops_config.values import Values


@dataclass(frozen=True)
class EnvRender:
    env: str
    values: Values
    files: list[RenderedFile]


def render_one(source: Source, project: Project, env: str, *, sealed: bool = False,
               ) -> EnvRender:
    values = values_mod.merge(source, project, env, sealed=sealed)
    return EnvRender(env, values, render_mod.render_env(source, project, values))


def render(
        source: Source,
        project: Project,
        envs: Sequence[str] | None = None,
        *,
        sealed: bool = False,
        jobs: int | None = None,
        shard: Shard | None = None,
        on_done: Callable[[str], None] | None = None,
        reuse: bool = False,
) -> list[EnvRender]:
    """ENVS (default: all, in promotion order) rendered from SOURCE, on JOBS processes
    (default: one per core); with SHARD, only that share of the templates.

    With REUSE, an environment whose exact inputs a snapshot knows renders only
    what it has no entry for; its other files render when their content is first
    read (validation reads few). Every full render leaves its snapshot.
    """
    names = list(envs) if envs else project.env_names()
    for name in names:
        project.env(name)  # an unknown name fails before any work is done
    values = [values_mod.merge(source, project, name, sealed=sealed) for name in names]
    listed = render_mod.templates(source, project)
    templates = shard.take(listed) if shard is not None else listed
    prepared = [render_mod.prepare(v, project.limits) for v in values]
    jobs = jobs if jobs is not None else workers.default_jobs()
    keys = [snapshot.key(name, inputs(source, project, name, listed), sealed=sealed,
                         shard=shard) for name in names] if cache.default().enabled else []
    known = [snapshot.load(k) if reuse else None for k in keys] or [None] * len(names)
    if not any(known):
        files = workers.render_all(templates, prepared, jobs=jobs)
    else:
        files = [workers.render_all(templates, [p], jobs=jobs)[0] if snap is None
                 else _reusing(snap, templates, p, jobs=jobs)
                 for snap, p in zip(known, prepared, strict=True)]
    for k, snap, env_files in zip(keys, known, files, strict=False):  # no keys: no cache
        if snap is None and not cache.default().has('snapshot', k):
            snapshot.save(k, snapshot.entries(templates, env_files))
    results = []
    for v, env_files in zip(values, files, strict=True):
        results.append(EnvRender(v.env, v, sorted(env_files, key=lambda f: f.path)))
        if on_done is not None:
            on_done(v.env)
    return results


def _reusing(known: snapshot.Snapshot, templates: Sequence[render_mod.Template],
             prepared: render_mod.Prepared, *, jobs: int) -> list[RenderedFile]:
    """The files of one environment whose snapshot is KNOWN, in template order: what it
    has an entry for is rendered only when read."""
    [fresh] = workers.render_all([t for t in templates if t.path not in known], [prepared],
                                 jobs=jobs)
    rendered = iter(fresh)
    return [next(rendered) if t.path not in known else RenderedFile(
        prepared.env, known[t.path].output, t.path, reads=known[t.path].reads,
        digest=known[t.path].digest, load=functools.partial(render_mod.render_file, t, prepared))
        for t in templates]


def inputs(source: Source, project: Project, env: str,
           templates: Sequence[render_mod.Template] | None = None) -> dict[str, str]:
    """Every file ENV's rendering reads, with its blob SHA: equal inputs, equal output.
    TEMPLATES: the project's templates at SOURCE, when already listed."""
    paths = [C.PROJECT_FILE, *project.env(env).layers]
    if source.exists(C.SOPS_CONFIG_FILE):
        paths.append(C.SOPS_CONFIG_FILE)
    found = {p: (source.blob_id(p) if source.exists(p) else '') for p in paths}
    listed = templates if templates is not None else render_mod.templates(source, project)
    found.update((t.path, t.blob) for t in listed)
    return found
