"""What we ship for others' tools validates against those tools' own published formats."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pre_commit.clientlib import load_manifest  # type: ignore[import-untyped]  # no py.typed

from gitops_config.cli.commands.hook import hook

ROOT = Path(__file__).resolve().parents[1]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_pre_commit_hooks_manifest_is_valid() -> None:
    # check-jsonschema vendors no schema for .pre-commit-hooks.yaml; pre-commit's
    # own validator is the published definition of the format.
    proc = _run('pre_commit', 'validate-manifest', '.pre-commit-hooks.yaml')
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_each_hook_calls_an_existing_hook_command() -> None:
    manifest = load_manifest(str(ROOT / '.pre-commit-hooks.yaml'))
    assert [h['id'] for h in manifest] == [
        'gitops-config-validate',
        'gitops-config-secrets',
        'gitops-config-render-check',
    ]
    for entry in manifest:
        # `--`: the file names pre-commit appends are never read as options
        match = re.fullmatch(r'gitops-config hook ([a-z-]+) --', entry['entry'])
        assert match is not None, entry['entry']
        assert match.group(1) in hook.commands
        assert entry['language'] == 'python'


def test_example_repo_pre_commit_config_is_valid() -> None:
    proc = _run('pre_commit', 'validate-config', 'example-repo/.pre-commit-config.yaml')
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_yml_matches_the_github_action_schema() -> None:
    if not (ROOT / 'action.yml').exists():
        pytest.skip('action.yml is not written yet')
    proc = _run('check_jsonschema', '--builtin-schema', 'vendor.github-actions', 'action.yml')
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_broken_manifest_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / '.pre-commit-hooks.yaml'
    bad.write_text('- id: x\n  entry: y\n')  # no name, no language
    proc = _run('pre_commit', 'validate-manifest', str(bad))
    assert proc.returncode != 0
