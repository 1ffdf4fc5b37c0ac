"""The store changes timings, never results: every command of a set of scenarios prints
and writes exactly the same bytes with no cache, with a cold one and with a warm one."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.generate import generate
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import BASIC
from tests.conftest import RunCli

EXAMPLE = Path(__file__).resolve().parents[1] / 'example-repo'


def _basic(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    base = repo.commit(BASIC, 'base')
    head = repo.commit(
        {
            'values/prod.yaml': 'app:\n  replicas: 4\n',
            'templates/extra.yaml.j2': 'zone: {{ app.zone | default("a") }}\n',
        },
        'head',
    )
    return base, head


def _example(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The shipped example: encrypted layers, policies, schemas; dev's key at hand."""
    shutil.copytree(EXAMPLE, repo.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns('out'))
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(repo.path / 'keys/demo-dev.agekey'))
    base = repo.commit(message='base')
    common = repo.path / 'values/common.yaml'
    common.write_text(common.read_text() + 'extra_setting: true\n')
    return base, repo.commit(message='head')


def _generated(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    generate(repo.path, services=6)
    base = repo.commit(message='base')
    common = repo.path / 'values/common.yaml'
    common.write_text(common.read_text().replace('tag: "1.', 'tag: "2.', 5))
    return base, repo.commit(message='head')


Scenario = Callable[[GitRepo, pytest.MonkeyPatch], tuple[str, str]]
Outcome = dict[str, tuple[int, bytes, bytes]]


def _everything(
    run_cli: RunCli, root: Path, base: str, head: str, out: Path, *flags: str
) -> Outcome:
    """What each command prints (and `render` writes), run with the global FLAGS."""
    found: Outcome = {}
    for argv in (
        ['render', '--decrypt', '--out', str(out)],
        ['render', '--check'],
        ['validate', '-f', 'json'],
        ['diff', base, head, '-f', 'json'],
        ['diff', base, head, '--validate', '-f', 'json'],
        ['diff', base, head, '--sealed', '-f', 'markdown'],
    ):
        result = run_cli(*flags, *argv, cwd=root)
        found[' '.join(argv).replace(str(out), 'OUT')] = (
            result.exit_code,
            result.stdout_bytes.replace(bytes(out), b'OUT'),
            result.stderr_bytes.replace(bytes(out), b'OUT'),
        )
    for path in sorted(p for p in out.rglob('*') if p.is_file()):
        found[str(path.relative_to(out))] = (0, path.read_bytes(), b'')
    return found


@pytest.mark.parametrize(
    'scenario', [_basic, _example, _generated], ids=['basic', 'example-repo', 'generated']
)
def test_every_output_byte_is_the_same_with_and_without_a_store(
    scenario: Scenario,
    git_repo: GitRepo,
    fresh_cache: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    base, head = scenario(git_repo, monkeypatch)
    root = git_repo.path
    without = _everything(run_cli, root, base, head, tmp_path / 'none', '--no-cache')
    assert not fresh_cache.exists()
    cold = _everything(run_cli, root, base, head, tmp_path / 'cold')
    assert (fresh_cache / 'render-pack').is_dir()  # the store was used
    warm = _everything(run_cli, root, base, head, tmp_path / 'warm')
    assert any(
        r.startswith('diff') and code in (0, 1) and out for r, (code, out, _) in without.items()
    )  # something was compared
    assert cold == without
    assert warm == without
