from __future__ import annotations

from pathlib import Path

import pytest

from gitops_config import project as project_mod
from gitops_config.errors import InvalidProjectError
from gitops_config.errors import UsageError
from gitops_config.source import WorkTree
from tests._helpers.projects import PROJECT


def _load(tmp_path: Path, text: str) -> project_mod.Project:
    (tmp_path / 'gitops-config.yaml').write_text(text)
    return project_mod.load(WorkTree(tmp_path), tmp_path)


def test_loads_environments_in_promotion_order(tmp_path: Path) -> None:
    project = _load(tmp_path, PROJECT)
    assert project.env_names() == ['dev', 'prod']
    assert project.env('prod').layers == ('values/common.yaml', 'values/prod.yaml')
    assert project.output_dir('prod') == 'rendered/prod'
    assert project.merge == (('models', 'name'),)


def test_misspelt_key_is_reported_at_its_line_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(InvalidProjectError, match="unknown key 'templtes'") as info:
        _load(tmp_path, PROJECT.replace('templates:', 'templtes:'))
    assert str(info.value.location) == 'gitops-config.yaml:7:1'
    assert info.value.hint == "did you mean 'templates'?"


def test_wrong_type_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidProjectError, match='environments.0.layers must be a list'):
        _load(tmp_path, 'environments:\n  - name: dev\n    layers: values/dev.yaml\n')


@pytest.mark.parametrize('layer', ['../outside.yaml', '/etc/passwd', 'values/../../x.yaml'])
def test_paths_outside_the_repository_are_refused(tmp_path: Path, layer: str) -> None:
    with pytest.raises(InvalidProjectError, match='outside the repository|is absolute') as info:
        _load(tmp_path, f'environments:\n  - name: dev\n    layers: ["{layer}"]\n')
    assert info.value.location is not None
    assert info.value.location.line == 3


def test_unknown_environment_lists_the_valid_ones(tmp_path: Path) -> None:
    project = _load(tmp_path, PROJECT)
    with pytest.raises(UsageError, match="unknown environment 'qa'") as info:
        project.env('qa')
    assert info.value.hint == 'environments: dev, prod'
    assert info.value.exit_code == 2


def test_duplicate_environment(tmp_path: Path) -> None:
    text = 'environments:\n  - {name: a, layers: [x.yaml]}\n  - {name: a, layers: [y.yaml]}\n'
    with pytest.raises(InvalidProjectError, match="'a' is declared twice"):
        _load(tmp_path, text)


def test_shipped_schema_accepts_example_repo() -> None:
    import jsonschema_rs

    from gitops_config import yaml_io

    root = Path(__file__).resolve().parents[1]
    for path in [
        root / 'example-repo' / 'gitops-config.yaml',
        root / 'templates' / 'init' / 'gitops-config.yaml',
    ]:
        data = yaml_io.load(path.read_text(), str(path))
        jsonschema_rs.validator_for(project_mod.schema()).validate(data)
