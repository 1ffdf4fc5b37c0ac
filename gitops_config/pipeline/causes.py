"""Why an environment is compared: the inputs that differ between two revisions.

A review of an environment depends on the files its rendering reads (the
project file, .sops.yaml, its layers and templates) and on the schema files,
which decide its findings. Where none of them differs by blob SHA, nothing in
that environment can have changed; each one that differs is a Cause the report
shows.
"""

from __future__ import annotations

from gitops_config import constants as C
from gitops_config.pipeline import rendering
from gitops_config.pipeline.results import Cause
from gitops_config.project import Project
from gitops_config.source import Source


def inputs(source: Source, project: Project, env: str) -> dict[str, str]:
    """Every file ENV's review at SOURCE reads, with its blob SHA ('' where missing):
    what its rendering reads, plus the schema files, which decide findings."""
    found = rendering.inputs(source, project, env)
    schemas = project.raw.get('schemas') or {}
    for kind in ('values', 'rendered'):
        for entry in schemas.get(kind, ()):
            path = entry['schema']
            found[path] = source.blob_id(path) if source.exists(path) else ''
    return found


def causes_between(
    env: str,
    base: Source,
    base_project: Project | None,
    head: Source,
    head_project: Project,
) -> tuple[Cause, ...]:
    """The inputs of ENV that differ between BASE and HEAD, sorted; a side whose project
    lacks ENV (or BASE without a project file) reads nothing."""
    before = _inputs_if_any(base, base_project, env)
    after = _inputs_if_any(head, head_project, env)
    project = head_project if env in head_project.env_names() else base_project
    assert project is not None  # ENV is in one of them
    return tuple(
        sorted(
            _cause(project, env, p)
            for p in before.keys() | after.keys()
            if before.get(p, '') != after.get(p, '')
        )
    )


def _inputs_if_any(source: Source, project: Project | None, env: str) -> dict[str, str]:
    if project is None or env not in project.env_names():
        return {}
    return inputs(source, project, env)


def _cause(project: Project, env: str, path: str) -> Cause:
    if path == C.PROJECT_FILE:
        return Cause(path, 'project')
    if path == C.SOPS_CONFIG_FILE:
        return Cause(path, 'sops-rules')
    if path in project.env(env).layers:
        return Cause(path, 'layer')
    templates = (project.templates or '').rstrip('/') + '/'
    return Cause(path, 'template' if path.startswith(templates) else 'schema')
