from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from gitops_config.errors import GitopsConfigError
from gitops_config.incremental.store import ENV_DIR
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.pipeline import rendering
from gitops_config.pipeline.affected import affected
from gitops_config.pipeline.results import CheckResult
from gitops_config.pipeline.validation import check
from gitops_config.pipeline.validation import scan_secrets
from gitops_config.policy.load import PolicyConfigError
from gitops_config.policy.rules import PolicyFileError
from gitops_config.policy.waivers import WaiverError
from gitops_config.project import load
from gitops_config.run import Run
from gitops_config.schema import SchemaFileError
from gitops_config.source import WorkTree
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import BASIC
from tests._helpers.projects import PROJECT

COMMON = str(BASIC['values/common.yaml'])
PROD = str(BASIC['values/prod.yaml'])

CONFIG_SCHEMA = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    'type': 'object',
    'required': ['name', 'replicas', 'models'],
    'properties': {
        'replicas': {'type': 'integer', 'maximum': 5},
        'models': {
            'type': 'array',
            'items': {'type': 'object', 'properties': {'rpm': {'type': 'integer', 'minimum': 2}}},
        },
    },
}
LAYER_SCHEMA = {
    'type': 'object',
    'properties': {
        'app': {'type': 'object', 'properties': {'replicas': {'type': 'integer', 'minimum': 1}}}
    },
}
POLICY = """\
rules:
  - id: team/prod-replicas
    severity: warning
    message: prod needs 2 replicas
    match: {environments: [prod], files: [config.yaml]}
    expr: "doc.replicas >= 2 ? [] : [{'path': ['replicas'], 'message': string(doc.replicas)}]"
  - id: team/names
    message: model name too long
    match: {files: [config.yaml]}
    expr: |
      indexed(doc.models).filter(e, size(e.value.name) > 5)
        .map(e, {'path': ['models', e.index, 'name'], 'message': e.value.name})
"""
SECTIONS = """\
schemas:
  values:
    - files: values/*.yaml
      schema: schemas/layer.json
  rendered:
    - files: config.yaml
      schema: schemas/config.json
"""


def _project(
    git_repo: GitRepo, extra: dict[str, Any] | None = None, sections: str = SECTIONS
) -> GitRepo:
    files: dict[str, Any] = {
        **BASIC,
        'gitops-config.yaml': PROJECT + sections,
        'schemas/config.json': json.dumps(CONFIG_SCHEMA, indent=2),
        'schemas/layer.json': json.dumps(LAYER_SCHEMA, indent=2),
        'policies/team.yaml': POLICY,
    }
    files.update(extra or {})
    git_repo.commit(files)
    return git_repo


def _check(repo: GitRepo, *, envs: list[str] | None = None, **kwargs: Any) -> CheckResult:
    """REPO's working tree validated, in one run of the environment (its cache, if set)."""
    source = WorkTree(repo.path)
    project = load(source, repo.path)
    run = Run.from_environment()
    renders = rendering.render(source, project, envs, sealed=True, run=run)
    result = check(source, project, renders, run=run, **kwargs)
    run.finish()
    return result


def _where(result: CheckResult, rule: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (str(f.location), f.env, str(f.origin) if f.origin else None)
        for f in result.findings
        if f.rule == rule
    ]


def test_a_clean_project_passes(git_repo: GitRepo) -> None:
    result = _check(_project(git_repo, sections=''), envs=['dev'])
    assert result.findings == ()
    assert result.status == 'ok'
    assert 'rendered/dev/config.yaml' in result.checked
    assert 'values/common.yaml' in result.checked


def test_rendered_schema_error_names_rendered_line_and_layer_line(git_repo: GitRepo) -> None:
    repo = _project(git_repo, {'values/prod.yaml': 'app:\n  replicas: 9\n'})
    result = _check(repo)
    assert _where(result, 'schema') == [
        ('rendered/prod/config.yaml:3:1', 'prod', 'values/prod.yaml:2:3')
    ]
    [finding] = [f for f in result.findings if f.rule == 'schema']
    assert finding.message.startswith('replicas: ')
    assert finding.hint == 'schema: schemas/config.json'
    assert result.failed


def test_every_schema_error_is_reported(git_repo: GitRepo) -> None:
    repo = _project(
        git_repo,
        {'values/common.yaml': COMMON.replace('rpm: 10', 'rpm: 1').replace('rpm: 5', 'rpm: 0')},
    )
    result = _check(repo, envs=['dev'])
    assert [f.message.split(':')[0] for f in result.findings if f.rule == 'schema'] == [
        'models[0].rpm',
        'models[1].rpm',
    ]


def test_layer_schema_error_is_at_the_layer_line(git_repo: GitRepo) -> None:
    repo = _project(git_repo, {'values/dev.yaml': '# dev\napp:\n  replicas: 0\n'})
    result = _check(repo, envs=['dev'])
    assert ('values/dev.yaml:3:3', None, None) in _where(result, 'schema')


def test_policy_findings_with_severity_and_path(git_repo: GitRepo) -> None:
    repo = _project(git_repo, {'values/prod.yaml': 'app:\n  replicas: 1\n'}, sections='')
    result = _check(repo)
    assert _where(result, 'team/prod-replicas') == [
        ('rendered/prod/config.yaml:3:1', 'prod', 'values/prod.yaml:2:3')
    ]
    assert [f.severity for f in result.findings] == [Severity.WARNING]
    assert not result.failed
    strict = _check(repo, strict=True)
    assert strict.failed
    assert strict.status == 'fail'


def test_list_results_locate_each_item(git_repo: GitRepo) -> None:
    common = COMMON.replace('name: large', 'name: larger')
    result = _check(_project(git_repo, {'values/common.yaml': common}, sections=''), envs=['dev'])
    [finding] = [f for f in result.findings if f.rule == 'team/names']
    assert str(finding.location) == 'rendered/dev/config.yaml:8:5'
    assert finding.message == 'models[1].name: model name too long: larger'
    assert str(finding.origin) == 'values/common.yaml:9:5'


def test_runtime_error_is_a_finding_and_the_run_goes_on(git_repo: GitRepo) -> None:
    policy = (
        POLICY
        + """\
  - id: team/crashes
    message: m
    match: {files: [config.yaml]}
    expr: doc.nothing.here == 1
"""
    )
    result = _check(_project(git_repo, {'policies/team.yaml': policy}, sections=''))
    crashed = [f for f in result.findings if f.rule == 'team/crashes']
    assert [(f.env, f.location.path) for f in crashed] == [
        ('dev', 'rendered/dev/config.yaml'),
        ('prod', 'rendered/prod/config.yaml'),
    ]
    assert all('could not be evaluated' in f.message for f in crashed)
    assert all(f.severity is Severity.ERROR for f in crashed)


def test_cel_syntax_error_fails_the_run_at_file_and_line(git_repo: GitRepo) -> None:
    bad = 'rules:\n  - id: team/bad\n    message: m\n    expr: doc.replicas >=\n'
    with pytest.raises(PolicyFileError) as info:
        _check(_project(git_repo, {'policies/bad.yaml': bad}, sections=''))
    assert info.value.location is not None
    assert (info.value.location.path, info.value.location.line) == ('policies/bad.yaml', 4)


def test_cross_environment_rule_sees_every_environment(git_repo: GitRepo) -> None:
    policy = """\
rules:
  - id: team/prod-models-in-dev
    scope: environments
    message: served in prod but not in dev
    expr: |
      envs.prod.files['config.yaml'][0].models
        .filter(m, !envs.dev.files['config.yaml'][0].models.exists(d, d.name == m.name))
        .map(m, {'env': 'prod', 'file': 'config.yaml',
                 'path': 'models[name=' + m.name + ']', 'message': m.name})
"""
    result = _check(_project(git_repo, {'policies/team.yaml': policy}, sections=''))
    assert _where(result, 'team/prod-models-in-dev') == [
        ('rendered/prod/config.yaml:10:5', 'prod', 'values/prod.yaml:6:5')
    ]
    assert result.findings[0].message == 'models[2]: served in prod but not in dev: huge'


def test_change_rule_sees_old_and_new(git_repo: GitRepo) -> None:
    policy = """\
rules:
  - id: team/rpm-drop
    scope: change
    message: rpm fell by more than half
    match: {environments: [prod]}
    expr: |
      old == null ? [] : indexed(new.models).filter(e,
        old.models.exists(o, o.name == e.value.name && e.value.rpm * 2 < o.rpm))
        .map(e, {'path': ['models', e.index, 'rpm']})
"""
    repo = _project(git_repo, {'policies/team.yaml': policy}, sections='')
    source = WorkTree(repo.path)
    project = load(source, repo.path)
    base = rendering.render(source, project, None, sealed=True)
    repo.write({'values/prod.yaml': PROD.replace('rpm: 50', 'rpm: 20')})
    source = WorkTree(repo.path)  # a Source caches blob ids: a new one sees the edit
    head = rendering.render(source, project, None, sealed=True)
    result = check(source, project, head, base=base)
    assert _where(result, 'team/rpm-drop') == [
        ('rendered/prod/config.yaml:9:5', 'prod', 'values/prod.yaml:5:5')
    ]
    assert _where(check(source, project, head), 'team/rpm-drop') == []


WAIVER = """\
policies:
  waivers:
    - rule: team/prod-replicas
      env: prod
      reason: single-zone cluster until Q3
      expires: {expires}
"""


def test_a_waiver_silences_its_finding(git_repo: GitRepo) -> None:
    repo = _project(
        git_repo,
        {'values/prod.yaml': 'app:\n  replicas: 1\n'},
        sections=WAIVER.format(expires='2099-12-31'),
    )
    result = _check(repo, strict=True)
    assert result.findings == ()
    assert [f.rule for f in result.waived] == ['team/prod-replicas']


def test_an_expired_waiver_fails(git_repo: GitRepo) -> None:
    repo = _project(
        git_repo,
        {'values/prod.yaml': 'app:\n  replicas: 1\n'},
        sections=WAIVER.format(expires='2020-01-01'),
    )
    result = _check(repo, today=dt.date(2024, 5, 1))
    rules = sorted(f.rule for f in result.findings)
    assert rules == ['team/prod-replicas', 'waiver-expired']
    [expired] = [f for f in result.findings if f.rule == 'waiver-expired']
    assert expired.location == Location('gitops-config.yaml', 14, 7)
    assert result.failed


def test_waiver_of_an_unknown_rule_is_an_error(git_repo: GitRepo) -> None:
    repo = _project(
        git_repo,
        sections=WAIVER.format(expires='2099-01-01').replace(
            'team/prod-replicas', 'team/prod-replica'
        ),
    )
    with pytest.raises(PolicyConfigError, match="unknown rule 'team/prod-replica'"):
        _check(repo)


def test_waiver_with_a_malformed_date_is_an_error(git_repo: GitRepo) -> None:
    repo = _project(git_repo, sections=WAIVER.format(expires='next-year'))
    with pytest.raises(WaiverError) as info:
        _check(repo)
    assert info.value.location is not None
    assert info.value.location.line == 17


def test_the_secrets_rules_cannot_be_disabled(git_repo: GitRepo) -> None:
    repo = _project(git_repo, sections='policies:\n  disable: [secrets/plaintext]\n')
    with pytest.raises(PolicyConfigError, match='cannot be disabled') as info:
        _check(repo)
    assert 'waiver' in (info.value.hint or '')


def test_plaintext_secret_in_a_layer_is_found_in_layer_and_render(git_repo: GitRepo) -> None:
    layer = 'app:\n  replicas: 1\n  api_key: sk-proj-4f9a8b7c6d5e4f3a2b1c\n'
    result = _check(_project(git_repo, {'values/dev.yaml': layer}, sections=''), envs=['dev'])
    assert [str(f.location) for f in result.findings if f.rule == 'secrets/plaintext'] == [
        'values/dev.yaml:3:3'
    ]


def test_unmatched_file_is_an_error_only_with_require_schema(git_repo: GitRepo) -> None:
    sections = 'schemas:\n  rendered:\n    - files: other.yaml\n      schema: schemas/config.json\n'
    repo = _project(git_repo, sections=sections)
    assert _where(_check(repo, envs=['dev']), 'schema-unmatched') == []
    strict = _check(repo, envs=['dev'], require_schema=True)
    assert ('rendered/dev/config.yaml:1:1', 'dev', None) in _where(strict, 'schema-unmatched')
    assert ('values/common.yaml:1:1', None, None) in _where(strict, 'schema-unmatched')


def test_invalid_schema_file_stops_the_run(git_repo: GitRepo) -> None:
    repo = _project(git_repo, {'schemas/config.json': '{"type": "objekt"}'})
    with pytest.raises(SchemaFileError) as info:
        _check(repo)
    assert info.value.location is not None
    assert info.value.location.path == 'schemas/config.json'


def test_modeline_selects_a_schema_for_a_rendered_file(git_repo: GitRepo) -> None:
    template = '# yaml-language-server: $schema=../schemas/config.json\n' + str(
        BASIC['templates/config.yaml.j2']
    )
    repo = _project(
        git_repo,
        {'templates/config.yaml.j2': template, 'values/dev.yaml': 'app:\n  replicas: 7\n'},
        sections='',
    )
    assert [f.location.line for f in _check(repo, envs=['dev']).findings] == [4]


def test_affected_environments_of_changed_files(git_repo: GitRepo) -> None:
    repo = _project(git_repo)
    project = load(WorkTree(repo.path), repo.path)
    assert affected(project, ['values/prod.yaml']).envs == ('prod',)
    assert affected(project, ['values/common.yaml']).envs == ('dev', 'prod')
    assert affected(project, ['values/common.yaml']).layers == ('values/common.yaml',)
    assert affected(project, ['templates/config.yaml.j2']).envs == ('dev', 'prod')
    assert affected(project, ['schemas/config.json']).envs == ('dev', 'prod')
    assert affected(project, ['policies/team.yaml']).envs == ('dev', 'prod')
    assert affected(project, ['rendered/dev/config.yaml']).envs == ('dev',)
    assert affected(project, ['README.md']).envs == ()


def test_a_builtin_schema_is_no_folder_of_the_repository(git_repo: GitRepo) -> None:
    """`builtin:litellm-proxy` lives in the package: a file at the top of the repository
    is not beside it, and the check of a rendered file runs against it."""
    sections = 'schemas:\n  rendered:\n    - {files: config.yaml, schema: builtin:litellm-proxy}\n'
    repo = _project(git_repo, sections=sections)
    source = WorkTree(repo.path)
    project = load(source, repo.path)
    assert affected(project, ['README.md'], source).envs == ()
    result = _check(repo, envs=['dev'])
    assert sorted((f.location.path, f.message) for f in result.findings if f.rule == 'schema') == [
        ('rendered/dev/config.yaml', f'{key}: property {key!r} is not allowed')
        for key in ('env', 'image', 'models', 'name', 'replicas')
    ]


def test_scan_secrets_reads_files_as_written(git_repo: GitRepo) -> None:
    repo = _project(
        git_repo,
        {
            '.sops.yaml': 'creation_rules:\n  - path_regex: secrets/.*\n',
            'secrets/dev.yaml': 'db:\n  host: x\n',
            'notes.txt': 'call me\nkey AKIAIOSFODNN7EXAMPLE\n',
            'values/dev.yaml': 'app:\n  password: hunter2\n',
        },
    )
    source = WorkTree(repo.path)
    result = scan_secrets(
        source,
        load(source, repo.path),
        ['secrets/dev.yaml', 'notes.txt', 'values/dev.yaml', 'values/prod.yaml'],
    )
    assert [(f.rule, str(f.location)) for f in result.findings] == [
        ('secrets/plaintext', 'notes.txt:2:5'),
        ('secrets/sops-coverage', 'secrets/dev.yaml:1:1'),
        ('secrets/plaintext', 'values/dev.yaml:2:3'),
    ]


def test_errors_are_gitops_config_errors() -> None:
    for exc in (PolicyFileError, PolicyConfigError, WaiverError, SchemaFileError):
        assert issubclass(exc, GitopsConfigError)


def test_check_result_counts(tmp_path: Path) -> None:
    del tmp_path
    assert CheckResult(()).status == 'ok'


def test_secrets_scan_reports_only_its_own_expired_waivers(git_repo: GitRepo) -> None:
    sections = (
        WAIVER.format(expires='2020-01-01')
        + """\
    - rule: secrets/plaintext
      file: values/dev.yaml
      reason: demo key
      expires: 2020-01-01
"""
    )
    repo = _project(git_repo, {'values/dev.yaml': 'app:\n  password: hunter2\n'}, sections=sections)
    source = WorkTree(repo.path)
    result = scan_secrets(source, load(source, repo.path), ['values/dev.yaml'])
    assert sorted(f.rule for f in result.findings) == ['secrets/plaintext', 'waiver-expired']
    [expired] = [f for f in result.findings if f.rule == 'waiver-expired']
    assert 'secrets/plaintext' in expired.message


class _Evaluations:
    """Counts document-rule evaluations, to see which documents the cache spared."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from gitops_config.policy.runner import run_documents

        self.files: list[str] = []

        def counting(engine: Any, rules: Any, targets: Any) -> Any:
            self.files += [t.file for t in targets if t.kind == 'rendered']
            return run_documents(engine, rules, targets)

        monkeypatch.setattr('gitops_config.pipeline.policy_checks.run_documents', counting)


def _mentions(result: CheckResult, text: str) -> bool:
    return any(text in f.message for f in result.findings)


def _findings(result: CheckResult) -> list[tuple[str, str, str]]:
    return sorted((f.rule, f.message, str(f.location)) for f in result.findings)


def test_document_rule_results_are_reused_while_their_inputs_are_unchanged(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path / 'cache'))
    repo = _project(git_repo, {'values/prod.yaml': 'app:\n  replicas: 1\n'})
    first = _check(repo)
    evaluations = _Evaluations(monkeypatch)
    again = _check(repo)
    assert _findings(again) == _findings(first)
    assert _mentions(again, 'prod needs 2 replicas: 1')
    assert evaluations.files == []  # every rendered document came from the cache

    repo.write({'values/prod.yaml': 'app:\n  replicas: 3\n'})  # the document changes
    changed = _check(repo)
    assert evaluations.files == ['rendered/prod/config.yaml']
    assert not _mentions(changed, 'prod needs 2 replicas: 1')

    repo.write({'policies/team.yaml': POLICY.replace('>= 2', '>= 4')})  # a rule changes
    evaluations.files.clear()
    stricter = _check(repo)
    assert sorted(evaluations.files) == ['rendered/dev/config.yaml', 'rendered/prod/config.yaml']
    assert _mentions(stricter, 'prod needs 2 replicas: 3')


def test_a_rule_reading_values_is_rerun_when_they_change(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path / 'cache'))
    rule = """\
rules:
  - id: team/flag
    message: flag set
    match: {files: [config.yaml]}
    expr: "has(values.app.flag) ? [{'message': 'on'}] : []"
"""
    repo = _project(
        git_repo, {'policies/team.yaml': rule, 'values/prod.yaml': 'app:\n  replicas: 3\n'}
    )
    assert not [f for f in _check(repo).findings if f.rule == 'team/flag']
    # the rendered documents stay the same; only a value the rule reads changes
    repo.write({'values/prod.yaml': 'app:\n  replicas: 3\n  flag: true\n'})
    assert [f.env for f in _check(repo).findings if f.rule == 'team/flag'] == ['prod']


def test_a_secret_a_template_writes_points_at_the_template_line(git_repo: GitRepo) -> None:
    """The key is computed and the value is in no layer: the finding's origin is the
    expression that wrote it, below the nearest key the template writes itself."""
    template = (
        'name: {{ app.name }}\n'
        'settings:\n'
        '  {% set auth = {"ui_password": "hunter2-" ~ env} %}\n'
        '{{ auth | to_yaml | indent(2, first=true) }}\n'
    )
    repo = _project(git_repo, {'templates/config.yaml.j2': template}, sections='')
    result = _check(repo, envs=['dev'])
    [(where, env, origin)] = _where(result, 'secrets/plaintext')
    assert (where, env) == ('rendered/dev/config.yaml:3:3', 'dev')
    assert origin == 'templates/config.yaml.j2:4:1'
