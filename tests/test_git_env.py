"""Inside a git hook, git's own GIT_* variables name the repository that runs the hook;
whatever they name, every git the tool runs reads the repository it was pointed at."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_config import git
from gitops_config.sops import gitsetup
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli


def _inside_a_hook_of_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """Another repository, and the variables a hook inherits pointing at it."""
    other = GitRepo(tmp_path / 'other')
    other.commit({'f.yaml': 'x: other\n', 'only-there.yaml': 'y: 1\n'}, 'other')
    other.write({'staged-there.yaml': 'z: 1\n'})
    other.git('add', 'staged-there.yaml')
    monkeypatch.setenv('GIT_DIR', str(other.path / '.git'))
    monkeypatch.setenv('GIT_INDEX_FILE', str(other.path / '.git' / 'index'))
    monkeypatch.setenv('GIT_WORK_TREE', str(other.path))
    monkeypatch.setenv('GIT_PREFIX', 'sub/')
    return other


def _ours(tmp_path: Path) -> tuple[GitRepo, str]:
    ours = GitRepo(tmp_path / 'ours')
    head = ours.commit({'f.yaml': 'x: ours\n', 'sub/g.yaml': 'g: 1\n'}, 'ours')
    ours.write({'staged.yaml': 's: 1\n'})
    ours.git('add', 'staged.yaml')
    return ours, head


def test_the_repository_reads_its_own_objects_index_and_refs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, head = _ours(tmp_path)  # made before the hook's variables are set
    _inside_a_hook_of_another(tmp_path, monkeypatch)
    repo = git.Repo(ours.path / 'sub')
    try:
        assert repo.root == ours.path
        assert repo.resolve('HEAD') == head
        tree = repo.tree(head)
        assert sorted(tree) == ['f.yaml', 'sub/g.yaml']
        assert repo.read_blob(tree['f.yaml'].sha) == b'x: ours\n'
        assert sorted(repo.index()) == ['f.yaml', 'staged.yaml', 'sub/g.yaml']
        assert repo.staged_paths() == ['staged.yaml']
        made = repo.commit_files(head, {'f.yaml': b'x: new\n'}, 'change')
        repo.set_branch('topic', made, was=None)
        assert repo.branch('topic') == made
    finally:
        repo.close()
    monkeypatch.delenv('GIT_DIR')
    monkeypatch.delenv('GIT_INDEX_FILE')
    monkeypatch.delenv('GIT_WORK_TREE')
    assert ours.git('rev-parse', 'topic').strip() == made


def test_one_shot_git_commands_read_the_repository_they_are_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, head = _ours(tmp_path)
    _inside_a_hook_of_another(tmp_path, monkeypatch)
    assert git.head_commit(ours.path) == head
    assert sorted(git.tracked_files(ours.path) or []) == ['f.yaml', 'staged.yaml', 'sub/g.yaml']
    assert git.work_tree(ours.path / 'sub') == ours.path
    gitsetup.install(ours.path)
    monkeypatch.delenv('GIT_DIR')
    assert ours.git('config', '--local', 'diff.sops.cachetextconv').strip() == 'false'


def test_validate_reports_the_commit_of_the_repository_it_checked(
    project: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    head = project.git('rev-parse', 'HEAD').strip()
    _inside_a_hook_of_another(tmp_path, monkeypatch)
    result = run_cli('validate', '--format', 'json', cwd=project.path)
    assert json.loads(result.stdout)['revision'] == f'{head} (working tree)'
