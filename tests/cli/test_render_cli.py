from __future__ import annotations

import subprocess
from pathlib import Path

from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli


def test_render_writes_every_environment(project: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('render', cwd=project.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [
        'rendered/dev/config.yaml',
        'rendered/dev/static.txt',
        'rendered/prod/config.yaml',
        'rendered/prod/static.txt',
    ]
    assert 'replicas: 3' in (project.path / 'rendered/prod/config.yaml').read_text()


def test_render_one_environment_to_another_folder(
    project: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    result = run_cli('render', '--env', 'prod', '--out', str(tmp_path / 'out'), cwd=project.path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / 'out/prod/config.yaml').is_file()
    assert not (tmp_path / 'out/dev').exists()


def test_render_removes_files_no_template_produces(project: GitRepo, run_cli: RunCli) -> None:
    run_cli('render', cwd=project.path)
    project.write({'templates/static.txt': None})
    run_cli('render', cwd=project.path)
    assert not (project.path / 'rendered/prod/static.txt').exists()


def test_check_passes_when_committed_output_is_current(
    project: GitRepo,
    run_cli: RunCli,
) -> None:
    run_cli('render', cwd=project.path)
    project.commit(message='rendered')
    result = run_cli('render', '--check', cwd=project.path)
    assert result.exit_code == 0, result.output


def test_check_lists_stale_files_and_exits_1(project: GitRepo, run_cli: RunCli) -> None:
    run_cli('render', cwd=project.path)
    project.write(
        {'values/prod.yaml': 'app:\n  replicas: 9\n', 'rendered/dev/extra.yaml': 'a: 1\n'}
    )
    result = run_cli('render', '--check', cwd=project.path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        'rendered/dev/extra.yaml: extra',
        'rendered/prod/config.yaml: changed',
    ]
    assert 'out of date' in result.stderr
    assert (project.path / 'rendered/prod/config.yaml').read_text().count('replicas: 3') == 1


def test_render_ref_reads_the_commit_in_a_dirty_tree(
    project: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    project.commit({'values/prod.yaml': 'app:\n  replicas: 5\n'})
    project.write({'values/prod.yaml': 'app: [broken\n'})  # dirty and invalid
    result = run_cli(
        'render', '--ref', 'HEAD~1', '--env', 'prod', '--out', str(tmp_path / 'o'), cwd=project.path
    )
    assert result.exit_code == 0, result.output
    assert 'replicas: 3' in (tmp_path / 'o/prod/config.yaml').read_text()
    assert (project.path / 'values/prod.yaml').read_text() == 'app: [broken\n'


def test_render_ref_in_a_bare_clone(project: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    bare = tmp_path / 'bare.git'
    subprocess.run(['git', 'clone', '-q', '--bare', str(project.path), str(bare)], check=True)
    result = run_cli('render', '--ref', 'HEAD', '--out', str(tmp_path / 'o'), cwd=bare)
    assert result.exit_code == 0, result.output
    assert 'replicas: 3' in (tmp_path / 'o/prod/config.yaml').read_text()


def test_render_ref_of_a_project_in_a_subfolder(
    git_repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    from tests._helpers.projects import BASIC

    git_repo.commit({f'config/{k}': v for k, v in BASIC.items()})
    result = run_cli(
        'render', '--ref', 'HEAD', '--out', str(tmp_path / 'o'), cwd=git_repo.path / 'config'
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / 'o/dev/config.yaml').is_file()


def test_unknown_ref_is_one_clear_line(project: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('render', '--ref', 'nope', cwd=project.path)
    assert result.exit_code == 3
    assert result.stderr.startswith("error: ref-not-found: revision 'nope' not found")
    assert 'Traceback' not in result.output


def test_unknown_environment_is_a_usage_error(project: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('render', '--env', 'qa', cwd=project.path)
    assert result.exit_code == 2
    assert "unknown environment 'qa'" in result.stderr
    assert 'hint: environments: dev, prod' in result.stderr


def test_template_error_leaves_no_partial_output(project: GitRepo, run_cli: RunCli) -> None:
    project.write({'templates/zz.yaml.j2': '{{ nope }}\n'})
    result = run_cli('render', cwd=project.path)
    assert result.exit_code == 1
    assert 'templates/zz.yaml.j2:1' in result.stderr
    assert not (project.path / 'rendered').exists()


def test_no_project_file(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli('render', cwd=tmp_path)
    assert result.exit_code == 3
    assert 'no gitops-config.yaml' in result.stderr
