"""A pull request cannot hang CI or exhaust its memory with a template or a YAML file.

Every template attack runs against limits set low in the project file (the
defaults are 10 s per template, 120 s per environment, 1 GiB), so each test
takes about a second; each checks the one-line error (template, environment,
exit 1; a YAML file: file and line, exit 3) and that the repository and the
home folder are byte-identical afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_config import limits as limits_mod
from tests._helpers.errors import template_error
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import BASIC
from tests._helpers.projects import PROJECT
from tests._helpers.tree_snapshot import untouched
from tests.conftest import RunCli

pytestmark = pytest.mark.usefixtures('cache_outside')

LOW = 'limits:\n  template_seconds: 0.5\n  environment_seconds: 1.5\n  memory_mb: 256\n'
NESTED_LOOPS = '{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}\n'
# a string doubled 40 times: a terabyte, were it allowed
# Strings each under the sandbox's cap on one value (sandbox/limits.py stops a string
# doubled in a loop at once), many of them: only the memory limit stops this.
BIG_STRINGS = (
    '{% set ns = namespace(l=[]) %}{% for i in range(40) %}'
    "{% set ns.l = ns.l + ['x' * 9000000 ~ i] %}{% endfor %}{{ ns.l | length }}\n"
)


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit({**BASIC, 'gitops-config.yaml': PROJECT + LOW})
    return git_repo


@pytest.fixture
def home() -> Path:
    return Path(os.environ['HOME'])


@pytest.fixture
def guarded(repo: GitRepo, home: Path) -> Iterator[None]:
    with untouched(repo.path, home):
        yield


@pytest.mark.parametrize(
    'command',
    [
        ('render', '--env', 'dev'),
        ('validate', '--env', 'dev'),
        ('render', '--env', 'dev', '--jobs', '1'),
    ],
)
def test_a_template_that_loops_for_ever_is_stopped(
    repo: GitRepo,
    run_cli: RunCli,
    guarded: None,
    command: tuple[str, ...],
) -> None:
    repo.write({'templates/spin.txt.j2': '# spins\n' + NESTED_LOOPS})
    result = run_cli(*command, cwd=repo.path)
    repo.write({'templates/spin.txt.j2': None})
    assert result.exit_code == 1, result.output
    template_error(
        result.stderr, 'templates/spin.txt.j2', '(dev)', '0.5 s', 'limits.template_seconds'
    )


def _limits(repo: GitRepo, limits: str) -> None:
    """REPO's project file with LIMITS in place of the low ones (committed: the guard
    compares the tree with the commit's)."""
    repo.commit({'gitops-config.yaml': PROJECT + 'limits:\n' + limits})


def test_an_environment_has_a_limit_of_its_own(repo: GitRepo, run_cli: RunCli, home: Path) -> None:
    # each template may take 30 s; together they may take 1 s
    _limits(repo, '  template_seconds: 30\n  environment_seconds: 1\n')
    slow = '{% for i in range(99999) %}{% for j in range(20) %}{% endfor %}{% endfor %}\n'
    with untouched(repo.path, home):
        repo.write({f'templates/slow{i}.txt.j2': slow for i in range(40)})
        result = run_cli('render', '--env', 'prod', '--jobs', '1', cwd=repo.path)
        repo.write({f'templates/slow{i}.txt.j2': None for i in range(40)})
    assert result.exit_code == 1, result.output
    template_error(
        result.stderr, 'templates/slow', '(prod)', '1 s in all', 'limits.environment_seconds'
    )


def test_a_template_that_eats_memory_is_stopped(repo: GitRepo, run_cli: RunCli, home: Path) -> None:
    _limits(repo, '  template_seconds: 60\n  memory_mb: 64\n')
    with untouched(repo.path, home):
        repo.write({'templates/eat.txt.j2': BIG_STRINGS})
        result = run_cli('render', '--env', 'dev', cwd=repo.path)
        repo.write({'templates/eat.txt.j2': None})
    assert result.exit_code == 1, result.output
    template_error(result.stderr, 'templates/eat.txt.j2:1', '(dev)', '64 MiB', 'limits.memory_mb')


def test_many_templates_on_workers_are_stopped_too(
    repo: GitRepo, run_cli: RunCli, guarded: None
) -> None:
    from gitops_config import workers

    many = {f'templates/t{i:03}.txt.j2': '{{ env }}\n' for i in range(workers.PARALLEL_THRESHOLD)}
    repo.write({**many, 'templates/spin.txt.j2': NESTED_LOOPS})
    result = run_cli('render', '--jobs', '2', '--out', str(repo.path.parent / 'out'), cwd=repo.path)
    repo.write({**dict.fromkeys(many), 'templates/spin.txt.j2': None})
    assert result.exit_code == 1, result.output
    template_error(result.stderr, 'templates/spin.txt.j2', 'limits.template_seconds')


def test_a_pull_request_cannot_raise_its_own_limits(repo: GitRepo, run_cli: RunCli) -> None:
    base = repo.git('rev-parse', 'HEAD').strip()
    repo.commit(
        {
            'gitops-config.yaml': PROJECT + LOW.replace('0.5', '3600'),
            'templates/spin.txt.j2': NESTED_LOOPS,
        }
    )
    result = run_cli('diff', base, 'HEAD', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert 'took longer than 0.5 s' in result.output


@pytest.mark.parametrize(
    ('setting', 'message'),
    [
        ('template_seconds: 0', 'limits.template_seconds must be more than 0'),
        ('memory_mb: lots', 'limits.memory_mb must be an integer'),
        ('timeout: 5', "unknown key 'timeout'"),
    ],
)
def test_limits_are_checked_in_the_project_file(
    git_repo: GitRepo, run_cli: RunCli, setting: str, message: str
) -> None:
    git_repo.commit({**BASIC, 'gitops-config.yaml': PROJECT + f'limits:\n  {setting}\n'})
    result = run_cli('render', cwd=git_repo.path)
    assert result.exit_code == 3
    assert message in result.stderr
    assert f'gitops-config.yaml:{PROJECT.count(chr(10)) + 2}:' in result.stderr


def test_the_defaults_suit_ci() -> None:
    assert limits_mod.Limits() == limits_mod.Limits(10.0, 120.0, 1024)
    low = limits_mod.Limits(0.5, 200.0, 4096)
    assert limits_mod.Limits().stricter(low) == limits_mod.Limits(0.5, 120.0, 1024)


def test_a_worker_its_timer_cannot_stop_is_stopped_by_the_parent(
    repo: GitRepo,
    run_cli: RunCli,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker stuck where no signal handler runs (in C code) or killed outright would
    leave the pool waiting for ever: the parent stops it once every environment's time
    is up. Here the workers' timers are switched off to stand in for that."""
    from gitops_config import workers

    _limits(repo, '  template_seconds: 0.2\n  environment_seconds: 0.5\n')
    monkeypatch.setattr(limits_mod.Guard, '__enter__', lambda self: None)
    monkeypatch.setattr(limits_mod.Guard, '__exit__', lambda self, *exc: None)
    many = {f'templates/t{i:03}.txt.j2': '{{ env }}\n' for i in range(workers.PARALLEL_THRESHOLD)}
    with untouched(repo.path, home):
        repo.write({**many, 'templates/spin.txt.j2': NESTED_LOOPS})
        result = run_cli(
            'render', '--jobs', '2', '--out', str(repo.path.parent / 'out'), cwd=repo.path
        )
        repo.write({**dict.fromkeys(many), 'templates/spin.txt.j2': None})
    assert result.exit_code == 1, result.output
    template_error(
        result.stderr, 'templates/', 'did not finish within the limits', 'its worker was stopped'
    )


@pytest.mark.parametrize(
    'layer',
    [
        pytest.param(
            'big: &big "' + 'x' * 1_000_000 + '"\ncopies: [' + ', '.join(['*big'] * 2000) + ']\n',
            id='a-1MB-string-aliased-2000-times',
        ),
        pytest.param('app:\n  deep: ' + '[' * 500 + ']' * 500 + '\n', id='nested-500-levels'),
    ],
)
def test_a_yaml_bomb_in_a_layer_istemplate_error(
    repo: GitRepo, run_cli: RunCli, guarded: None, layer: str
) -> None:
    kept = (repo.path / 'values/dev.yaml').read_text()
    repo.write({'values/dev.yaml': layer})
    result = run_cli('validate', cwd=repo.path)
    repo.write({'values/dev.yaml': kept})
    assert result.exit_code == 3, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith('error: invalid-yaml: values/dev.yaml:'), result.stderr
    assert 'Traceback' not in result.stderr
