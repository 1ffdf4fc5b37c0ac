from __future__ import annotations

import pytest

from gitops_config import project as project_mod
from gitops_config.pipeline import rendering
from gitops_config.render import RenderedSyntaxError
from gitops_config.render import TemplateError
from gitops_config.source import WorkTree
from tests._helpers.git_repo import GitRepo


def _render(repo: GitRepo, *envs: str) -> list[rendering.EnvRender]:
    source = WorkTree(repo.path)
    return rendering.render(source, project_mod.load(source, repo.path), list(envs) or None)


def test_renders_every_template_per_environment(project: GitRepo) -> None:
    renders = _render(project)
    assert [r.env for r in renders] == ['dev', 'prod']
    prod = {f.path: f for f in renders[1].files}
    assert sorted(prod) == ['config.yaml', 'static.txt']
    assert prod['config.yaml'].documents == [
        {
            'name': 'gateway',
            'env': 'prod',
            'replicas': 3,
            'image': 'ghcr.io/x/gateway:1.0',
            'models': [
                {'name': 'small', 'rpm': 10},
                {'name': 'large', 'rpm': 50},
                {'name': 'huge', 'rpm': 1},
            ],
        }
    ]
    assert prod['static.txt'].content == b'copied as is\n'
    assert prod['static.txt'].documents is None


def test_output_is_deterministic(project: GitRepo) -> None:
    first = [(f.path, f.content) for r in _render(project) for f in r.files]
    second = [(f.path, f.content) for r in _render(project) for f in r.files]
    assert first == second


def test_binary_files_are_copied_untouched(project: GitRepo) -> None:
    blob = bytes(range(256)) * 4
    project.write({'templates/logo.png': blob, 'templates/odd.j2.bin': b'\xff{{ x }}'})
    files = {f.path: f for f in _render(project, 'dev')[0].files}
    assert files['logo.png'].content == blob
    assert files['odd.j2.bin'].content == b'\xff{{ x }}'


def test_undefined_variable_names_template_line_and_environment(project: GitRepo) -> None:
    project.write({'templates/bad.yaml.j2': 'a: 1\nb: {{ app.nope }}\n'})
    with pytest.raises(TemplateError, match=r'undefined value \(dev\)') as info:
        _render(project)
    assert str(info.value.location) == 'templates/bad.yaml.j2:2'


def test_syntax_error_names_template_line(project: GitRepo) -> None:
    project.write({'templates/bad.yaml.j2': 'a: 1\n\n{% if %}\n'})
    with pytest.raises(TemplateError, match='template syntax error') as info:
        _render(project)
    assert str(info.value.location) == 'templates/bad.yaml.j2:3'


def test_rendered_output_that_is_not_yaml(project: GitRepo) -> None:
    project.write({'templates/bad.yaml.j2': 'a: [{{ app.name }}\n'})
    with pytest.raises(RenderedSyntaxError, match='dev: rendered bad.yaml is not valid yaml'):
        _render(project)


def test_rendered_json_is_checked_as_json(project: GitRepo) -> None:
    project.write({'templates/x.json.j2': '{"a": 1,}\n'})
    with pytest.raises(RenderedSyntaxError, match='invalid JSON'):
        _render(project)


def test_sandbox_blocks_python_internals(project: GitRepo) -> None:
    project.write({'templates/evil.txt.j2': "{{ ''.__class__.__mro__ }}\n"})
    with pytest.raises(TemplateError):
        _render(project)


def test_sandbox_is_immutable(project: GitRepo) -> None:
    project.write({'templates/evil.txt.j2': '{{ models.append(1) }}\n'})
    # Jinja2's own words for the plain list the template sees
    with pytest.raises(TemplateError, match="attribute 'append' of 'list' object is unsafe"):
        _render(project)


def test_filters(project: GitRepo) -> None:
    project.write(
        {
            'templates/f.yaml.j2': (
                'a: {{ "yes" | to_json }}\n'
                'b: {{ "hi" | b64encode }}\n'
                'c:\n{{ app.image | to_yaml | indent(2, first=true) }}\n'
                'd: {{ app.name | required }}\n'
            )
        }
    )
    files = {f.path: f for f in _render(project, 'dev')[0].files}
    assert files['f.yaml'].documents == [
        {'a': 'yes', 'b': 'aGk=', 'c': {'repo': 'ghcr.io/x/gateway', 'tag': '1.0'}, 'd': 'gateway'}
    ]


def test_required_filter_fails_clearly(project: GitRepo) -> None:
    project.write({'templates/f.txt.j2': '{{ "" | required("app.token must be set") }}\n'})
    with pytest.raises(TemplateError, match='app.token must be set'):
        _render(project)
