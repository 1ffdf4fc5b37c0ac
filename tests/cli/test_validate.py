from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import BASIC
from tests._helpers.projects import PROJECT
from tests.conftest import RunCli

SCHEMA = json.dumps(
    {'type': 'object', 'properties': {'replicas': {'type': 'integer', 'maximum': 5}}}, indent=2
)
POLICY = """\
rules:
  - id: team/replicas
    severity: warning
    message: prod wants more replicas
    match: {environments: [prod], files: [config.yaml]}
    expr: "doc.replicas >= 4 ? [] : [{'path': ['replicas']}]"
"""
SECTIONS = """\
schemas:
  rendered:
    - files: config.yaml
      schema: schemas/config.json
"""


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(
        {
            **BASIC,
            'gitops-config.yaml': PROJECT + SECTIONS,
            'schemas/config.json': SCHEMA,
            'policies/team.yaml': POLICY,
        }
    )
    return git_repo


def _json(run_cli: RunCli, repo: GitRepo, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli('validate', '--format', 'json', *args, cwd=repo.path)
    return result.exit_code, json.loads(result.stdout)


def test_warnings_pass_unless_strict(run_cli: RunCli, repo: GitRepo) -> None:
    code, data = _json(run_cli, repo)
    assert code == 0
    assert data['status'] == 'ok'
    assert [f['rule'] for f in data['findings']] == ['team/replicas']
    code, data = _json(run_cli, repo, '--strict')
    assert (code, data['status']) == (1, 'fail')


def test_json_shape_is_fixed(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 9\n'})
    code, data = _json(run_cli, repo, '--env', 'prod')
    assert code == 1
    assert list(data) == ['status', 'findings', 'summary', 'revision']
    assert data['revision'].endswith(' (working tree)')
    assert data['summary'] == {'errors': 1, 'warnings': 0, 'files': 3, 'waived': 0}
    assert data['findings'] == [
        {
            'rule': 'schema',
            'severity': 'error',
            'message': 'replicas: 9 is greater than the maximum of 5',
            'file': 'rendered/prod/config.yaml',
            'line': 3,
            'column': 1,
            'env': 'prod',
            'origin': {'file': 'values/prod.yaml', 'line': 2, 'column': 3},
            'hint': 'schema: schemas/config.json',
        }
    ]


def test_text_is_grouped_by_file(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 9\n'})
    result = run_cli('validate', '--format', 'text', cwd=repo.path)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == 'rendered/prod/config.yaml'
    assert lines[1].startswith('  rendered/prod/config.yaml:3:1  error ')
    assert '↳ edit values/prod.yaml:2:3' in result.stdout
    assert lines[-1] == '✗ 1 error, 0 warnings in 5 files'
    assert '\033[' not in result.stdout


def test_text_colours_when_asked(run_cli: RunCli, repo: GitRepo) -> None:
    result = run_cli('--color', 'always', 'validate', '--format', 'text', cwd=repo.path)
    assert '\033[33mwarning' in result.stdout


def test_github_annotations(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 9\n'})
    result = run_cli('validate', '--format', 'github', cwd=repo.path)
    assert '::group::prod' in result.stdout
    assert (
        '::error file=rendered/prod/config.yaml,line=3,col=1,title=schema::'
        'replicas: 9 is greater than the maximum of 5%0A(edit values/prod.yaml:2:3)'
    ) in (result.stdout)


def test_github_format_is_automatic_under_actions(
    run_cli: RunCli, repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('GITHUB_ACTIONS', 'true')
    result = run_cli('validate', cwd=repo.path)
    assert '::warning file=rendered/prod/config.yaml,line=3,col=1,title=team/replicas::' in (
        result.stdout
    )


def test_sarif_is_2_1_0(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 9\n'})
    result = run_cli('validate', '--format', 'sarif', cwd=repo.path)
    data = json.loads(result.stdout)
    assert data['version'] == '2.1.0'
    run = data['runs'][0]
    assert [r['id'] for r in run['tool']['driver']['rules']] == ['schema']
    first = run['results'][0]
    assert first['level'] == 'error'
    assert first['locations'][0]['physicalLocation'] == {
        'artifactLocation': {'uri': 'rendered/prod/config.yaml'},
        'region': {'startLine': 3, 'startColumn': 1},
    }
    related = first['relatedLocations'][0]['physicalLocation']
    assert related['artifactLocation']['uri'] == 'values/prod.yaml'


def test_junit_has_a_case_per_file(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 9\n'})
    result = run_cli('validate', '--format', 'junit', cwd=repo.path)
    suite = ET.fromstring(result.stdout).find('testsuite')
    assert suite is not None
    assert suite.get('tests') == '5'
    assert suite.get('failures') == '1'
    failed = [c.get('name') for c in suite.iter('testcase') if c.find('failure') is not None]
    assert failed == ['rendered/prod/config.yaml']


def test_files_limit_the_check_to_what_they_affect(run_cli: RunCli, repo: GitRepo) -> None:
    code, data = _json(run_cli, repo, 'values/dev.yaml')
    assert code == 0
    assert data['findings'] == []  # the prod warning is not in scope
    assert data['summary']['files'] == 2  # values/dev.yaml and rendered/dev/config.yaml
    code, data = _json(run_cli, repo, 'README.md')
    assert data['summary']['files'] == 0


def test_require_schema_flags_unmatched_files(run_cli: RunCli, repo: GitRepo) -> None:
    code, data = _json(run_cli, repo, '--require-schema', '--env', 'dev')
    assert code == 1
    unmatched = sorted(f['file'] for f in data['findings'] if f['rule'] == 'schema-unmatched')
    assert unmatched == ['values/common.yaml', 'values/dev.yaml']


def test_bad_policy_file_exits_3_with_file_and_line(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write({'policies/bad.yaml': 'rules:\n  - id: x\n    message: m\n    expr: "1 +"\n'})
    result = run_cli('validate', cwd=repo.path)
    assert result.exit_code == 3
    assert 'error: invalid-policy: policies/bad.yaml:4:' in result.stderr


def test_sealed_validates_without_keys(run_cli: RunCli, repo: GitRepo) -> None:
    result = run_cli('validate', '--sealed', '--format', 'json', cwd=repo.path)
    assert json.loads(result.stdout)['status'] == 'ok'


def test_change_rules_run_against_base(run_cli: RunCli, repo: GitRepo) -> None:
    repo.commit(
        {
            'policies/drop.yaml': """\
rules:
  - id: team/replica-drop
    scope: change
    message: replicas halved
    expr: "old == null || new.replicas * 2 > old.replicas"
"""
        }
    )
    repo.commit({'values/prod.yaml': 'app:\n  replicas: 1\n'})
    code, data = _json(run_cli, repo, '--base', 'HEAD~1')
    assert code == 1
    assert [(f['rule'], f['env']) for f in data['findings'] if f['severity'] == 'error'] == [
        ('team/replica-drop', 'prod')
    ]


def test_policy_test_command(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write(
        {
            'policies/team.yaml': POLICY
            + """\
    examples:
      pass:
        - doc: {replicas: 4}
      fail:
        - doc: {replicas: 4}
"""
        }
    )
    result = run_cli('policy', 'test', 'policies', cwd=repo.path)
    assert result.exit_code == 1
    assert 'PASS policies/team.yaml:9:11 team/replicas (pass example): passes' in result.stdout
    assert 'FAIL policies/team.yaml:11:11 team/replicas (fail example): expected to fail' in (
        result.stdout
    )
    assert result.stdout.splitlines()[-1] == '2 example(s) in 1 rule(s), 1 failure(s)'


def test_policy_test_of_the_builtin_packs_passes(run_cli: RunCli, repo: GitRepo) -> None:
    result = run_cli('policy', 'test', '--builtin', cwd=repo.path)
    assert result.exit_code == 0, result.stdout
    assert 'litellm/rate-limit-drop' in result.stdout


def test_ref_validates_a_commit_not_the_working_tree(run_cli: RunCli, repo: GitRepo) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 9\n'})  # not committed
    code, data = _json(run_cli, repo, '--ref', 'HEAD')
    assert (code, data['summary']['errors']) == (0, 0)
    code, data = _json(run_cli, repo)
    assert (code, data['summary']['errors']) == (1, 1)
