"""What a set of changed files touches: the environments and value layers a hook or
`validate FILES` must check, and the outputs `render --check` must compare."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gitops_config import constants as C
from gitops_config import render as render_mod
from gitops_config.errors import GitopsConfigError
from gitops_config.pipeline.checker import head_text
from gitops_config.pipeline.checker import schema_map
from gitops_config.project import Project
from gitops_config.schema import BUILTIN
from gitops_config.schema import declared_schema
from gitops_config.source import Source

_SCHEMA_SUFFIXES = ('.json', '.yaml', '.yml')
# `$schema: x.json` or `"$schema": "x.json"`, near the top of a YAML or JSON file
_SCHEMA_KEY = re.compile(r'^\s*["\']?\$schema["\']?\s*:\s*["\']?([^"\'\s,]+)', re.MULTILINE)


@dataclass(frozen=True)
class Affected:
    """What a set of changed files touches: environments to render and check, value
    layers to check (None: every layer of those environments), and environments whose
    rendered output can change (for `render --check`)."""

    envs: tuple[str, ...]
    layers: tuple[str, ...] | None
    outputs: tuple[str, ...] = ()


def affected(
    project: Project,
    files: Iterable[str],
    source: Source | None = None,
) -> Affected:
    """What changed FILES affect. A layer: the environments that use it, and itself. A
    template: every environment's output. The project file or `.sops.yaml`: everything.
    A policy file or a JSON Schema (a mapped one, a file beside it that a `$ref` may
    reach, or one that a layer or template names itself, read from SOURCE): every
    environment and every layer, since rules and schemas apply to both."""
    names = project.env_names()
    schema_dirs = {
        posixpath.dirname(schema)
        for section in ('values', 'rendered')
        for _, schema in schema_map(project, section)
        if not schema.startswith(BUILTIN)
    }
    section = project.raw.get('policies') or {}
    policy_dirs = tuple(p.rstrip('/') + '/' for p in section.get('paths') or ['policies'])
    templates = project.templates.rstrip('/') + '/' if project.templates is not None else None
    named: set[str] | None = None  # schemas that files name themselves, read when needed
    envs: set[str] = set()
    outputs: set[str] = set()
    layers: list[str] | None = []
    for file in files:
        everything = file in (C.PROJECT_FILE, C.SOPS_CONFIG_FILE)
        if everything or (templates is not None and file.startswith(templates)):
            envs.update(names)
            outputs.update(names)
        checks_all = (
            everything
            or file.startswith(policy_dirs)
            or (posixpath.dirname(file) in schema_dirs and not _is_layer(project, file))
        )
        if not checks_all and source is not None and file.endswith(_SCHEMA_SUFFIXES):
            if named is None:
                named = _named_schemas(source, project)
            checks_all = file in named
        if checks_all:
            envs.update(names)
            layers = None
        for env in project.environments:
            if file in env.layers:
                envs.add(env.name)
                outputs.add(env.name)
                if layers is not None and file not in layers:
                    layers.append(file)
            if file.startswith(project.output_dir(env.name) + '/'):
                envs.add(env.name)
                outputs.add(env.name)
    return Affected(
        tuple(n for n in names if n in envs),
        None if layers is None else tuple(layers),
        tuple(n for n in names if n in outputs),
    )


def _is_layer(project: Project, file: str) -> bool:
    return any(file in env.layers for env in project.environments)


def _named_schemas(source: Source, project: Project) -> set[str]:
    """The schemas that layers and templates name themselves (a `$schema` key or a
    yaml-language-server modeline near the top)."""
    files = {layer for env in project.environments for layer in env.layers}
    files.update(t.path for t in render_mod.templates(source, project))
    named: set[str] = set()
    for path in sorted(files):
        try:
            head = head_text(source.read(path)[:4096]) or ''
        except GitopsConfigError:
            continue
        key = _SCHEMA_KEY.search(head)
        schema = declared_schema({'$schema': key.group(1)} if key else None, head, path)
        if schema is not None:
            named.add(schema)
    return named
