from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gitops_config.cli import main as main_mod
from gitops_config.cli.main import COMMANDS
from gitops_config.errors import GitopsConfigError
from tests.conftest import RunCli


@pytest.mark.parametrize('name', sorted(COMMANDS))
def test_every_command_loads_and_has_help(name: str, run_cli: RunCli) -> None:
    result = run_cli(name, '--help')
    assert result.exit_code == 0, result.output
    assert 'Usage:' in result.stdout


def _paths() -> list[tuple[str, ...]]:
    """Every command, subcommands (hidden ones too) included: ('secrets', 'set')."""
    found: list[tuple[str, ...]] = [()]
    group = main_mod.cli
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        found.append((name,))
        if isinstance(command, click.Group):
            found += [(name, sub) for sub in command.commands]
    return found


@pytest.mark.parametrize('path', _paths(), ids=lambda p: ' '.join(p) or 'gitops-config')
def test_every_help_shows_an_example_and_whole_first_lines(path: tuple[str, ...]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main_mod.cli, [*path, '--help'], terminal_width=80, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert '\n  Examples:\n' in text, text
    shown = text.split('\n  Examples:\n')[1].split('\n\n')[0].splitlines()
    assert shown
    assert all(line.startswith('    ') for line in shown), shown
    assert any(f'gitops-config {" ".join(path)}'.rstrip() in line for line in shown), shown
    if 'Commands:' in text:
        # each entry whole: click cuts a long first line at 45 characters, with '...'
        joined = ' '.join(text.split('Commands:\n')[1].split('\n\n')[0].split())
        command: click.Group = main_mod.cli
        for step in path:
            sub = command.get_command(click.Context(command), step)
            assert isinstance(sub, click.Group)
            command = sub
        entries = (
            {n: COMMANDS[n][1] for n in COMMANDS}
            if not path
            else {
                n: ' '.join(inspect.cleandoc(s.help or '').split('\n\n')[0].split())
                for n, s in command.commands.items()
                if not s.hidden
            }
        )
        for name, first in entries.items():
            assert f'{name} {first}' in joined, (name, first)


def test_help_lists_commands_and_exit_codes(run_cli: RunCli) -> None:
    result = run_cli('--help')
    assert 'render' in result.stdout
    assert 'Exit codes: 0 clean' in result.stdout


def test_version(run_cli: RunCli) -> None:
    assert run_cli('--version').stdout.startswith('gitops-config, version ')


def _fake(exc: BaseException) -> click.Command:
    @click.command('fake')
    def fake() -> int:
        raise exc

    return fake


@pytest.mark.parametrize(
    ('exc', 'code', 'message'),
    [
        (GitopsConfigError('it broke', hint='fix it'), 3, 'error: gitops-config-error: it broke'),
        (KeyboardInterrupt(), 130, 'interrupted'),
        (RuntimeError('boom'), 4, 'error: internal-error: RuntimeError: boom'),
    ],
)
def test_error_boundary(
    monkeypatch: pytest.MonkeyPatch, run_cli: RunCli, exc: BaseException, code: int, message: str
) -> None:
    monkeypatch.setitem(COMMANDS, 'fake', ('tests.cli.test_main:FAKE', 'fake'))
    monkeypatch.setattr(sys.modules[__name__], 'FAKE', _fake(exc), raising=False)
    result = run_cli('fake')
    assert result.exit_code == code
    assert result.stderr.startswith(message)
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize(
    ('exc', 'code', 'message'),
    [
        (GitopsConfigError('it broke', hint='fix it'), 3, 'error: gitops-config-error: it broke'),
        (KeyboardInterrupt(), 130, 'interrupted'),
        (RuntimeError('boom'), 4, 'error: internal-error: RuntimeError: boom'),
    ],
)
def test_debug_adds_the_traceback_and_keeps_the_exit_code(
    monkeypatch: pytest.MonkeyPatch, run_cli: RunCli, exc: BaseException, code: int, message: str
) -> None:
    monkeypatch.setitem(COMMANDS, 'fake', ('tests.cli.test_main:FAKE', 'fake'))
    monkeypatch.setattr(sys.modules[__name__], 'FAKE', _fake(exc), raising=False)
    result = run_cli('--debug', 'fake')
    assert result.exit_code == code
    assert result.stderr.startswith('Traceback (most recent call last):')
    assert message in result.stderr


def test_main_returns_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main_mod.main(['--version']) == 0
    assert main_mod.main(['render']) == 3
    assert main_mod.main(['no-such-command']) == 2


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, '-m', 'gitops_config', '-C', str(tmp_path), 'render'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    assert proc.stderr.startswith('error: invalid-project: no gitops-config.yaml')
