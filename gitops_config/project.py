"""The project file, gitops-config.yaml: loaded, checked against its shipped schema, frozen."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from importlib import resources
from pathlib import Path
from typing import Any

from gitops_config import constants as C
from gitops_config import regex
from gitops_config import revision
from gitops_config import yaml_io
from gitops_config.errors import FileMissingError
from gitops_config.errors import InvalidProjectError
from gitops_config.errors import UsageError
from gitops_config.fsutil import UnprintableNameError
from gitops_config.fsutil import check_printable
from gitops_config.limits import DEFAULT_LIMITS
from gitops_config.limits import Limits
from gitops_config.model import Location
from gitops_config.source import PathOutsideError
from gitops_config.source import Source
from gitops_config.source import normalize
from gitops_config.suggest import did_you_mean

Positions = dict[tuple[str | int, ...], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    layers: tuple[str, ...]
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    environments: tuple[Environment, ...]
    templates: str | None
    output: str
    merge: tuple[tuple[str, str], ...]  # (KEYPATH glob of a list, identifying field)
    raw: Mapping[str, Any] = field(repr=False)
    positions: Positions = field(repr=False, compare=False)
    limits: Limits = field(default=DEFAULT_LIMITS, compare=False)  # what rendering may cost

    @classmethod
    def empty(cls, root: Path) -> Project:
        """A project with no environments: for files checked outside any project."""
        return cls(root, (), None, 'rendered/{env}', (), {}, {})

    def env_names(self) -> list[str]:
        return [e.name for e in self.environments]

    def env(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise UsageError(
            f'unknown environment {name!r}', hint=f'environments: {", ".join(self.env_names())}'
        )

    def output_dir(self, env: str) -> str:
        """ENV's output folder, relative to the root; checked to be strictly inside
        the repository and outside .git (load() checks it overlaps no input too)."""
        try:
            out = normalize(check_printable(self.output.replace('{env}', env)), what='output')
        except (PathOutsideError, UnprintableNameError) as exc:
            raise _invalid(exc.message, self.positions, ('output',), hint=exc.hint) from None
        problem = self.output_problem(out)
        if problem:
            raise _invalid(
                f'output {self.output!r} gives {env} the folder {out or "."!r}, {problem}',
                self.positions,
                ('output',),
                hint='render to a folder of its own, such as rendered/{env}',
            )
        return out

    def output_problem(self, out: str) -> str | None:
        """Why OUT (normalised, relative to the root) cannot be an output folder, if it
        cannot: a render writes there and removes what it wrote there earlier."""
        if not out:
            return 'the project root: an output folder must be strictly inside the repository'
        if any(part.casefold() == '.git' for part in out.split('/')):
            return 'inside .git: an output folder must be outside .git'
        for path, what in _inputs(self):
            if _overlap(out, path):
                return (
                    f'which overlaps {what} {path!r}: an output folder must not hold or '
                    'lie in an input'
                )
        return None

    def location(self, *path: str | int) -> Location:
        """Where PATH is set in the project file (or the file itself)."""
        while path and path not in self.positions:
            path = path[:-1]
        line, column = self.positions.get(path, (0, 0))
        return Location(C.PROJECT_FILE, line or None, column or None)


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the project file, as shipped (editors can autocomplete with it)."""
    text = resources.files('gitops_config').joinpath('schemas/project.schema.json').read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def open_project(start: Path, ref: str | None = None) -> tuple[Source, Project]:
    """The project at or above START, from the working tree or from commit REF (read
    from git objects only, so this works in a dirty tree and in a bare clone)."""
    source = revision.open_revision(start, ref)
    return source, load(source)


def load(source: Source, root: Path | None = None) -> Project:
    """The project file of SOURCE; ROOT is the folder it lives in on disk."""
    root = root if root is not None else source.root
    text = source.read(C.PROJECT_FILE)
    located = yaml_io.load_all_located(text, C.PROJECT_FILE)
    if not located or located[0][0] is None:
        raise InvalidProjectError(
            f'{C.PROJECT_FILE} is empty', hint='declare at least `environments:`'
        )
    data, positions = located[0]
    _check(data, schema(), (), positions)
    _check_patterns(data, positions)
    project = _build(data, root, positions)
    _check_paths(project)
    return project


def load_pair(base: Source, head: Source) -> tuple[Project | None, Project]:
    """The project at BASE (None where the project file is new) and at HEAD, each
    rendering within the lower of their limits: a pull request cannot raise its own."""
    head_project = load(head)
    try:
        base_project = load(base, head_project.root)
    except FileMissingError:
        return None, head_project  # the project file is new in HEAD
    limits = base_project.limits.stricter(head_project.limits)
    return (
        dataclasses.replace(base_project, limits=limits),
        dataclasses.replace(head_project, limits=limits),
    )


def _check_patterns(data: dict[str, Any], positions: Positions) -> None:
    """The project's own regular expressions run on RE2 (regex.py), or the file is
    refused at the one that cannot."""
    patterns = (data.get('secrets') or {}).get('key_patterns') or ()
    if patterns:
        for i, pattern in enumerate(patterns):
            where = _invalid('', positions, ('secrets', 'key_patterns', i)).location
            regex.compile(pattern, what=f'secrets.key_patterns[{i}]', location=where)


def _build(data: dict[str, Any], root: Path, positions: Positions) -> Project:
    envs = []
    seen: set[str] = set()
    for i, item in enumerate(data['environments']):
        if item['name'] in seen:
            raise _invalid(
                f'environment {item["name"]!r} is declared twice',
                positions,
                ('environments', i, 'name'),
            )
        seen.add(item['name'])
        envs.append(
            Environment(
                name=item['name'],
                layers=tuple(item['layers']),
                recipients=tuple(item.get('recipients', ())),
            )
        )
    merge = tuple((m['path'], m['key']) for m in data.get('merge', ()))
    return Project(
        root=root,
        environments=tuple(envs),
        templates=data.get('templates'),
        output=data.get('output', 'rendered/{env}'),
        merge=merge,
        raw=data,
        positions=positions,
        limits=Limits.from_project(data),
    )


def _check_paths(project: Project) -> None:
    for i, env in enumerate(project.environments):
        for j, layer in enumerate(env.layers):
            _safe(project, layer, ('environments', i, 'layers', j))
    if project.templates is not None:
        _safe(project, project.templates, ('templates',))
    if '{env}' not in project.output:
        raise _invalid(
            'output must contain {env}',
            project.positions,
            ('output',),
            hint='for example: rendered/{env}',
        )
    _check_outputs(project)


def _check_outputs(project: Project) -> None:
    """Each environment's output folder (after {env} is replaced and the path
    normalised) is its own: a render removes what it wrote earlier there."""
    seen: dict[str, str] = {}
    for env in project.env_names():
        out = project.output_dir(env)
        for other, folder in seen.items():
            if _overlap(out, folder):
                raise _invalid(
                    f'output {project.output!r} gives {other} and {env} overlapping folders '
                    f'({folder!r}, {out!r}): each environment needs its own output folder',
                    project.positions,
                    ('output',),
                    hint='keep {env} as a folder of its own',
                )
        seen[env] = out


def _inputs(project: Project) -> list[tuple[str, str]]:
    """Every path the project reads, with what it is (normalised; a path that leaves
    the project is refused where it is read)."""
    found = [(C.PROJECT_FILE, 'the project file'), (C.SOPS_CONFIG_FILE, 'the sops rules')]
    found += [(layer, 'the value layer') for env in project.environments for layer in env.layers]
    if project.templates is not None:
        found.append((project.templates, 'the templates folder'))
    schemas = project.raw.get('schemas') or {}
    found += [
        (m['schema'], 'the schema')
        for section in ('values', 'rendered')
        for m in schemas.get(section) or ()
    ]
    policies = project.raw.get('policies') or {}
    found += [(p, 'the policy path') for p in policies.get('paths') or ['policies']]
    return [(clean, what) for path, what in found if (clean := _normal(path)) is not None]


def _normal(path: str) -> str | None:
    try:
        return normalize(path)
    except PathOutsideError:
        return None


def _overlap(a: str, b: str) -> bool:
    # compared without case: on macOS and Windows `Templates` is `templates`
    a, b = a.casefold(), b.casefold()
    return not a or not b or a == b or a.startswith(b + '/') or b.startswith(a + '/')


def _safe(project: Project, path: str, where: tuple[str | int, ...]) -> None:
    try:
        clean = normalize(check_printable(path))
    except (PathOutsideError, UnprintableNameError) as exc:
        raise _invalid(exc.message, project.positions, where, hint=exc.hint) from None
    if any(part.casefold() == '.git' for part in clean.split('/')):
        raise _invalid(
            f'{path!r} is inside .git',
            project.positions,
            where,
            hint='keep every path in the project, outside .git',
        )


def _invalid(
    message: str, positions: Positions, path: tuple[str | int, ...], hint: str | None = None
) -> InvalidProjectError:
    while path and path not in positions:
        path = path[:-1]
    line, column = positions.get(path, (1, 1))
    return InvalidProjectError(
        f'invalid config: {message}', location=Location(C.PROJECT_FILE, line, column), hint=hint
    )


_TYPES: dict[str, type | tuple[type, ...]] = {
    'object': dict,
    'array': list,
    'string': str,
    'integer': int,
    'boolean': bool,
    'number': (int, float),
}


def _check(
    value: Any, node: dict[str, Any], path: tuple[str | int, ...], positions: Positions
) -> None:
    """The subset of JSON Schema the project schema uses, with user-facing messages."""
    if '$ref' in node:
        node = schema()['$defs'][node['$ref'].rsplit('/', 1)[1]]
    shown = '.'.join(str(p) for p in path) or 'the project file'
    expected = node.get('type')
    if expected is not None:
        ok = isinstance(value, _TYPES[expected])
        if ok and expected in ('integer', 'number') and isinstance(value, bool):
            ok = False
        if not ok:
            raise _invalid(
                f'{shown} must be {_article(expected)}, not {_kind(value)}', positions, path
            )
    if 'enum' in node and value not in node['enum']:
        raise _invalid(f'{shown} must be one of {node["enum"]}', positions, path)
    if isinstance(value, str):
        if 'pattern' in node and not re.search(_ecma_end(node['pattern']), value):
            rule = node.get('errorMessage') or f'does not match {node["pattern"]}'
            raise _invalid(f'{shown} {value!r} {rule}', positions, path)
        if len(value) < node.get('minLength', 0):
            raise _invalid(f'{shown} must not be empty', positions, path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 'minimum' in node and value < node['minimum']:
            raise _invalid(f'{shown} must be at least {node["minimum"]}', positions, path)
        if 'exclusiveMinimum' in node and value <= node['exclusiveMinimum']:
            raise _invalid(f'{shown} must be more than {node["exclusiveMinimum"]}', positions, path)
    if isinstance(value, list):
        if len(value) < node.get('minItems', 0):
            raise _invalid(f'{shown} needs at least {node["minItems"]} item(s)', positions, path)
        for i, item in enumerate(value):
            if 'items' in node:
                _check(item, node['items'], (*path, i), positions)
    if isinstance(value, dict):
        props: dict[str, Any] = node.get('properties', {})
        for key in node.get('required', ()):
            if key not in value:
                raise _invalid(f'{shown} is missing {key!r}', positions, path)
        for key, item in value.items():
            if key in props:
                _check(item, props[key], (*path, key), positions)
            elif node.get('additionalProperties') is False:
                hint = did_you_mean(key, props) or f'allowed here: {", ".join(props)}'
                raise _invalid(
                    f'unknown key {key!r} in {shown}', positions, (*path, key), hint=hint
                )


def _ecma_end(pattern: str) -> str:
    # In JSON Schema (ECMA 262) `$` ends the string; in Python it also matches before a
    # final newline, which would let 'dev\n' through as an environment name.
    if pattern.endswith('$') and not pattern.endswith('\\$'):
        return pattern[:-1] + r'\Z'
    return pattern


def _article(kind: str) -> str:
    noun = {'object': 'mapping', 'array': 'list'}.get(kind, kind)
    return f'an {noun}' if noun[0] in 'aeiou' else f'a {noun}'


def _kind(value: Any) -> str:
    if value is None:
        return 'null'
    return {
        dict: 'a mapping',
        list: 'a list',
        str: 'a string',
        bool: 'a boolean',
        int: 'an integer',
        float: 'a number',
    }.get(type(value), type(value).__name__)
