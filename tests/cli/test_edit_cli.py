"""`set` and `unset` on example-repo: they change exactly what KEYPATH names, or refuse."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitops_config import values
from gitops_config.project import open_project
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli

EXAMPLE = Path(__file__).resolve().parents[2] / 'example-repo'
ENVS = ('dev', 'staging', 'prod')


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / 'example-repo'
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns('out'))
    return target


def _merged(root: Path) -> dict[str, Any]:
    """Each environment's merged values, as copies: merged values are shared with what
    the process remembers (a later test merging the same layers gets the same object),
    so a test that edits them into what it expects must not edit those."""
    source, project = open_project(root)
    return {
        env: copy.deepcopy(values.merge(source, project, env, sealed=True).data) for env in ENVS
    }


def _rpm_set_in_staging_only(root: Path, before: dict[str, Any], rpm: int) -> None:
    """The merged values of ROOT are BEFORE but for staging's gpt-4o rpm, now RPM."""
    after = _merged(root)
    assert after['dev'] == before['dev']
    assert after['prod'] == before['prod']
    expected = before['staging']
    expected['model_list'][0]['litellm_params']['rpm'] = rpm
    assert after['staging'] == expected


def _get(run_cli: RunCli, root: Path, env: str, key_path: str) -> Any:
    result = run_cli('get', env, key_path, '--format', 'json', cwd=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_set_in_a_layer_without_the_list_adds_one_keyed_entry(
    example: Path, run_cli: RunCli
) -> None:
    before = _merged(example)
    key = 'model_list[model_info.id=openai-gpt-4o].litellm_params.rpm'
    result = run_cli('set', 'values/staging.yaml', key, '77', cwd=example)
    assert result.exit_code == 0, result.output
    assert _get(run_cli, example, 'staging', key) == 77
    _rpm_set_in_staging_only(example, before, 77)
    assert (
        (example / 'values/staging.yaml')
        .read_text()
        .endswith(
            '  budget_duration: 7d\n'
            'model_list:\n'
            '- model_info:\n'
            '    id: openai-gpt-4o\n'
            '  litellm_params:\n'
            '    rpm: 77\n'
        )
    )


def test_a_selector_matching_two_items_is_an_error_listing_them(
    example: Path, run_cli: RunCli
) -> None:
    key = 'model_list[model_name=gpt-4o].litellm_params.rpm'
    before = (example / 'values/prod.yaml').read_bytes()
    for args in (
        ('get', 'prod', key),
        ('explain', 'prod', key),
        ('set', 'values/prod.yaml', key, '1'),
        ('unset', 'values/prod.yaml', key),
    ):
        result = run_cli(*args, cwd=example)
        assert result.exit_code == 2, (args, result.output)
        assert 'model_list[model_name=gpt-4o] matches 2 items' in result.stderr
        assert 'model_list[0] (model_list[model_info.id=openai-gpt-4o])' in result.stderr
        assert 'model_list[4] (model_list[model_info.id=azure-gpt-4o-eu])' in result.stderr
    assert (example / 'values/prod.yaml').read_bytes() == before


def test_value_keeps_the_type_it_replaces(example: Path, run_cli: RunCli) -> None:
    result = run_cli('set', 'values/staging.yaml', 'app.image.tag', '1.10', cwd=example)
    assert result.exit_code == 0, result.output
    assert _get(run_cli, example, 'staging', 'app.image.tag') == '1.10'
    assert "tag: '1.10'" in (example / 'values/staging.yaml').read_text()


def test_set_warns_where_a_later_layer_wins(example: Path, run_cli: RunCli) -> None:
    before = _merged(example)
    key = 'model_list[model_info.id=openai-gpt-4o].litellm_params.rpm'
    result = run_cli('set', 'values/common.yaml', key, '61', cwd=example)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f'values/common.yaml: set {key} = 61 (in staging)',
        f'warning: dev: values/dev.yaml:10:7 sets {key} after values/common.yaml; dev keeps 10',
        f'warning: prod: values/prod.yaml:18:7 sets {key} after values/common.yaml; prod keeps 500',
    ]
    _rpm_set_in_staging_only(example, before, 61)


def test_unset_removes_the_layers_override_and_says_what_shows_now(
    example: Path, run_cli: RunCli
) -> None:
    result = run_cli('unset', 'values/prod.yaml', 'app.replicas', cwd=example)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        'values/prod.yaml: removed app.replicas',
        '  prod: app.replicas is now 1 (from values/common.yaml:9:3)',
    ]
    assert _get(run_cli, example, 'prod', 'app.replicas') == 1


def test_unset_of_what_a_layer_below_sets_writes_delete(example: Path, run_cli: RunCli) -> None:
    before = _merged(example)
    result = run_cli('unset', 'values/dev.yaml', 'app.replicas', cwd=example)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        'values/dev.yaml: deleted app.replicas (wrote !delete: a layer below sets it)',
        '  dev: app.replicas is no longer set',
    ]
    assert (
        '    tag: main-v1.56.2\n  replicas: !delete\n' in (example / 'values/dev.yaml').read_text()
    )
    key = 'model_list[model_info.id=openai-gpt-4o-mini]'
    result = run_cli('unset', 'values/dev.yaml', key, cwd=example)
    assert result.exit_code == 0, result.output
    assert (
        '  - !delete {model_info: {id: openai-gpt-4o-mini}}\n'
        in (example / 'values/dev.yaml').read_text()
    )
    after = _merged(example)
    expected = before['dev']
    del expected['app']['replicas']
    del expected['model_list'][1]
    assert after['dev'] == expected
    assert after['prod'] == before['prod']


def test_value_types(example: Path, run_cli: RunCli) -> None:
    def set_(*args: str) -> Any:
        return run_cli('set', 'values/prod.yaml', *args, cwd=example)

    result = set_('app.replicas', 'three')
    assert result.exit_code == 2
    assert (
        "VALUE 'three' reads as a string, where the value it replaces is a number" in result.stderr
    )
    assert 'add --string' in result.stderr
    assert set_('app.replicas', '4').exit_code == 0
    assert set_('app.resources.limits.cpu', '2.50').exit_code == 0  # over the string "2"
    assert set_('app.labels', '{team: llm, tier: 1}').exit_code == 0  # a new key: YAML
    assert set_('litellm_settings.cache', 'on', '--yaml').exit_code == 0  # a string now
    assert set_('general_settings.max_parallel_requests', '8', '--string').exit_code == 0
    assert set_('app.replicas', '4', '--string', '--yaml').exit_code == 2
    assert _get(run_cli, example, 'prod', 'app') | {'image': None} == {
        'name': 'litellm-proxy',
        'namespace': 'llm-gateway',
        'image': None,
        'port': 4000,
        'replicas': 4,
        'labels': {'team': 'llm', 'tier': 1},
        'resources': {
            'requests': {'cpu': '1', 'memory': '2Gi'},
            'limits': {'cpu': '2.50', 'memory': '4Gi'},
        },
    }
    assert _get(run_cli, example, 'prod', 'litellm_settings.cache') == 'on'
    assert _get(run_cli, example, 'prod', 'general_settings.max_parallel_requests') == '8'


def test_a_failed_read_back_restores_the_file(
    example: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitops_config import layer_edit

    commit = layer_edit._Edit._commit
    writes: list[bytes] = []

    def lossy(self: Any, data: bytes) -> None:
        # the first write loses a line, as a broken filesystem or editor might
        writes.append(data)
        commit(self, data.replace(b'  replicas: 3\n', b'') if len(writes) == 1 else data)

    monkeypatch.setattr(layer_edit._Edit, '_commit', lossy)
    before = (example / 'values/prod.yaml').read_bytes()
    result = run_cli('set', 'values/prod.yaml', 'app.image.tag', 'v2', cwd=example)
    assert result.exit_code == 3
    assert (
        'values/prod.yaml: read back after the edit, prod changed at app.replicas; '
        'the file was restored'
    ) in result.stderr
    assert (example / 'values/prod.yaml').read_bytes() == before


def test_secrets_set_resolves_like_set(
    example: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitops_config import sops

    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(example / 'keys/demo-dev.agekey'))
    key = 'secrets.provider_keys.OPENAI_API_KEY'
    result = run_cli('secrets', 'set', 'secrets/dev.enc.yaml', key, 'sk-new-0123', cwd=example)
    assert result.exit_code == 0, result.output
    assert result.stderr == f'secrets/dev.enc.yaml: set {key} = **** (in dev)\n'
    plain = sops.decrypt_file(example / 'secrets/dev.enc.yaml').decode()
    assert '        OPENAI_API_KEY: sk-new-0123\n' in plain
    # a keyed item's identity would be encrypted: layers could not match it
    result = run_cli(
        'secrets',
        'set',
        'secrets/dev.enc.yaml',
        'model_list[model_info.id=openai-gpt-4o].litellm_params.api_key',
        'sk-x',
        cwd=example,
    )
    assert result.exit_code == 2
    assert 'layers match list items by model_info.id, which this file would encrypt' in (
        result.stderr
    )


def test_an_item_of_a_list_replaced_whole_is_refused_where_the_layer_lacks_it(
    project: GitRepo, run_cli: RunCli
) -> None:
    project.write(
        {
            'values/common.yaml': 'app:\n  args: [a, b]\n',
            'values/prod.yaml': 'app:\n  replicas: 3\n',
        }
    )
    result = run_cli('set', 'values/prod.yaml', 'app.args[1]', 'c', cwd=project.path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'error: cannot-edit: prod: app.args is a list that layers replace whole, and '
        'values/prod.yaml does not hold it, so no entry there can change app.args[1] alone',
        '  hint: set the whole list in values/prod.yaml (gitops-config set values/prod.yaml '
        'app.args "[...]"), or merge it by a key field: `merge: [{path: app.args, key: name}]`'
        ' in gitops-config.yaml',
    ]
    assert (project.path / 'values/prod.yaml').read_text() == 'app:\n  replicas: 3\n'
    assert run_cli('set', 'values/common.yaml', 'app.args[1]', 'c', cwd=project.path).exit_code == 0
    assert (project.path / 'values/common.yaml').read_text() == 'app:\n  args: [a, c]\n'


def test_a_later_layer_replacing_a_list_hides_the_edit(project: GitRepo, run_cli: RunCli) -> None:
    project.write(
        {'values/common.yaml': 'app:\n  args: [a, b]\n', 'values/prod.yaml': 'app:\n  args: [z]\n'}
    )
    result = run_cli('set', 'values/common.yaml', 'app.args[1]', 'c', cwd=project.path)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        'values/common.yaml: set app.args[1] = "c" (in dev)',
        'warning: prod: values/prod.yaml:2:3 replaces what holds app.args[1], so prod does '
        'not see this edit',
    ]
    assert run_cli('get', 'prod', 'app.args', '-f', 'json', cwd=project.path).stdout == (
        '[\n  "z"\n]\n'
    )


def test_a_file_no_environment_reads_is_edited_as_plain_yaml(
    project: GitRepo, run_cli: RunCli
) -> None:
    project.write({'other.yaml': 'a:\n  - {name: x}\n  - {name: x}\n'})
    result = run_cli('set', 'other.yaml', 'a[name=x].b', '1', cwd=project.path)
    assert result.exit_code == 2  # the same KEYPATH rules: ambiguous
    result = run_cli('set', 'other.yaml', 'a[1].b', '1', cwd=project.path)
    assert result.exit_code == 0, result.output
    assert 'note: no environment reads other.yaml as a layer' in result.stderr
    assert (project.path / 'other.yaml').read_text() == 'a:\n  - {name: x}\n  - {name: x, b: 1}\n'


def test_a_keyed_list_in_another_order_is_refused(project: GitRepo, run_cli: RunCli) -> None:
    """Layers keep a keyed list in the order of the layers below, new items last: no
    layer above can move an item, and `set` says so instead of writing another order."""
    prod = (project.path / 'values/prod.yaml').read_text()
    result = run_cli(
        'set',
        'values/prod.yaml',
        'models',
        '[{name: large, rpm: 50}, {name: small, rpm: 10}]',
        cwd=project.path,
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'error: cannot-edit: models: layers merge it item by item, in the order of the '
        'layers below (small, large) with new items last, so no layer above can put small '
        'after large',
        '  hint: list the items in that order, or reorder them in the layer that first sets models',
    ]
    assert (project.path / 'values/prod.yaml').read_text() == prod
    result = run_cli(
        'set',
        'values/prod.yaml',
        'models',
        '[{name: small, rpm: 10}, {name: large, rpm: 50}]',
        cwd=project.path,
    )
    assert result.exit_code == 0, result.output
    assert [m['name'] for m in _get(run_cli, project.path, 'prod', 'models')] == ['small', 'large']


def test_a_keyed_list_inside_the_value_in_another_order_is_refused_naming_it(
    project: GitRepo, run_cli: RunCli
) -> None:
    """The list may be inside the value `set` was given: the hint then names it."""
    project.commit(
        {
            'gitops-config.yaml': (project.path / 'gitops-config.yaml')
            .read_text()
            .replace('path: models', 'path: gateway.items'),
            'values/common.yaml': 'gateway:\n  items:\n    - {name: a}\n    - {name: b}\n',
            'values/prod.yaml': 'gateway:\n  region: eu\n',
            'templates/config.yaml.j2': '{{ gateway }}\n',
        }
    )
    result = run_cli(
        'set',
        'values/prod.yaml',
        'gateway',
        '{region: eu, items: [{name: b}, {name: a}]}',
        cwd=project.path,
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'error: cannot-edit: gateway.items: layers merge it item by item, in the order of '
        'the layers below (a, b) with new items last, so no layer above can put a after b',
        '  hint: list the items of gateway.items in that order, or reorder them in the layer '
        'that first sets that list',
    ]
    assert (project.path / 'values/prod.yaml').read_text() == 'gateway:\n  region: eu\n'
