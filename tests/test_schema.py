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
    assert got == [
        ((), 'required'),
        (('extra',), 'additionalProperties'),
        (('port',), 'minimum'),
        (('tags', 1), 'type'),
    ]


@pytest.mark.parametrize('draft', sorted(DRAFTS))
def test_each_supported_draft_validates(tmp_path: Path, draft: str) -> None:
    store = _store(tmp_path, {'s.json': {'$schema': DRAFTS[draft], **SERVICE}})
    assert store.violations('s.json', {'name': 'x', 'port': 80}) == []
    assert [v.path for v in store.violations('s.json', {'name': 'x', 'port': 'http'})] == [
        ('port',)
    ]


def test_ref_to_another_schema_file_resolves(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            'schemas/main.json': {'properties': {'port': {'$ref': 'defs/common.json#/$defs/port'}}},
            'schemas/defs/common.json': {'$defs': {'port': {'type': 'integer', 'maximum': 65535}}},
        },
    )
    [violation] = store.violations('schemas/main.json', {'port': 70000})
    assert violation.path == ('port',)
    assert '65535' in violation.message


def test_unresolved_ref_names_the_schema_file_and_line(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            'schemas/main.json': (
                '{\n  "properties": {\n    "port": {"$ref": "missing.json#/port"}\n  }\n}\n'
            )
        },
    )
    with pytest.raises(SchemaRefError) as info:
        store.validator('schemas/main.json')
    assert str(info.value.location).startswith('schemas/main.json:3:')
    assert 'missing.json' in info.value.message


def test_remote_ref_is_refused_offline(tmp_path: Path) -> None:
    store = _store(tmp_path, {'s.json': {'$ref': 'https://example.com/schema.json'}})
    with pytest.raises(SchemaRefError):
        store.validator('s.json')


def test_invalid_schema_names_the_schema_file(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            'schemas/bad.json': (
                '{\n  "type": "object",\n  "properties": {"a": {"minimum": "one"}}\n}\n'
            )
        },
    )
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
    store = _store(
        tmp_path,
        {
            's.json': {
                'properties': {
                    'limit': {
                        'oneOf': [
                            {'type': 'integer'},
                            {
                                'type': 'object',
                                'required': ['rpm', 'tpm'],
                                'properties': {
                                    'rpm': {'type': 'integer'},
                                    'tpm': {'type': 'integer'},
                                },
                            },
                        ]
                    }
                }
            }
        },
    )
    found = store.violations('s.json', {'limit': {'rpm': 'x', 'tpm': 5}})
    assert len(found) == 1
    assert found[0].path == ('limit', 'rpm')
    assert 'closest is #2' in found[0].message


def test_formats_are_checked(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            's.json': {
                'properties': {
                    'url': {'type': 'string', 'format': 'uri'},
                    'mail': {'type': 'string', 'format': 'email'},
                }
            }
        },
    )
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

    store = _store(
        tmp_path,
        {
            's.json': {
                'properties': {
                    'key': {'type': 'string'},
                    'name': {'type': 'string'},
                    'sealed': {'type': 'string'},
                }
            }
        },
    )
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


# A proxy config that uses every top-level section LiteLLM's proxy documentation
# describes, and documented keys of each (docs.litellm.ai, proxy/config_settings).
LITELLM_DOCUMENTED = """\
include: [models/extra.yaml]
environment_variables:
  REDIS_HOST: redis.internal
  REDIS_PORT: "6379"
  LITELLM_LOG: INFO
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-eu
      api_base: https://example-eu.openai.azure.com/
      api_key: os.environ/AZURE_API_KEY
      api_version: "2024-08-01-preview"
      rpm: 300
      tpm: 1000000
      timeout: 30
      stream_timeout: 60
      tags: [eu]
    model_info:
      id: azure-gpt-4o-eu
      mode: chat
      base_model: azure/gpt-4o
      input_cost_per_token: 0.0000025
      supports_vision: true
      access_groups: [beta]
litellm_settings:
  drop_params: true
  num_retries: 2
  success_callback: [langfuse]
  failure_callback: [sentry]
  callbacks: [otel, prometheus]
  service_callbacks: [datadog]
  turn_off_message_logging: true
  redact_user_api_key_info: true
  json_logs: true
  request_timeout: 600
  force_ipv4: false
  default_fallbacks: [claude-3-5-sonnet]
  context_window_fallbacks: [{gpt-4o: [gpt-4o-mini]}]
  content_policy_fallbacks: [{gpt-4o: [claude-3-5-sonnet]}]
  cache: true
  cache_params: {type: redis, host: redis.internal, port: 6379, ttl: 600,
                 supported_call_types: [acompletion, aembedding]}
  max_budget: 100
  budget_duration: 30d
  mcp_aliases: {github: github_mcp_server}
  some_other_module_setting: 1
callback_settings:
  otel: {message_logging: false}
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DATABASE_URL
  database_connection_pool_limit: 10
  allow_requests_on_db_unavailable: true
  max_parallel_requests: 100
  global_max_parallel_requests: 1000
  background_health_checks: true
  health_check_interval: 300
  alerting: [slack]
  alerting_threshold: 300
  alert_to_webhook_url: {budget_alerts: https://hooks.example/budget}
  store_model_in_db: true
  disable_spend_logs: false
  allowed_routes: [/chat/completions]
  pass_through_endpoints: [{path: /v1/rerank, target: https://rerank.example/v1/rerank}]
  maximum_spend_logs_retention_period: 30d
router_settings:
  routing_strategy: usage-based-routing-v2
  redis_host: os.environ/REDIS_HOST
  redis_password: os.environ/REDIS_PASSWORD
  redis_port: 6379
  enable_pre_call_checks: true
  allowed_fails: 3
  cooldown_time: 30
  num_retries: 3
  timeout: 30
  retry_policy: {TimeoutErrorRetries: 3, RateLimitErrorRetries: 3}
  allowed_fails_policy: {RateLimitErrorAllowedFails: 100}
  fallbacks: [{gpt-4o: [gpt-4o-mini]}]
  model_group_alias: {gpt4: gpt-4o}
  optional_pre_call_checks: [prompt_caching]
guardrails:
  - guardrail_name: pii-mask
    litellm_params: {guardrail: presidio, mode: pre_call}
credential_list:
  - credential_name: azure-eu
    credential_values: {api_key: os.environ/AZURE_API_KEY}
    credential_info: {description: EU region}
mcp_servers:
  github_mcp_server: {url: https://mcp.example/github, transport: http}
vector_store_registry:
  - vector_store_name: docs
    litellm_params: {vector_store_id: kb-1, custom_llm_provider: bedrock}
assistant_settings: {custom_llm_provider: openai}
files_settings: [{custom_llm_provider: azure}]
finetune_settings: [{custom_llm_provider: azure}]
"""


def test_the_builtin_litellm_schema_takes_the_documented_proxy_config(tmp_path: Path) -> None:
    from gitops_config import yaml_io

    config = yaml_io.load(LITELLM_DOCUMENTED, 'config.yaml')
    assert _store(tmp_path, {}).violations('builtin:litellm-proxy', config) == []


@pytest.mark.parametrize(
    ('change', 'path', 'keyword'),
    [
        ({'litellm_setting': {}}, ('litellm_setting',), 'additionalProperties'),
        (
            {'model_list': [{'model_name': 'x', 'litellm_params': {}}]},
            ('model_list', 0, 'litellm_params'),
            'required',
        ),
        (
            {'model_list': [{'model_name': 'x', 'litellm_param': {'model': 'a/b'}}]},
            ('model_list', 0),
            'required',
        ),
        (
            {'router_settings': {'routing_strategy': 'fastest'}},
            ('router_settings', 'routing_strategy'),
            'enum',
        ),
        ({'litellm_settings': {'callbacks': 'otel'}}, ('litellm_settings', 'callbacks'), 'type'),
        (
            {'general_settings': {'max_parallel_requests': 'many'}},
            ('general_settings', 'max_parallel_requests'),
            'type',
        ),
        (
            {'environment_variables': {'NOT A NAME': 'x'}},
            ('environment_variables',),
            'propertyNames',
        ),
    ],
)
def test_the_builtin_litellm_schema_catches_mistakes(
    tmp_path: Path, change: dict[str, Any], path: tuple[Any, ...], keyword: str
) -> None:
    found = _store(tmp_path, {}).violations('builtin:litellm-proxy', change)
    assert (path, keyword) in [(v.path, v.keyword) for v in found], found


def test_a_repository_schema_can_ref_a_builtin_one(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            'values.json': {
                'type': 'object',
                'properties': {
                    'litellm_settings': {'$ref': 'builtin:litellm-proxy#/$defs/litellmSettings'}
                },
            }
        },
    )
    assert store.violations('values.json', {'litellm_settings': {'callbacks': ['otel']}}) == []
    [found] = store.violations('values.json', {'litellm_settings': {'cache': 'yes'}})
    assert found.path == ('litellm_settings', 'cache')


def test_an_unknown_builtin_names_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(SchemaFileError, match="no built-in schema 'builtin:litelm'") as info:
        _store(tmp_path, {}).violations('builtin:litelm', {})
    assert info.value.hint == 'the built-in schemas are: builtin:litellm-proxy'


def test_builtin_schemas_are_valid_json_schemas() -> None:
    import jsonschema_rs

    from gitops_config.schema import BUILTINS
    from gitops_config.schema import builtin_text

    for name in BUILTINS:
        jsonschema_rs.meta.validate(json.loads(builtin_text(f'builtin:{name}')))


def test_a_file_can_name_a_builtin_schema() -> None:
    assert (
        declared_schema({'$schema': 'builtin:litellm-proxy'}, None, 'litellm/config.yaml')
        == 'builtin:litellm-proxy'
    )
    assert (
        declared_schema(
            None, '# yaml-language-server: $schema=builtin:litellm-proxy\n', 'config.yaml'
        )
        == 'builtin:litellm-proxy'
    )
