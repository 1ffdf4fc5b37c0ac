"""A template mistake is a config error (exit 1, one line at template:line), never a crash.

A typo such as `router_setings` must fail wherever the name is used, with a
suggestion, in every command that renders; `--debug` adds the traceback and
keeps the exit code.
"""

from __future__ import annotations

import pytest

from tests._helpers.errors import template_error
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import BASIC
from tests.conftest import RunCli

TYPO = "'router_setings' is undefined (did you mean 'router_settings'?)"
VALUES = 'router_settings:\n  timeout: 30\n  routing_strategy: simple-shuffle\n'


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    common = BASIC['values/common.yaml']
    assert isinstance(common, str)
    git_repo.commit({**BASIC, 'values/common.yaml': common + VALUES})
    return git_repo


USES = {
    'direct': 'a: {{ router_setings }}\n',
    'filter': 'a: {{ router_setings | to_yaml }}\n',
    'json-filter': 'a: {{ router_setings | to_json }}\n',
    'builtin-filter': 'a: {{ router_setings | tojson }}\n',
    'b64': 'a: {{ router_setings | b64encode }}\n',
    'nested-in-filter': 'a: {{ {"x": router_setings} | to_yaml }}\n',
    'test': 'a: {{ router_setings is string }}\n',
    'mapping-test': '{% if router_setings is mapping %}a: 1{% endif %}\n',
    'loop': '{% for k in router_setings %}{{ k }}: 1\n{% endfor %}\n',
    'macro': '{% macro m() %}{{ router_setings.timeout }}{% endmacro %}a: {{ m() }}\n',
    'in-a-list': 'a: {{ [router_setings] }}\n',
    'range': '{% for i in range(router_setings) %}{% endfor %}\n',
    'condition': '{% if router_setings %}a: 1{% endif %}\n',
}


@pytest.mark.parametrize('use', USES)
def test_an_undefined_name_is_one_line_with_a_suggestion(
    repo: GitRepo, run_cli: RunCli, use: str
) -> None:
    repo.write({'templates/router.yaml.j2': '# router\n' + USES[use]})
    result = run_cli('render', '--env', 'dev', cwd=repo.path)
    assert result.exit_code == 1, result.output
    template_error(result.stderr, 'templates/router.yaml.j2:2', '(dev)', TYPO)
    assert not (repo.path / 'rendered').exists()


def test_a_misspelt_key_suggests_the_key(repo: GitRepo, run_cli: RunCli) -> None:
    repo.write({'templates/router.yaml.j2': 'a: {{ router_settings.timout }}\n'})
    result = run_cli('render', '--env', 'dev', cwd=repo.path)
    assert result.exit_code == 1
    template_error(
        result.stderr,
        'templates/router.yaml.j2:1',
        "has no attribute 'timout'",
        "(did you mean 'timeout'?)",
    )


def test_defined_and_default_still_see_undefined_names(repo: GitRepo, run_cli: RunCli) -> None:
    repo.write(
        {
            'templates/ok.yaml.j2': (
                'a: {{ router_setings is defined }}\n'
                'b: {{ router_setings | default("none") }}\n'
                'c: {{ router_setings is undefined }}\n'
                'd: {{ router_settings.nope | default(router_settings.timeout) }}\n'
            )
        }
    )
    result = run_cli('render', '--env', 'dev', cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert (repo.path / 'rendered/dev/ok.yaml').read_text() == (
        'a: False\nb: none\nc: True\nd: 30\n'
    )


@pytest.mark.parametrize(
    'command',
    [
        ('render',),
        ('validate',),
        ('render', '--check'),
        ('hook', 'validate', 'values/common.yaml'),
        ('hook', 'render-check', 'values/common.yaml'),
    ],
)
def test_every_rendering_command_exits_1(
    repo: GitRepo, run_cli: RunCli, command: tuple[str, ...]
) -> None:
    assert run_cli('render', cwd=repo.path).exit_code == 0
    repo.commit(message='rendered output, committed')  # render-check needs it
    repo.commit({'templates/router.yaml.j2': 'a: {{ router_setings | to_yaml }}\n'})
    result = run_cli(*command, cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert TYPO in result.output
    assert 'internal-error' not in result.output


def test_debug_adds_a_traceback_and_keeps_the_exit_code(repo: GitRepo, run_cli: RunCli) -> None:
    repo.write({'templates/router.yaml.j2': 'a: {{ router_setings | to_yaml }}\n'})
    result = run_cli('--debug', 'render', '--env', 'dev', cwd=repo.path)
    assert result.exit_code == 1
    assert 'Traceback' in result.stderr
    assert f'error: template: templates/router.yaml.j2:1: undefined value (dev): {TYPO}' in (
        result.stderr
    )


def test_debug_keeps_the_exit_code_of_a_config_error(repo: GitRepo, run_cli: RunCli) -> None:
    repo.write({'values/dev.yaml': 'a: [1\n'})
    result = run_cli('--debug', 'render', cwd=repo.path)
    assert result.exit_code == 3
    assert 'Traceback' in result.stderr
    assert 'error: invalid-yaml: values/dev.yaml:2' in result.stderr


RUNAWAY = {
    'recursion': ('{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}\n', 'recursion'),
}


@pytest.mark.parametrize('case', RUNAWAY)
def test_a_runaway_template_istemplate_error(repo: GitRepo, run_cli: RunCli, case: str) -> None:
    template, needle = RUNAWAY[case]
    repo.write({'templates/loop.txt.j2': template})
    result = run_cli('render', '--env', 'prod', cwd=repo.path)
    assert result.exit_code == 1, result.output
    template_error(result.stderr, 'templates/loop.txt.j2:1', '(prod)', needle)


def test_diff_fails_when_the_head_does_not_render(repo: GitRepo, run_cli: RunCli) -> None:
    repo.write({'templates/router.yaml.j2': 'a: {{ router_setings | to_yaml }}\n'})
    result = run_cli('diff', 'HEAD', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert TYPO in result.stdout
    assert 'internal-error' not in result.output


def test_diff_fails_when_the_base_does_not_render(repo: GitRepo, run_cli: RunCli) -> None:
    base = repo.commit({'templates/router.yaml.j2': 'a: {{ router_setings }}\n'})
    repo.commit({'templates/router.yaml.j2': 'a: {{ router_settings.timeout }}\n'})
    result = run_cli('diff', base, 'HEAD', '-f', 'json', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert TYPO in result.stdout
