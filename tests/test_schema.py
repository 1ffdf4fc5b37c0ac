from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.schema import SchemaFileError
from gitops_config.schema import SchemaRefError
from gitops_config.schema import SchemaStore
from gitops_config.schema import declared_schema
from gitops_config.schema import to_plain
from gitops_config.source import WorkTree

DRAFTS = {
    '4': 'http://json-schema.org/draft-04/schema#',
    '7': 'http://json-schema.org/draft-07/schema#',
    '2019-09': 'https://json-schema.org/draft/2019-09/schema',
    '2020-12': 'https://json-schema.org/draft/2020-12/schema',
}


def _store(tmp_path: Path, files: dict[str, Any]) -> SchemaStore:
    for name, content in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return SchemaStore(WorkTree(tmp_path))


SERVICE = {
    'type': 'object',
    'additionalProperties': False,
    'required': ['name'],
    'properties': {
        'name': {'type': 'string'},
        'port': {'type': 'integer', 'minimum': 1},
        'tags': {'type': 'array', 'items': {'type': 'string'}},
    },
}


def test_every_error_is_reported_with_its_path(tmp_path: Path) -> None:
    store = _store(tmp_path, {'s.json': SERVICE})
    found = store.violations('s.json', {'port': 0, 'tags': ['a', 3], 'extra': 1})
    got = sorted((v.path, v.keyword) for v in found)
    assert got == [((), 'required'), (('extra',), 'additionalProperties'),
                   (('port',), 'minimum'), (('tags', 1), 'type')]


@pytest.mark.parametrize('draft', sorted(DRAFTS))
def test_each_supported_draft_validates(tmp_path: Path, draft: str) -> None:
    store = _store(tmp_path, {'s.json': {'$schema': DRAFTS[draft], **SERVICE}})
    assert store.violations('s.json', {'name': 'x', 'port': 80}) == []
    assert [v.path for v in store.violations('s.json', {'name': 'x', 'port': 'http'})] == [
        ('port',)]


def test_ref_to_another_schema_file_resolves(tmp_path: Path) -> None:
    store = _store(tmp_path, {
        'schemas/main.json': {'properties': {'port': {'$ref': 'defs/common.json#/$defs/port'}}},
        'schemas/defs/common.json': {'$defs': {'port': {'type': 'integer', 'maximum': 65535}}},
    })
    [violation] = store.violations('schemas/main.json', {'port': 70000})
    assert violation.path == ('port',)
    assert '65535' in violation.message


def test_unresolved_ref_names_the_schema_file_and_line(tmp_path: Path) -> None:
    store = _store(tmp_path, {'schemas/main.json': (
        '{\n  "properties": {\n    "port": {"$ref": "missing.json#/port"}\n  }\n}\n')})
    with pytest.raises(SchemaRefError) as info:
        store.validator('schemas/main.json')
    assert str(info.value.location).startswith('schemas/main.json:3:')
    assert 'missing.json' in info.value.message


def test_remote_ref_is_refused_offline(tmp_path: Path) -> None:
    store = _store(tmp_path, {'s.json': {'$ref': 'https://example.com/schema.json'}})
    with pytest.raises(SchemaRefError):
        store.validator('s.json')


def test_invalid_schema_names_the_schema_file(tmp_path: Path) -> None:
    store = _store(tmp_path, {'schemas/bad.json': (
        '{\n  "type": "object",\n  "properties": {"a": {"minimum": "one"}}\n}\n')})
    with pytest.raises(SchemaFileError) as info:
        store.validator('schemas/bad.json')
    assert info.value.location is not None
    assert info.value.location.path == 'schemas/bad.json'
    assert info.value.location.line == 3
    assert 'invalid JSON Schema' in info.value.message


def test_missing_schema_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaFileError, match='not found'):
        _store(tmp_path, {}).validator('schemas/none.json')


def test_yaml_schema_files_are_read_too(tmp_path: Path) -> None:
    store = _store(tmp_path, {'s.yaml': 'type: object\nrequired: [name]\n'})
    assert [v.keyword for v in store.violations('s.yaml', {})] == ['required']


def test_one_of_reports_the_closest_branch_only(tmp_path: Path) -> None:
    store = _store(tmp_path, {'s.json': {'properties': {'limit': {'oneOf': [
        {'type': 'integer'},
        {'type': 'object', 'required': ['rpm', 'tpm'],
         'properties': {'rpm': {'type': 'integer'}, 'tpm': {'type': 'integer'}}},
    ]}}}})
    found = store.violations('s.json', {'limit': {'rpm': 'x', 'tpm': 5}})
    assert len(found) == 1
    assert found[0].path == ('limit', 'rpm')
    assert 'closest is #2' in found[0].message


def test_formats_are_checked(tmp_path: Path) -> None:
    store = _store(tmp_path, {'s.json': {'properties': {
        'url': {'type': 'string', 'format': 'uri'},
        'mail': {'type': 'string', 'format': 'email'}}}})
    found = store.violations('s.json', {'url': 'not a uri', 'mail': 'nobody'})
    assert sorted(v.path for v in found) == [('mail',), ('url',)]


def test_each_schema_compiles_once(tmp_path: Path) -> None:
    store = _store(tmp_path, {'s.json': SERVICE})
    first = store.validator('s.json')
    (tmp_path / 's.json').write_text('{"type": "string"}')
    assert store.validator('./s.json') is first


def test_secrets_and_subclasses_reach_the_engine_as_plain_types(tmp_path: Path) -> None:
    class Name(str):
        pass

    store = _store(tmp_path, {'s.json': {'properties': {
        'key': {'type': 'string'}, 'name': {'type': 'string'}, 'sealed': {'type': 'string'}}}})
    data = {'key': Secret('sk-123456'), 'name': Name('x'), 'sealed': SealedSecret('ENC[x]')}
    assert store.violations('s.json', data) == []
    assert to_plain(data) == {'key': '<secret>', 'name': 'x', 'sealed': '<secret>'}
    assert type(to_plain(data)['name']) is str


def test_a_file_can_declare_its_schema() -> None:
    modeline = '# yaml-language-server: $schema=../schemas/app.json\na: 1\n'
    assert declared_schema({'a': 1}, modeline, 'values/prod.yaml') == 'schemas/app.json'
    assert declared_schema({'$schema': 'schema.json'}, None, 'conf/x.json') == 'conf/schema.json'
    assert declared_schema({'$schema': 'https://example.com/s.json'}, None, 'x.json') is None
    assert declared_schema({'a': 1}, 'a: 1\n', 'x.yaml') is None


@pytest.mark.parametrize('depth', [900, 5000])  # past jsonschema-rs's limit; past json's
def test_a_schema_nested_too_deep_is_one_clear_error(tmp_path: Path, depth: int) -> None:
    store = _store(tmp_path, {'schemas/deep.json': '{"items":' * depth + '{}' + '}' * depth})
    with pytest.raises(SchemaFileError) as info:
        store.validator('schemas/deep.json')
    assert info.value.location is not None
    assert info.value.location.path == 'schemas/deep.json'


def test_a_redos_pattern_in_a_schema_is_linear(tmp_path: Path) -> None:
    # jsonschema-rs runs `pattern` on Rust's regex (fancy-regex bounds backtracking)
    store = _store(tmp_path, {'s.json': {'type': 'string', 'pattern': '^(a+)+$'}})
    [violation] = store.violations('s.json', 'a' * 100_000 + '!')
    assert violation.keyword == 'pattern'
