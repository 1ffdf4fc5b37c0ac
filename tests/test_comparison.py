from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitops_config import render as render_mod
from gitops_config import revision
from gitops_config.errors import InvalidYamlError
from gitops_config.git import GitError
from gitops_config.git import RefNotFoundError
from gitops_config.incremental.reuse import Reuse
from gitops_config.keypath import KeyPathError
from gitops_config.limits import Limits
from gitops_config.model import ChangeKind
from gitops_config.pipeline import comparison
from gitops_config.pipeline import file_diff
from gitops_config.pipeline import keys_at_hand
from gitops_config.pipeline import results
from gitops_config.project import open_project
from gitops_config.sops.errors import KeySourceError
from gitops_config.sops.errors import NoKeyError
from gitops_config.source import WorkTree
from gitops_config.values import Values
from tests._helpers.git_repo import GitRepo
from tests._helpers.review import FILES
from tests._helpers.review import PROJECT
from tests._helpers.review import text


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.commit(FILES, 'init')
    return git_repo


def _review(
    repo: GitRepo,
    base: str | None = 'HEAD',
    head: str | None = None,
) -> results.Review:
    old, new = revision.open_pair(repo.path, base, head)
    return comparison.compare(old, new)


def test_shared_layer_change_lists_every_environment(repo: GitRepo) -> None:
    repo.write({'values/common.yaml': text('values/common.yaml').replace('v1', 'v2')})
    review = _review(repo)
    assert review.changed
    for env in review.envs:
        assert [(c.file, c.path, c.old, c.new) for c in env.changes] == [
            ('app.yaml', 'image', 'v1', 'v2')
        ]
        assert [(c.path, c.kind) for c in env.causes] == [('values/common.yaml', 'layer')]


def test_unchanged_environment_is_not_rendered(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write({'values/prod.yaml': 'app:\n  replicas: 4\n'})
    rendered: list[str] = []
    real = render_mod.prepare

    def spy(values: Values, limits: Limits) -> render_mod.Prepared:
        rendered.append(values.env)
        return real(values, limits)

    monkeypatch.setattr(render_mod, 'prepare', spy)
    review = _review(repo)
    dev, prod = review.envs
    assert dev.skipped
    assert dev.changes == []
    assert [(c.path, c.old, c.new) for c in prod.changes] == [('replicas', 3, 4)]
    assert rendered == ['prod', 'prod']  # base and head of prod only


def test_ignore_rule_scoped_to_one_environment(repo: GitRepo) -> None:
    project = PROJECT.replace('path: app.build_id', 'path: build\n      env: dev')
    repo.commit({'gitops-config.yaml': project})
    repo.write(
        {'values/common.yaml': text('values/common.yaml').replace('build_id: 1', 'build_id: 2')}
    )
    dev, prod = _review(repo).envs
    assert not dev.changed
    assert len(dev.ignored) == 1
    assert [c.path for c in prod.changes] == ['build']
    assert prod.ignored == []


def test_ignore_rule_on_rendered_path(repo: GitRepo) -> None:
    project = PROJECT.replace('path: app.build_id', 'path: build')
    repo.commit({'gitops-config.yaml': project})
    repo.write(
        {'values/common.yaml': text('values/common.yaml').replace('build_id: 1', 'build_id: 2')}
    )
    review = _review(repo)
    assert not review.changed
    assert [(i.change.path, i.rule.reason) for i in review.envs[0].ignored] == [
        ('build', 'changes on every build')
    ]


def test_broken_file_reported_and_the_rest_still_diffed(repo: GitRepo) -> None:
    repo.write(
        {
            'templates/bad.yaml.j2': 'a: [unclosed\n',
            'values/common.yaml': text('values/common.yaml').replace('v1', 'v2'),
        }
    )
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
    assert (change.file, change.path, change.new) == (file_diff.VALUES_FILE, 'app.replicas', 5)


def test_missing_base_is_a_clear_error(repo: GitRepo) -> None:
    with pytest.raises(RefNotFoundError, match='not found'):
        _review(repo, 'no-such-branch')


def test_shallow_clone_hint_says_fetch_depth(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'})
    clone = tmp_path / 'shallow'
    subprocess.run(
        ['git', 'clone', '-q', '--depth', '1', f'file://{repo.path}', str(clone)], check=True
    )
    with pytest.raises(RefNotFoundError) as info:
        revision.open_pair(clone, 'HEAD~1', None)
    assert info.value.hint is not None
    assert 'fetch-depth: 0' in info.value.hint


def test_unrelated_history_is_a_clear_error(repo: GitRepo) -> None:
    repo.git('checkout', '-q', '--orphan', 'other')
    repo.commit(FILES, 'unrelated root')
    with pytest.raises((revision.NoMergeBaseError, GitError), match='unrelated'):
        _review(repo, None, None)


def test_working_tree_head_label(repo: GitRepo) -> None:
    old, new = revision.open_pair(repo.path, 'HEAD', None)
    assert isinstance(new, WorkTree)
    assert comparison.compare(old, new).envs[0].changes == []
    assert all(not e.changed for e in comparison.compare(old, new).envs)


def test_list_item_changes_use_identity(repo: GitRepo) -> None:
    repo.write(
        {
            'values/common.yaml': text('values/common.yaml').replace(
                '  - {name: a, rpm: 10}\n  - {name: b, rpm: 20}\n',
                '  - {name: b, rpm: 25}\n  - {name: a, rpm: 10}\n',
            )
        }
    )
    changes = _review(repo).envs[0].changes
    assert [(c.path, c.kind) for c in changes] == [
        ('models[name=b].rpm', ChangeKind.CHANGED),
        ('models[name=b]', ChangeKind.MOVED),
    ]


def test_normalize_rules(repo: GitRepo) -> None:
    project = PROJECT + (
        '    - path: models\n      normalize: order\n'
        '      reason: the router does not care about order\n'
        '    - path: image\n      normalize: case\n      reason: tags are '
        'case-insensitive here\n'
    )
    repo.commit({'gitops-config.yaml': project})
    repo.write(
        {
            'values/common.yaml': text('values/common.yaml')
            .replace(
                '  - {name: a, rpm: 10}\n  - {name: b, rpm: 20}\n',
                '  - {name: b, rpm: 20}\n  - {name: a, rpm: 11}\n',
            )
            .replace('v1', 'V1')
        }
    )
    dev = _review(repo).envs[0]
    assert [(c.path, c.kind) for c in dev.changes] == [('models[name=a].rpm', ChangeKind.CHANGED)]
    assert sorted(i.change.kind.value for i in dev.ignored) == ['changed', 'moved']


def test_project_and_environment_new_in_head(git_repo: GitRepo) -> None:
    git_repo.commit({'README.md': 'nothing yet\n'}, 'empty')
    git_repo.write(FILES)
    review = _review(git_repo)
    assert [e.env for e in review.envs] == ['dev', 'prod']
    kinds = {(c.file, c.kind, c.detail) for c in review.envs[0].changes}
    assert kinds == {
        ('app.yaml', ChangeKind.ADDED, 'file added'),
        ('notes.txt', ChangeKind.ADDED, 'file added'),
    }


def test_environment_removed_in_head(repo: GitRepo) -> None:
    repo.write(
        {
            'gitops-config.yaml': PROJECT.replace(
                '  - name: prod\n    layers: [values/common.yaml, values/prod.yaml]\n', ''
            )
        }
    )
    review = _review(repo)
    assert [e.env for e in review.envs] == ['dev', 'prod']
    assert {c.kind for c in review.envs[1].changes} == {ChangeKind.REMOVED}


def test_validation_failure_becomes_one_finding(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitops_config import impact
    from gitops_config import project as project_mod
    from gitops_config.errors import GitopsConfigError
    from gitops_config.pipeline import review as review_mod
    from gitops_config.pipeline import validation

    def broken(*args: object, **kwargs: object) -> results.CheckResult:
        raise GitopsConfigError('policies/x.yaml: bad rule')

    monkeypatch.setattr(validation, 'check', broken)
    old, new = revision.open_pair(repo.path, 'HEAD', None)
    project = project_mod.load(new, repo.path)
    findings = review_mod.collect_findings(new, project, sealed=True)
    review = review_mod.attach_findings(comparison.compare(old, new), findings, project)
    assert [f.rule for f in review.envs[0].findings] == ['validate']
    assert review.envs[1].findings == ()
    assert impact.error_findings(review) == 1


def test_project_in_a_subfolder(git_repo: GitRepo) -> None:
    git_repo.commit({f'config/{name}': body for name, body in FILES.items()})
    git_repo.write({'config/values/dev.yaml': 'app:\n  replicas: 6\n'})
    old, new = revision.open_pair(git_repo.path / 'config' / 'values', 'HEAD', None)
    dev = comparison.compare(old, new).envs[0]
    assert [(c.path, c.old, c.new) for c in dev.changes] == [('replicas', 1, 6)]


@pytest.mark.parametrize(
    ('error', 'opens'),
    [
        (NoKeyError('no available key'), False),
        (KeySourceError('gpg failed'), False),
        (KeyPathError('no such item'), True),  # its code holds 'key': still not about keys
        (InvalidYamlError('bad layer'), True),
    ],
)
def test_only_a_key_error_means_the_keys_do_not_open_a_revision(
    repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    opens: bool,
) -> None:
    source, project = open_project(repo.path)

    def merge(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(Reuse, 'merge', merge)
    assert keys_at_hand.can_decrypt(source, project, None) is opens
