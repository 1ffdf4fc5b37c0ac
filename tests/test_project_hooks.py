"""The project's own pre-commit hooks (.pre-commit-config.yaml), not the ones it ships."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / '.pre-commit-config.yaml'


def test_the_config_is_one_pre_commit_accepts() -> None:
    proc = subprocess.run(
        [sys.executable, '-m', 'pre_commit', 'validate-config', str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_each_hook_runs_a_tool_the_setup_installs_into_the_venv() -> None:
    hooks = [hook for repo in yaml.safe_load(CONFIG.read_text())['repos'] for hook in repo['hooks']]
    assert {hook['id'] for hook in hooks} >= {'ruff', 'mypy', 'import-linter'}
    bin_dir = Path(sys.executable).parent
    for hook in hooks:
        tool = hook['entry'].split()[0]
        assert tool.startswith('.venv/bin/'), f'{hook["id"]}: {tool} is not the project venv'
        assert (bin_dir / tool.removeprefix('.venv/bin/')).exists(), (
            f'{hook["id"]}: {tool} is not installed by the test extras'
        )
