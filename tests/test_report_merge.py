"""Shards run in parallel processes and merged equal one unsharded run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import change
from benchmarks.generate import generate
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli

SERVICES = 24


@pytest.fixture(scope='module')
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A generated repository with a base commit and a head that changes 6 services
    and breaks one service's schema."""
    repo = GitRepo(tmp_path_factory.mktemp('shards') / 'repo')
    generate(repo.path, SERVICES)
    base = repo.commit(message='base')
    change(repo.path, SERVICES, 6)
    prod = repo.path / 'values/prod.yaml'
    prod.write_text(
        prod.read_text().replace('s00005:\n    replicas: 3', 's00005:\n    replicas: 300', 1)
    )
    head = repo.commit(message='head')
    return repo.path, base, head


def _run(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, '-m', 'gitops_config', '--no-cache', *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sharded(root: Path, tmp_path: Path, n: int, *args: str) -> list[Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    procs = [_run(root, *args, '--shard', f'{i}/{n}') for i in range(1, n + 1)]  # in parallel
    paths = []
    for i, proc in enumerate(procs, start=1):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), err
        path = tmp_path / f'shard-{i}.json'
        path.write_text(out)
        paths.append(path)
    return paths


def _whole(root: Path, *args: str) -> dict[str, Any]:
    out, _err = _run(root, *args).communicate(timeout=120)
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.mark.parametrize('n', [2, 3])
def test_merged_diff_shards_equal_the_unsharded_diff(
    history: tuple[Path, str, str], tmp_path: Path, run_cli: RunCli, n: int
) -> None:
    root, base, head = history
    args = ('diff', base, head, '--validate', '-f', 'json')
    shards = _sharded(root, tmp_path, n, *args)
    assert all(json.loads(p.read_text())['shard']['total'] == n for p in shards)
    result = run_cli('report', 'merge', *map(str, shards), '--exit-code')
    assert result.exit_code == 1, result.output  # something changed
    merged = json.loads(result.stdout)
    whole = _whole(root, *args)
    assert merged == whole
    # 6 services x 3 environments, and prod's s00005 replicas
    assert sum(e['summary']['files'] for e in merged['environments']) == 19
    assert any(e['findings'] for e in merged['environments'])


def test_merged_validate_shards_equal_the_unsharded_run(
    history: tuple[Path, str, str], tmp_path: Path, run_cli: RunCli
) -> None:
    root, _, head = history
    args = ('validate', '--ref', head, '-f', 'json')
    shards = _sharded(root, tmp_path, 3, *args)
    result = run_cli('report', 'merge', *map(str, shards))
    assert result.exit_code == 1  # the schema violation
    merged = json.loads(result.stdout)
    assert merged == _whole(root, *args)
    assert [f['rule'] for f in merged['findings']] == ['schema']


def test_merged_markdown_is_the_pr_comment_layout(
    history: tuple[Path, str, str], tmp_path: Path, run_cli: RunCli
) -> None:
    root, base, head = history
    shards = _sharded(root, tmp_path, 2, 'diff', base, head, '-f', 'json')
    merged = run_cli('report', 'merge', *map(str, shards), '-f', 'markdown').stdout
    whole, _ = _run(root, 'diff', base, head, '-f', 'markdown').communicate(timeout=120)
    assert merged == whole


def test_shards_of_different_commits_are_refused(
    history: tuple[Path, str, str], tmp_path: Path, run_cli: RunCli
) -> None:
    root, base, head = history
    one = _sharded(root, tmp_path / 'a', 2, 'validate', '--ref', base, '-f', 'json')
    two = _sharded(root, tmp_path / 'b', 2, 'validate', '--ref', head, '-f', 'json')
    result = run_cli('report', 'merge', str(one[0]), str(two[1]))
    assert result.exit_code == 3
    assert 'shards are from different commits' in result.stderr
    assert base in result.stderr
    assert head in result.stderr


def test_missing_and_duplicate_shards_are_refused(
    history: tuple[Path, str, str], tmp_path: Path, run_cli: RunCli
) -> None:
    root, _, head = history
    shards = _sharded(root, tmp_path, 3, 'validate', '--ref', head, '-f', 'json')
    result = run_cli('report', 'merge', str(shards[0]), str(shards[2]))
    assert result.exit_code == 3
    assert 'missing shard(s) 2/3' in result.stderr
    result = run_cli('report', 'merge', str(shards[0]), str(shards[0]))
    assert 'shard 1 given twice' in result.stderr
    not_json = tmp_path / 'x.json'
    not_json.write_text('{oops')
    result = run_cli('report', 'merge', str(not_json))
    assert result.exit_code == 3
    assert 'x.json:1:2' in result.stderr
