from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCli


def test_init_scaffolds_a_project_that_renders(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli('init', 'new')
    assert result.exit_code == 0, result.output
    root = tmp_path / 'new'
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file()) == [
        '.gitignore',
        'gitops-config.yaml',
        'templates/config.yaml.j2',
        'values/common.yaml',
        'values/dev.yaml',
        'values/prod.yaml',
        'values/staging.yaml',
    ]
    assert run_cli('render', cwd=root).exit_code == 0
    assert 'replicas: 3' in (root / 'rendered/prod/config.yaml').read_text()


def test_init_refuses_an_existing_project(run_cli: RunCli, tmp_path: Path) -> None:
    run_cli('init', 'new')
    result = run_cli('init', 'new')
    assert result.exit_code == 3
    assert 'already exists' in result.stderr
