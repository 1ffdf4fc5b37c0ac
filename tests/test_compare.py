from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitops_config import compare
from gitops_config.git import GitError
from gitops_config.git import RefNotFoundError
from gitops_config.model import ChangeKind
from gitops_config.source import WorkTree
from tests._helpers.git_repo import GitRepo

PROJECT = '''\
environments:
  - name: dev
    layers: [values/common.yaml, values/dev.yaml]
  - name: prod
    layers: [values/common.yaml, values/prod.yaml]
templates: templates
diff:
  ignore:
    - path: app.build_id
      reason: changes on every build
'''
FILES: dict[str, str | bytes | None] = {
    'gitops-config.yaml': PROJECT,
    'values/common.yaml': 'app:\n  image: {tag: v1}\n  build_id: 1\n'
                          'models:\n  - {name: a, rpm: 10}\n  - {name: b, rpm: 20}\n',
    'values/dev.yaml': 'app:\n  replicas: 1\n',
    'values/prod.yaml': 'app:\n  replicas: 3\n',
    'templates/app.yaml.j2': 'image: {{ app.image.tag }}\nreplicas: {{ app.replicas }}\n'
                             'build: {{ app.build_id }}\nmodels: {{ models | to_json }}\n',
    'templates/notes.txt': 'plain text\n',
}


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(FILES, 'init')
    return git_repo


def _review(repo: GitRepo, base: str | None = 'HEAD', head: str | None = None,
            ) -> compare.Review:
    old, new = compare.open_revisions(repo.path, base, head)
    return compare.compare(old, new)


def test_shared_layer_change_lists_every_environment(repo: GitRepo) -> None:
    repo.write({'values/common.yaml': FILES['values/common.yaml'].replace('v1', 'v2')})
    review = _review(repo)
    assert review.changed
    for env in review.envs:
        assert [(c.file, c.path, c.old, c.new) for c in env.changes] == [
            ('app.yaml', 'image', 'v1', 'v2')]
        assert [(c.path, c.kind) for c in env.causes] == [('values/common.yaml', 'layer')]


def test_unchanged_environment_is_not_rendered(repo: GitRepo,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 4\n'})
    rendered: list[str] = []
    real = compare.render_mod.render_env

    def spy(source: object, project: object, values: compare.values_mod.Values) -> object:
        rendered.append(values.env)
        return real(source, project, values)  # type: ignore[arg-type]  # a spy

    monkeypatch.setattr(compare.render_mod, 'render_env', spy)
    review = _review(repo)
    dev, prod = review.envs
    assert dev.skipped and dev.changes == []
    assert [(c.path, c.old, c.new) for c in prod.changes] == [('replicas', 3, 4)]
    assert rendered == ['prod', 'prod']  # base and head of prod only


def test_ignore_rule_scoped_to_one_environment(repo: GitRepo) -> None:
    project = PROJECT.replace('path: app.build_id', 'path: build\n      env: dev')
    repo.commit({'gitops-config.yaml': project})
    repo.write({'values/common.yaml': FILES['values/common.yaml'].replace('build_id: 1',
                                                                          'build_id: 2')})
    dev, prod = _review(repo).envs
    assert not dev.changed and len(dev.ignored) == 1
    assert [c.path for c in prod.changes] == ['build'] and prod.ignored == []


def test_ignore_rule_on_rendered_path(repo: GitRepo) -> None:
    project = PROJECT.replace('path: app.build_id', 'path: build')
    repo.commit({'gitops-config.yaml': project})
    repo.write({'values/common.yaml': FILES['values/common.yaml'].replace('build_id: 1',
                                                                          'build_id: 2')})
    review = _review(repo)
    assert not review.changed
    assert [(i.change.path, i.rule.reason) for i in review.envs[0].ignored] == [
        ('build', 'changes on every build')]


def test_broken_file_reported_and_the_rest_still_diffed(repo: GitRepo) -> None:
    repo.write({
        'templates/bad.yaml.j2': 'a: [unclosed\n',
        'values/common.yaml': FILES['values/common.yaml'].replace('v1', 'v2'),
    })
    review = _review(repo)
    dev = review.envs[0]
    assert any('bad.yaml' in e and 'not valid yaml' in e for e in dev.errors)
    assert [c.path for c in dev.changes] == ['image']
    assert review.errors


def test_text_file_change_counts_lines_only(repo: GitRepo) -> None:
    repo.write({'templates/notes.txt': 'plain text\nmore\n'})
    [change] = _review(repo).envs[0].changes
    assert (change.file, change.detail) == ('notes.txt', 'text: +1 -0 lines')


def test_between_two_commits_without_checkout(repo: GitRepo) -> None:
    first = repo.git('rev-parse', 'HEAD').strip()
    repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'})
    repo.write({'values/dev.yaml': 'app:\n  replicas: 7\n'})  # dirty tree: not read
    review = _review(repo, first, 'HEAD')
    assert [(c.old, c.new) for c in review.envs[0].changes] == [(1, 2)]
    assert review.head != 'working tree'


def test_default_base_is_merge_base_with_default_branch(repo: GitRepo) -> None:
    repo.git('checkout', '-q', '-b', 'feature')
    repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'})
    repo.git('checkout', '-q', 'main')
    repo.commit({'values/prod.yaml': 'app:\n  replicas: 9\n'})
    repo.git('checkout', '-q', 'feature')
    review = _review(repo, None, None)
    dev, prod = review.envs
    assert [(c.old, c.new) for c in dev.changes] == [(1, 2)]
    assert prod.skipped  # main's own change is not part of this branch


def test_values_diffed_when_nothing_is_rendered(repo: GitRepo) -> None:
    repo.commit({'gitops-config.yaml': PROJECT.replace('templates: templates\n', '')})
    repo.write({'values/dev.yaml': 'app:\n  replicas: 5\n'})
    [change] = _review(repo).envs[0].changes
    assert (change.file, change.path, change.new) == (compare.VALUES_FILE, 'app.replicas', 5)


def test_missing_base_is_a_clear_error(repo: GitRepo) -> None:
    with pytest.raises(RefNotFoundError, match='not found'):
        _review(repo, 'no-such-branch')


def test_shallow_clone_hint_says_fetch_depth(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'})
    clone = tmp_path / 'shallow'
    subprocess.run(['git', 'clone', '-q', '--depth', '1', f'file://{repo.path}', str(clone)],
                   check=True)
    with pytest.raises(RefNotFoundError) as info:
        compare.open_revisions(clone, 'HEAD~1', None)
    assert info.value.hint is not None and 'fetch-depth: 0' in info.value.hint


def test_unrelated_history_is_a_clear_error(repo: GitRepo) -> None:
    repo.git('checkout', '-q', '--orphan', 'other')
    repo.commit(FILES, 'unrelated root')
    with pytest.raises((compare.NoMergeBaseError, GitError), match='unrelated'):
        _review(repo, None, None)


def test_working_tree_head_label(repo: GitRepo) -> None:
    old, new = compare.open_revisions(repo.path, 'HEAD', None)
    assert isinstance(new, WorkTree)
    assert compare.compare(old, new).envs[0].changes == []
    assert all(not e.changed for e in compare.compare(old, new).envs)


def test_list_item_changes_use_identity(repo: GitRepo) -> None:
    repo.write({'values/common.yaml': FILES['values/common.yaml'].replace(
        '  - {name: a, rpm: 10}\n  - {name: b, rpm: 20}\n',
        '  - {name: b, rpm: 25}\n  - {name: a, rpm: 10}\n')})
    changes = _review(repo).envs[0].changes
    assert [(c.path, c.kind) for c in changes] == [
        ('models[name=b].rpm', ChangeKind.CHANGED), ('models[name=b]', ChangeKind.MOVED)]
