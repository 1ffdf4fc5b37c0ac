from __future__ import annotations

import json

from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli


def test_get_prints_merged_values(project: GitRepo, run_cli: RunCli) -> None:
    assert run_cli('get', 'prod', 'app.replicas', cwd=project.path).stdout == '3\n'
    result = run_cli('get', 'prod', 'models[name=large]', '--format', 'json', cwd=project.path)
    assert json.loads(result.stdout) == {'name': 'large', 'rpm': 50}
    result = run_cli('get', 'dev', 'app.image', '--format', 'yaml', cwd=project.path)
    assert result.stdout == "repo: ghcr.io/x/gateway\ntag: '1.0'\n"


def test_get_missing_key_suggests(project: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('get', 'prod', 'app.replica', cwd=project.path)
    assert result.exit_code == 3
    assert "hint: did you mean 'replicas'?" in result.stderr


def test_explain_shows_origin_and_override(project: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('explain', 'prod', 'app.replicas', cwd=project.path)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        'app.replicas = 3',
        '  set in     values/prod.yaml:2:3',
        '  overrides  values/common.yaml:4:3',
    ]


def test_explain_lists_leaves_of_a_mapping(project: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('explain', 'prod', 'models[name=large]', cwd=project.path)
    assert '    models[1].rpm  values/prod.yaml:5:5' in result.stdout
    assert '    models[1].name  values/prod.yaml:4:5' in result.stdout
    assert '  set in     values/common.yaml:9:5' in result.stdout


def test_set_edits_one_line_in_place(project: GitRepo, run_cli: RunCli) -> None:
    before = (project.path / 'values/prod.yaml').read_text()
    result = run_cli('set', 'values/prod.yaml', 'models[name=huge].rpm', '7', cwd=project.path)
    assert result.exit_code == 0, result.output
    after = (project.path / 'values/prod.yaml').read_text()
    assert after == before.replace('    rpm: 1\n', '    rpm: 7\n')
    assert run_cli('get', 'prod', 'models[name=huge].rpm', cwd=project.path).stdout == '7\n'


def test_set_keeps_comments_and_parses_yaml(project: GitRepo, run_cli: RunCli) -> None:
    run_cli('set', 'values/prod.yaml', 'app.replicas', '4', cwd=project.path)
    run_cli('set', 'values/prod.yaml', 'app.labels', '{team: llm}', cwd=project.path)
    run_cli('set', 'values/prod.yaml', 'app.version', '1.10', '--string', cwd=project.path)
    text = (project.path / 'values/prod.yaml').read_text()
    assert '  replicas: 4  # three zones\n' in text
    assert run_cli('get', 'prod', 'app.labels.team', cwd=project.path).stdout == 'llm\n'
    assert (
        run_cli('get', 'prod', 'app.version', '-f', 'json', cwd=project.path).stdout == '"1.10"\n'
    )


def test_unset_removes_the_key(project: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('unset', 'values/prod.yaml', 'app.replicas', cwd=project.path)
    assert result.exit_code == 0, result.output
    assert run_cli('get', 'prod', 'app.replicas', cwd=project.path).stdout == '1\n'


def test_set_on_a_broken_file_changes_nothing(project: GitRepo, run_cli: RunCli) -> None:
    project.write({'values/prod.yaml': 'a: [\n'})
    result = run_cli('set', 'values/prod.yaml', 'a', '1', cwd=project.path)
    assert result.exit_code == 3
    assert 'values/prod.yaml:2:1: invalid YAML' in result.stderr
    assert (project.path / 'values/prod.yaml').read_text() == 'a: [\n'
