"""action.yml and the workflows we ship or show: pinned, least privilege, audited.

A tag (`@v4`) can be moved to other code by whoever controls it, and every
review job runs with the pull request's token and, often, a decryption key.
zizmor (the GitHub Actions auditor) runs offline on all of them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitops_config import yaml_io

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / 'example-repo' / '.github' / 'workflows').glob('*.yml'))
OWN_WORKFLOWS = sorted((ROOT / '.github').rglob('*.yml')) if (ROOT / '.github').is_dir() else []
USES = re.compile(r'^\s*(?:-\s+)?uses:\s*(\S+)(.*)$', re.MULTILINE)
PINNED = re.compile(r'^[\w.-]+/[\w./-]+@[0-9a-f]{40}$')
OWN_ACTION = 'gitops-config/gitops-config'


def _readme_workflows(tmp_path: Path) -> list[Path]:
    """The README's workflow examples, each written to a file of its own."""
    blocks = re.findall(r'```yaml\n(.*?)```', (ROOT / 'README.md').read_text(), re.DOTALL)
    found = []
    for i, block in enumerate(b for b in blocks if 'runs-on:' in b):
        path = tmp_path / '.github' / 'workflows' / f'readme-{i}.yml'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block)
        found.append(path)
    assert found
    return found


def _audited(tmp_path: Path) -> list[Path]:
    return [ROOT / 'action.yml', *WORKFLOWS, *OWN_WORKFLOWS, *_readme_workflows(tmp_path)]


def test_zizmor_finds_nothing_at_medium_or_above(tmp_path: Path) -> None:
    zizmor = Path(sys.executable).parent / 'zizmor'
    files = _audited(tmp_path)
    result = subprocess.run(
        [
            str(zizmor),
            '--offline',
            '--no-progress',
            '--format',
            'json',
            '--min-severity',
            'medium',
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    findings = json.loads(result.stdout or '[]')
    assert findings == [], json.dumps(
        [(f['ident'], f['locations'][0]['symbolic']['key']) for f in findings], indent=1
    )
    assert result.returncode == 0, result.stderr


def _uses(paths: list[Path]) -> list[tuple[Path, str, str]]:
    return [(path, ref, rest) for path in paths for ref, rest in USES.findall(path.read_text())]


def test_every_action_is_pinned_to_a_commit_with_its_version_named(tmp_path: Path) -> None:
    uses = _uses(_audited(tmp_path))
    assert len(uses) >= 10
    for path, ref, comment in uses:
        assert PINNED.match(ref), f'{path.name}: {ref} is not pinned to a commit SHA'
        assert comment.strip().startswith('#'), f'{path.name}: {ref} names no version'


def _own_pins(tmp_path: Path) -> set[str]:
    pins = {
        ref.split('@')[1]
        for _, ref, _ in _uses(_audited(tmp_path))
        if ref.startswith(OWN_ACTION + '@')
    }
    config = yaml_io.load(
        (ROOT / 'example-repo' / '.pre-commit-config.yaml').read_text(), '.pre-commit-config.yaml'
    )
    pins |= {str(r['rev']) for r in config['repos'] if r['repo'].endswith('/' + OWN_ACTION)}
    readme = (ROOT / 'README.md').read_text()
    pins |= set(re.findall(r'rev: ([0-9a-f]{40})', readme))
    pins |= set(re.findall(r'ref: ([0-9a-f]{40})', '\n'.join(p.read_text() for p in WORKFLOWS)))
    return pins


def test_examples_pin_one_commit_of_this_project_whose_action_is_pinned(
    tmp_path: Path,
) -> None:
    """No release tag exists: every example names the same commit of this repository."""
    [pin] = _own_pins(tmp_path)
    if not (ROOT / '.git').exists():
        pytest.skip('not a git checkout: the pinned commit cannot be looked up')
    shown = subprocess.run(
        ['git', 'show', f'{pin}:action.yml'], cwd=ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0, f'{pin} is not a commit of this repository holding action.yml'
    assert all(PINNED.match(ref) for ref, _ in USES.findall(shown.stdout))
    revs = re.findall(r'^\s*rev: (\S+)', (ROOT / 'README.md').read_text(), re.MULTILINE)
    assert revs == [pin]


def _permissions(block: Any) -> dict[str, str]:
    if block is None:
        return {}
    if isinstance(block, str):  # read-all / write-all
        return {'*': block.split('-')[0]}
    return {str(k): str(v) for k, v in block.items()}


@pytest.mark.parametrize('path', WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_each_job_gets_only_what_it_uses(path: Path) -> None:
    spec = yaml_io.load(path.read_text(), path.name)
    assert _permissions(spec.get('permissions')) == {}, 'permissions belong on the jobs'
    for name, job in spec['jobs'].items():
        granted = _permissions(job.get('permissions'))
        assert granted, f'{name}: no permissions block (it would get the repository default)'
        steps = job.get('steps', [])
        comments = any(
            str(step.get('uses', '')).startswith(OWN_ACTION + '@')
            and 'shard' not in (step.get('with') or {})
            for step in steps
        )
        # only a job that posts the comment writes, and only to the pull request
        writes = {k for k, v in granted.items() if v == 'write'}
        assert writes == ({'pull-requests'} if comments else set()), name


def test_drift_installs_the_pinned_checkout_not_the_index() -> None:
    text = (ROOT / 'example-repo' / '.github' / 'workflows' / 'config-drift.yml').read_text()
    installs = re.findall(r'pip install[^\n]*', text)
    assert installs
    assert all('./.gitops-config' in line for line in installs)
    spec = yaml_io.load(text, 'config-drift.yml')
    [checkout] = [
        s
        for s in spec['jobs']['drift']['steps']
        if s.get('with', {}).get('repository') == OWN_ACTION
    ]
    assert re.fullmatch(r'[0-9a-f]{40}', checkout['with']['ref'])
    assert checkout['with']['path'] == '.gitops-config'
