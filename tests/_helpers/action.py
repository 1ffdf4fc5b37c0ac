"""Running action.yml's steps as GitHub Actions would, against the fake GitHub API."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from gitops_config import yaml_io
from tests._helpers.git_repo import GitRepo
from tests._helpers.github import TOKEN
from tests._helpers.github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / 'action.yml'


def _expr(text: str, inputs: dict[str, str], temp: Path | None = None) -> str:
    def one(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        if expr.startswith('inputs.'):
            return inputs[expr.removeprefix('inputs.')]
        return {'github.token': TOKEN, 'github.action_path': str(ROOT), 'runner.temp': str(temp)}[
            expr
        ]

    return re.sub(r'\$\{\{(.*?)\}\}', one, text)


def run_action(
    repo: GitRepo,
    github: FakeGitHub,
    shim: Path,
    tmp_path: Path,
    *,
    base: str,
    head: str,
    number: int = 5,
    comment: str | None = None,
    fail_on_findings: str | None = None,
    **more: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """Run action.yml's gitops-config steps with the environment GitHub Actions sets;
    MORE sets other inputs (shard, report, merge)."""
    spec = yaml_io.load(ACTION.read_text(), 'action.yml')
    inputs = {k: _expr(str(v.get('default', '')), {}) for k, v in spec['inputs'].items()}
    inputs.update(more)
    if comment is not None:
        inputs['comment'] = comment
    if fail_on_findings is not None:
        inputs['fail-on-findings'] = fail_on_findings
    tmp_path.mkdir(parents=True, exist_ok=True)
    event = tmp_path / 'event.json'
    event.write_text(
        json.dumps(
            {
                'action': 'synchronize',
                'number': number,
                'pull_request': {
                    'number': number,
                    'base': {'sha': base, 'ref': 'main'},
                    'head': {'sha': head, 'ref': 'feature'},
                },
            }
        )
    )
    summary = tmp_path / 'summary.md'
    output = tmp_path / 'output.txt'
    summary.write_text('')
    output.write_text('')
    env = {
        **os.environ,
        'PATH': f'{shim}{os.pathsep}{os.environ["PATH"]}',
        'GITHUB_ACTIONS': 'true',
        'GITHUB_EVENT_NAME': 'pull_request',
        'GITHUB_EVENT_PATH': str(event),
        'GITHUB_REPOSITORY': 'acme/config',
        'GITHUB_API_URL': github.url,
        'GITHUB_SERVER_URL': 'https://github.example',
        'GITHUB_RUN_ID': '42',
        'GITHUB_STEP_SUMMARY': str(summary),
        'GITHUB_OUTPUT': str(output),
    }
    result = None
    for step in spec['runs']['steps']:
        if 'gitops-config' not in step.get('run', ''):
            continue  # setup-python and pip install: the shim stands in for them
        step_env = {
            k: _expr(str(v), inputs, tmp_path / 'runner-temp')
            for k, v in step.get('env', {}).items()
        }
        cwd = repo.path / _expr(step.get('working-directory', '.'), inputs)
        result = subprocess.run(
            ['bash', '-e', '-c', _expr(step['run'], inputs)],
            cwd=cwd,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result is not None
    outputs = dict(line.split('=', 1) for line in output.read_text().splitlines())
    return result, outputs, summary.read_text()
