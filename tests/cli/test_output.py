from __future__ import annotations

import io

import pytest

from gitops_config.cli.output import use_color
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ('mode', 'env', 'stream', 'expected'),
    [
        ('always', {}, io.StringIO(), True),
        ('never', {}, Tty(), False),
        ('auto', {}, Tty(), True),
        ('auto', {}, io.StringIO(), False),
        ('auto', {'NO_COLOR': '1'}, Tty(), False),
        ('auto', {'TERM': 'dumb'}, Tty(), False),
    ],
)
def test_use_color(
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    env: dict[str, str],
    stream: io.StringIO,
    expected: bool,
) -> None:
    monkeypatch.delenv('TERM', raising=False)
    monkeypatch.delenv('NO_COLOR', raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert use_color(mode, stream) is expected  # type: ignore[arg-type]  # mode is a str here


def test_color_always_reaches_the_output(project: GitRepo, run_cli: RunCli) -> None:
    plain = run_cli('explain', 'prod', 'app.replicas', cwd=project.path).stdout
    colored = run_cli(
        '--color', 'always', 'explain', 'prod', 'app.replicas', cwd=project.path
    ).stdout
    assert '\033[' not in plain
    assert '\033[' in colored
    assert (
        colored.replace('\033[1;36m', '')
        .replace('\033[32m', '')
        .replace('\033[90m', '')
        .replace('\033[0m', '')
        == plain
    )
