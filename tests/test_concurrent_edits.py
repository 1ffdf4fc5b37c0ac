"""Concurrent edits of one file, by real processes: every edit lands (issue 14.7)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_config import yaml_io

CHECKOUT = Path(__file__).resolve().parents[1]
EXAMPLE = CHECKOUT / 'example-repo'


def _start(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, '-m', 'gitops_config', *args],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(CHECKOUT), **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / 'example-repo'
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns('out', 'rendered'))
    return target


def test_twenty_concurrent_sets_all_land(example: Path) -> None:
    processes = [
        _start(example, 'set', 'values/dev.yaml', f'app.labels.k{i}', str(i)) for i in range(20)
    ]
    _wait_all(processes)
    data = yaml_io.load((example / 'values/dev.yaml').read_text(), 'dev.yaml')
    assert data['app']['labels'] == {f'k{i}': i for i in range(20)}
    # the locks live outside the repository: nothing new beside the file
    assert sorted(p.name for p in (example / 'values').iterdir()) == [
        'common.yaml',
        'dev.yaml',
        'prod.yaml',
        'staging.yaml',
    ]


def test_concurrent_secret_edits_all_land(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops_config import sops

    key_file = example / 'keys/demo-dev.agekey'
    env = {'SOPS_AGE_KEY_FILE': str(key_file)}
    processes = [
        _start(example, 'secrets', 'set', 'secrets/dev.enc.yaml', f'secrets.k{i}', f'v{i}', env=env)
        for i in range(6)
    ]
    processes += [
        _start(example, 'secrets', 'rotate', 'secrets/dev.enc.yaml', env=env) for _ in range(2)
    ]
    _wait_all(processes)
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(key_file))
    plain = sops.decrypt_file(example / 'secrets/dev.enc.yaml')  # the MAC is checked
    data = yaml_io.load(plain.decode(), 'dev.enc.yaml')
    assert {k: v for k, v in data['secrets'].items() if k.startswith('k')} == {
        f'k{i}': f'v{i}' for i in range(6)
    }
