"""Opening a revision: every Source says where its project is on disk and which commit
it is, however it was opened."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gitops_config import revision
from gitops_config.errors import InvalidProjectError
from gitops_config.source import WorkTree
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import PROJECT

PACKAGE = Path(__file__).resolve().parents[1] / 'gitops_config'


@pytest.fixture
def nested(git_repo: GitRepo) -> tuple[GitRepo, Path, str, str]:
    """A project in config/ of a larger repository, at two commits."""
    first = git_repo.commit({'config/gitops-config.yaml': PROJECT, 'README': 'x\n'}, 'one')
    second = git_repo.commit({'config/values/common.yaml': 'a: 1\n'}, 'two')
    return git_repo, git_repo.path / 'config', first, second


def test_find_root_walks_up(tmp_path: Path) -> None:
    (tmp_path / 'gitops-config.yaml').write_text(PROJECT)
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    assert revision.find_root(tmp_path / 'a' / 'b') == tmp_path.resolve()
    with pytest.raises(InvalidProjectError, match='no gitops-config.yaml'):
        revision.find_root(tmp_path.parent)


def test_a_commit_knows_its_sha_and_its_project_folder(
    nested: tuple[GitRepo, Path, str, str],
) -> None:
    _repo, root, first, second = nested
    source = revision.open_revision(root / 'values', 'HEAD~1')
    assert (source.commit, source.root, source.label) == (first, root.resolve(), first[:12])
    assert source.exists('gitops-config.yaml')
    assert not source.exists('values/common.yaml')
    assert revision.open_revision(root, second).commit == second


def test_the_working_tree_and_the_index_are_no_commit(
    nested: tuple[GitRepo, Path, str, str],
) -> None:
    _repo, root, _, _ = nested
    work = revision.open_revision(root / 'values')
    assert isinstance(work, WorkTree)
    assert (work.commit, work.root) == (None, root.resolve())
    index = revision.locate(root).index()
    assert (index.commit, index.root, index.label) == (None, root.resolve(), 'index')


def test_a_pair_defaults_to_the_merge_base_and_the_working_tree(
    nested: tuple[GitRepo, Path, str, str],
) -> None:
    repo, root, first, second = nested
    repo.git('update-ref', 'refs/remotes/origin/main', first)
    repo.git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main')
    base, head = revision.open_pair(root, None, None)
    assert (base.commit, head.commit, head.root) == (first, None, root.resolve())
    base, head = revision.open_pair(root, 'HEAD~1', 'HEAD')
    assert (base.commit, head.commit) == (first, second)


def test_at_commit_is_none_outside_git_or_before_the_first_commit(
    tmp_path: Path, nested: tuple[GitRepo, Path, str, str]
) -> None:
    assert revision.at_commit(tmp_path / 'elsewhere', 'HEAD') is None
    _, root, first, _ = nested
    assert revision.at_commit(root, f'{first}^') is None
    found = revision.at_commit(root, 'HEAD~1')
    assert found is not None
    assert found.commit == first


def test_no_code_probes_a_source_for_root_or_commit() -> None:
    """Source carries `root` and `commit`: nothing falls back to the current folder."""
    probes = []
    for path in sorted(PACKAGE.rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ('getattr', 'hasattr')
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in ('root', 'commit')
            ):
                probes.append(f'{path.relative_to(PACKAGE)}:{node.lineno}')
    assert probes == []
