"""One environment on one Source: merge its layers, render its templates."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_config import constants as C
from gitops_config import render as render_mod
from gitops_config import values as values_mod
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
) -> list[EnvRender]:
    """ENVS (default: all, in promotion order) rendered from SOURCE, on JOBS processes
    (default: one per core); with SHARD, only that share of the templates."""
    from gitops_config import workers

    names = list(envs) if envs else project.env_names()
    for name in names:
        project.env(name)  # an unknown name fails before any work is done
    values = [values_mod.merge(source, project, name, sealed=sealed) for name in names]
    templates = render_mod.templates(source, project)
    if shard is not None:
        templates = shard.take(templates)
    prepared = [render_mod.prepare(v) for v in values]
    files = workers.render_all(templates, prepared,
                               jobs=jobs if jobs is not None else workers.default_jobs())
    results = []
    for v, env_files in zip(values, files, strict=True):
        results.append(EnvRender(v.env, v, sorted(env_files, key=lambda f: f.path)))
        if on_done is not None:
            on_done(v.env)
    return results


def inputs(source: Source, project: Project, env: str) -> dict[str, str]:
    """Every file ENV's rendering reads, with its blob SHA: equal inputs, equal output."""
    paths = [C.PROJECT_FILE, *project.env(env).layers]
    if project.templates is not None:
        paths += source.files(project.templates)
    if source.exists(C.SOPS_CONFIG_FILE):
        paths.append(C.SOPS_CONFIG_FILE)
    return {p: (source.blob_id(p) if source.exists(p) else '') for p in paths}
