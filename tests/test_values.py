from __future__ import annotations

import pytest

from gitops_config import project as project_mod
from gitops_config import values
from gitops_config.errors import FileMissingError
from gitops_config.errors import InvalidYamlError
from gitops_config.model import Location
from gitops_config.source import WorkTree
from gitops_config.values import LayerError
from tests._helpers.git_repo import GitRepo


def _merge(repo: GitRepo, env: str) -> values.Values:
    source = WorkTree(repo.path)
    return values.merge(source, project_mod.load(source, repo.path), env)


def test_mappings_deep_merge_scalars_replace(project: GitRepo) -> None:
    prod = _merge(project, 'prod').data
    assert prod['app'] == {
        'name': 'gateway',
        'replicas': 3,
        'image': {'repo': 'ghcr.io/x/gateway', 'tag': '1.0'},
    }


def test_lists_merge_by_declared_key(project: GitRepo) -> None:
    prod = _merge(project, 'prod').data
    assert prod['models'] == [
        {'name': 'small', 'rpm': 10},
        {'name': 'large', 'rpm': 50},
        {'name': 'huge', 'rpm': 1},
    ]


def test_undeclared_lists_are_replaced(project: GitRepo) -> None:
    project.write({'values/dev.yaml': 'tags: [b]\n', 'values/common.yaml': 'tags: [a, c]\n'})
    assert _merge(project, 'dev').data == {'tags': ['b']}


def test_delete_tag_removes_keys_and_items(project: GitRepo) -> None:
    project.write(
        {'values/prod.yaml': 'app:\n  image: !delete\nmodels:\n  - !delete {name: small}\n'}
    )
    prod = _merge(project, 'prod').data
    assert 'image' not in prod['app']
    assert [m['name'] for m in prod['models']] == ['large']


def test_delete_of_a_missing_key_is_an_error(project: GitRepo) -> None:
    project.write({'values/prod.yaml': 'nothing: !delete\n'})
    with pytest.raises(LayerError, match='only allowed on a key that a layer below sets'):
        _merge(project, 'prod')


def test_unknown_tag_is_an_error(project: GitRepo) -> None:
    project.write({'values/prod.yaml': 'a: !vault secret/x\n'})
    with pytest.raises(LayerError, match="unknown tag '!vault'") as info:
        _merge(project, 'prod')
    assert str(info.value.location) == 'values/prod.yaml:1:1'


def test_provenance_names_file_line_and_what_was_overridden(project: GitRepo) -> None:
    prod = _merge(project, 'prod')
    prov = prod.provenance[('app', 'replicas')]
    assert prov.location == Location('values/prod.yaml', 2, 3)
    assert prov.overridden == (Location('values/common.yaml', 4, 3),)
    assert prod.provenance[('models', 1, 'rpm')].location == Location('values/prod.yaml', 5, 5)
    assert prod.provenance[('models', 2, 'name')].location.path == 'values/prod.yaml'
    assert prod.provenance[('app', 'name')].overridden == ()


def test_missing_layer_file(project: GitRepo) -> None:
    project.write({'values/prod.yaml': None})
    with pytest.raises(FileMissingError, match='values/prod.yaml: no such file'):
        _merge(project, 'prod')


def test_non_mapping_layer(project: GitRepo) -> None:
    project.write({'values/prod.yaml': '- a\n- b\n'})
    with pytest.raises(LayerError, match='must be a mapping at the top level'):
        _merge(project, 'prod')


def test_empty_layer_is_empty(project: GitRepo) -> None:
    project.write({'values/dev.yaml': '# nothing yet\n'})
    assert _merge(project, 'dev').data['app']['replicas'] == 1


def test_malformed_layer(project: GitRepo) -> None:
    project.write({'values/dev.yaml': 'app: [\n'})
    with pytest.raises(InvalidYamlError) as info:
        _merge(project, 'dev')
    assert info.value.location is not None
    assert info.value.location.path == 'values/dev.yaml'


def test_keyed_item_without_its_key(project: GitRepo) -> None:
    project.write({'values/prod.yaml': 'models:\n  - rpm: 3\n'})
    with pytest.raises(LayerError, match="merges by 'name'"):
        _merge(project, 'prod')
