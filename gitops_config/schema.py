"""JSON Schema validation: compile each schema once, report every error at its node.

jsonschema-rs is the engine (drafts 4, 6, 7, 2019-09 and 2020-12, formats on).
Schemas are read from the project's Source only: a `$ref` to another file of
the repository resolves, anything remote is refused, because validation runs
offline and on pull requests from forks.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from importlib import resources
from typing import Any

import jsonschema_rs

from gitops_config import yaml_io
from gitops_config.errors import FileMissingError
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.source import Source
from gitops_config.source import normalize

# A made-up base so that relative `$ref`s resolve to project paths without
# ever naming a real directory (the Source may be a commit, not a disk).
_BASE = 'file:///__project__/'
SECRET_MARKER = '<secret>'
_MODELINE = re.compile(r'#\s*yaml-language-server:\s*\$schema=(\S+)')
# Schemas shipped in the package: `schema: builtin:NAME` in gitops-config.yaml, or a
# $ref to builtin:NAME#/$defs/... from a schema of the repository.
BUILTIN = 'builtin:'
BUILTINS = {'litellm-proxy': 'litellm-proxy.schema.json'}


class SchemaFileError(GitopsConfigError):
    code = 'invalid-schema'


class SchemaRefError(SchemaFileError):
    code = 'schema-ref-unresolved'


@dataclass(frozen=True, slots=True)
class Violation:
    """One schema error: where in the instance, and what is wrong."""

    path: NodePath
    message: str
    keyword: str


class _Unresolved(Exception):
    pass


class SchemaStore:
    """Loads and compiles schemas from one Source; each schema compiles once."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._validators: dict[str, Any] = {}
        self._documents: dict[str, Any] = {}

    def violations(self, schema_path: str, instance: Any) -> list[Violation]:
        validator = self.validator(schema_path)
        try:
            errors = list(validator.iter_errors(instance))
        except ValueError:
            # jsonschema-rs refuses str/int subclasses and our own leaf types.
            errors = list(validator.iter_errors(to_plain(instance)))
        found: list[Violation] = []
        for error in errors:
            found.extend(_expand(error))
        return found

    def validator(self, schema_path: str) -> Any:
        if not schema_path.startswith(BUILTIN):
            schema_path = normalize(schema_path, what='schema')
        cached = self._validators.get(schema_path)
        if cached is None:
            cached = self._validators[schema_path] = self._compile(schema_path)
        return cached

    def _document(self, path: str, *, referrer: str | None = None) -> Any:
        doc = self._documents.get(path)
        if doc is not None:
            return doc
        if path.startswith(BUILTIN):
            doc = self._documents[path] = json.loads(builtin_text(path))
            return doc
        try:
            data = self.source.read(path)
        except FileMissingError:
            if referrer is None:
                raise SchemaFileError(
                    'schema file not found',
                    location=Location(path),
                    hint='fix the schema path in gitops-config.yaml or the $schema reference',
                ) from None
            raise _Unresolved(path) from None
        try:
            doc = json.loads(data) if path.endswith('.json') else yaml_io.load(data, path)
        except (ValueError, RecursionError, GitopsConfigError) as exc:  # nested too deep
            raise SchemaFileError(
                f'schema is not valid JSON or YAML: {exc}', location=Location(path)
            ) from None
        if not isinstance(doc, (dict, bool)):
            raise SchemaFileError('a schema must be an object', location=Location(path, 1, 1))
        self._documents[path] = doc
        return doc

    def _compile(self, schema_path: str) -> Any:
        schema = self._document(schema_path)

        def retrieve(uri: str) -> Any:
            if uri.startswith(BUILTIN):
                return self._document(uri.split('#')[0], referrer=schema_path)
            if not uri.startswith(_BASE):
                raise _Unresolved(uri)
            return self._document(normalize(uri[len(_BASE) :]), referrer=schema_path)

        base = schema_path if schema_path.startswith(BUILTIN) else _BASE + schema_path
        try:
            return jsonschema_rs.validator_for(
                schema,
                retriever=retrieve,
                base_uri=base,
                validate_formats=True,
            )
        except jsonschema_rs.ValidationError as exc:
            raise self._compile_error(schema_path, exc) from None
        except ValueError as exc:  # "Recursion limit reached": nested too deep
            raise SchemaFileError(
                f'cannot use this JSON Schema: {exc}', location=Location(schema_path)
            ) from None

    def _compile_error(self, schema_path: str, exc: Any) -> SchemaFileError:
        message = str(getattr(exc, 'message', exc))
        if 'retrieving it failed' in message or 'not present in a registry' in message:
            target = _missing_target(message)
            where = _find_ref(self._located(schema_path), target, schema_path) or Location(
                schema_path
            )
            return SchemaRefError(
                f'$ref {target!r} does not resolve',
                location=where,
                hint='a $ref may point to another schema file of this repository only',
            )
        located = self._located(schema_path)
        where = _locate(located, tuple(exc.instance_path), schema_path)
        return SchemaFileError(
            f'invalid JSON Schema: {message}',
            location=where,
            hint='the schema itself breaks the rules of its JSON Schema draft',
        )

    def _located(self, path: str) -> tuple[Any, dict[NodePath, tuple[int, int]]]:
        text = builtin_text(path) if path.startswith(BUILTIN) else self.source.read(path)
        docs = yaml_io.load_all_located(text, path)
        return docs[0] if docs else (None, {})


def builtin_text(name: str) -> bytes:
    """The shipped schema NAME (`builtin:litellm-proxy`), as bytes."""
    file = BUILTINS.get(name.removeprefix(BUILTIN))
    if file is None:
        known = ', '.join(BUILTIN + n for n in sorted(BUILTINS))
        raise SchemaFileError(
            f'no built-in schema {name!r}',
            location=Location(name),
            hint=f'the built-in schemas are: {known}',
        )
    return resources.files('gitops_config').joinpath('schemas', file).read_bytes()


def _missing_target(message: str) -> str:
    match = re.search(r"Resource '([^']*)'", message)
    uri = match.group(1) if match else '?'
    return uri[len(_BASE) :] if uri.startswith(_BASE) else uri


def _find_ref(
    located: tuple[Any, dict[NodePath, tuple[int, int]]],
    target: str,
    file: str,
) -> Location | None:
    for path, value in _walk(located[0], ()):
        if path and path[-1] == '$ref' and isinstance(value, str):
            file_part = value.split('#', 1)[0]
            if file_part and (target.endswith(file_part.lstrip('./')) or file_part in target):
                return _locate(located, path, file)
    return None


def _walk(node: Any, path: NodePath) -> Iterator[tuple[NodePath, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def _locate(
    located: tuple[Any, dict[NodePath, tuple[int, int]]],
    path: NodePath,
    file: str,
) -> Location:
    positions = located[1]
    name = file
    for cut in range(len(path), -1, -1):
        found = positions.get(path[:cut])
        if found is not None:
            return Location(name, found[0], found[1])
    return Location(name)


def _rank(branch: list[Any], at: list[str | int]) -> tuple[int, int, int]:
    # A branch whose very type (or const) is wrong is the least likely intent;
    # then fewer errors win; then the deeper one (it matched more before failing).
    wrong_kind = any(
        e.kind.name in ('type', 'const', 'enum') and e.instance_path == at for e in branch
    )
    depth = max((len(e.instance_path) for e in branch), default=0)
    return (int(wrong_kind), len(branch), -depth)


def _expand(error: Any) -> list[Violation]:
    """One error, or for a failed oneOf/anyOf the errors of the closest branch."""
    name = error.kind.name
    context = getattr(error.kind, 'context', None)
    if (
        name in ('oneOf', 'anyOf')
        and context
        and type(error.kind).__name__ != ('OneOfMultipleValid')
    ):
        at = error.instance_path
        index, best = min(enumerate(context), key=lambda item: _rank(item[1], at))
        prefix = f'no {name} alternative matches; closest is #{index + 1}: '
        inner = [v for sub in best for v in _expand(sub)]
        if inner:
            return [replace(v, message=prefix + v.message) for v in inner]
    path = tuple(error.instance_path)
    if name in ('additionalProperties', 'unevaluatedProperties'):
        # Point at the offending key itself, not at its parent object.
        unexpected = error.kind.as_dict().get('unexpected') or []
        return [
            Violation((*path, key), f'property {key!r} is not allowed', name) for key in unexpected
        ]
    return [Violation(path, error.message, name)]


def to_plain(node: Any) -> Any:
    """Plain JSON types only: secrets become a marker, tagged nodes their value."""
    if isinstance(node, (Secret, SealedSecret)):
        return SECRET_MARKER
    if isinstance(node, Mapping):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, yaml_io.Tagged):
        return to_plain(node.value)
    return str(node)


def declared_schema(document: Any, text: str | None, file: str) -> str | None:
    """The schema a file names itself: a `$schema` key or a yaml-language-server modeline.

    Only local paths count (relative to the file's folder); URLs are ignored
    because validation runs offline.
    """
    ref: str | None = None
    if text is not None:
        head = text[:4096]
        match = _MODELINE.search(head)
        if match:
            ref = match.group(1)
    if ref is None and isinstance(document, dict):
        value = document.get('$schema')
        if isinstance(value, str):
            ref = value
    if ref is not None and ref.startswith(BUILTIN):
        return ref
    if ref is None or '://' in ref:
        return None
    joined = posixpath.join(posixpath.dirname(file), ref)
    try:
        return normalize(joined, what='schema')
    except GitopsConfigError:
        return None
