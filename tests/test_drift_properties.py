"""Drift against the tool's own render is empty, in every environment of any project.

Generated projects: layered values (nested maps, a keyed list), secrets layers
encrypted to a throwaway age key, and templates of every kind drift meets (a
plain YAML file, JSON, a multi-document Kubernetes file with a ConfigMap that
embeds YAML and a Secret, a YAML file with plain values beside secrets, a text
file). Each is rendered with the tool's own render and writer, then compared
with that output: with the key (secrets compared by value) and without
(compared by their sealed shape), no drift. One changed value in the live output
is drift, in whichever environment it is.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import drift
from gitops_config import outputs
from gitops_config import project as project_mod
from gitops_config import sops
from gitops_config import yaml_io
from gitops_config.pipeline import rendering
from gitops_config.run import ENV_OFF
from gitops_config.source import WorkTree
from tests._helpers.keys import new_age_key
from tests._helpers.keys import use_keys

ENVS = ('dev', 'staging', 'prod')
TEMPLATES = {
    'templates/app.yaml.j2': '{{ app | to_yaml }}\n',
    'templates/app.json.j2': '{{ {"env": env, "models": models} | to_json }}\n',
    'templates/notes.txt.j2': 'replicas: {{ app.replicas }}\n',
    # plain values beside secrets: encrypted by key, the plain leaves written back as text
    'templates/service.yaml.j2': "{{ {'settings': app.settings, 'keys': secrets | default({})}"
    ' | to_yaml }}\n',
    'templates/k8s/all.yaml.j2': """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  config.yaml: |
{{ {'models': models, 'app': app} | to_yaml | indent(4, first=true) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: {{ env }}
spec:
  replicas: {{ app.replicas }}
{% if secrets is defined %}
---
apiVersion: v1
kind: Secret
metadata:
  name: app-keys
type: Opaque
stringData:
{% for name, value in secrets | dictsort %}
  {{ name }}: {{ value | to_json }}
{% endfor %}
{% endif %}
""",
}

_KEYS = st.sampled_from(['alpha', 'beta', 'gamma', 'delta', 'port', 'note'])
_SCALARS = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.none(),
    st.text('abcxyz -_.:/019', min_size=1, max_size=12),
    st.floats(-100, 100, allow_nan=False).map(lambda f: round(f, 3)),
)
_TREES = st.recursive(
    _SCALARS,
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(_KEYS, kids, max_size=3)),
    max_leaves=10,
)
_MODELS = st.lists(
    st.builds(
        lambda n, rpm: {'name': n, 'rpm': rpm},
        st.sampled_from(['small', 'large', 'code']),
        st.integers(1, 500),
    ),
    max_size=3,
    unique_by=lambda m: m['name'],
)
_SECRET = st.text('abcdefghijklmnopqrstuvwxyz0123456789-', min_size=8, max_size=24)


@st.composite
def projects(draw: st.DrawFn) -> dict[str, Any]:
    envs = ENVS[: draw(st.integers(1, 3))]
    return {
        'envs': envs,
        'common': {
            'app': {
                'replicas': draw(st.integers(0, 9)),
                'settings': draw(st.dictionaries(_KEYS, _TREES, max_size=4)),
            },
            'models': draw(_MODELS),
        },
        'layers': {
            env: {
                'app': {'settings': draw(st.dictionaries(_KEYS, _TREES, max_size=2))},
                'models': draw(_MODELS),
            }
            for env in envs
        },
        'secrets': {
            env: draw(
                st.dictionaries(
                    st.sampled_from(['api_key', 'db_url', 'token']), _SECRET, max_size=2
                )
            )
            for env in envs
        },
    }


@pytest.fixture(scope='module')
def recipient(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    key_file = tmp_path_factory.mktemp('age') / 'key.txt'
    return new_age_key(key_file), key_file


def _write(root: Path, spec: dict[str, Any], recipient: str) -> None:
    envs = spec['envs']
    layers = {env: ['values/common.yaml', f'values/{env}.yaml'] for env in envs}
    files = {
        'values/common.yaml': yaml_io.to_yaml(spec['common']),
        **TEMPLATES,
        '.sops.yaml': f'creation_rules:\n  - age: {recipient}\n',
    }
    for env in envs:
        files[f'values/{env}.yaml'] = yaml_io.to_yaml(spec['layers'][env])
        if spec['secrets'][env]:
            path = f'secrets/{env}.enc.yaml'
            layers[env].append(path)
            files[path] = sops.encrypt_text(
                yaml_io.to_yaml({'secrets': spec['secrets'][env]}), path, age=[recipient]
            ).decode()
    files['gitops-config.yaml'] = yaml_io.to_yaml(
        {
            'version': 1,
            'templates': 'templates',
            'output': 'rendered/{env}',
            'merge': [{'path': 'models', 'key': 'name'}],
            'environments': [{'name': env, 'layers': layers[env]} for env in envs],
        }
    )
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=projects(), which=st.integers(0, 2))
# a float that prints like an int, beside a secret in an encrypted output (was `0.0 → 0`)
@example(
    spec={
        'envs': ('dev',),
        'common': {'app': {'replicas': 0, 'settings': {'alpha': 0.0}}, 'models': []},
        'layers': {'dev': {'app': {'settings': {}}, 'models': []}},
        'secrets': {'dev': {'api_key': 'aaaaaaaa'}},
    },
    which=0,
)
def test_drift_against_the_own_render_is_empty(
    spec: dict[str, Any], which: int, recipient: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_OFF, '1')
    public, key_file = recipient
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, spec, public)
        use_keys(monkeypatch, key_file)
        try:
            source = WorkTree(root)
            project = project_mod.load(source, root)
            for render in rendering.render(source, project, jobs=1):
                outputs.write(project, source, render, root / 'out' / render.env)
            secrets = {env: len(spec['secrets'][env]) for env in spec['envs']}
            for env in spec['envs']:
                live = drift.read_live_path(root / 'out' / env)
                _, outcome = drift.assess(source, project, env, live)
                assert outcome.changes == [], (env, outcome.changes)
                assert outcome.not_compared == 0
            use_keys(monkeypatch, None)
            for env in spec['envs']:
                live = drift.read_live_path(root / 'out' / env)
                _, outcome = drift.assess(source, project, env, live)
                assert outcome.changes == [], (env, outcome.changes)
                # a plain value equal to a secret is rendered as one: sealed too
                assert outcome.not_compared >= secrets[env]
            env = spec['envs'][which % len(spec['envs'])]
            notes = root / 'out' / env / 'notes.txt'
            notes.write_text(notes.read_text().replace('replicas: ', 'replicas: 1'))
            app = root / 'out' / env / 'app.json'
            app.write_text(app.read_text().replace(f'"env": "{env}"', '"env": "elsewhere"'))
            _, outcome = drift.assess(
                source, project, env, drift.read_live_path(root / 'out' / env)
            )
            assert [(c.file, c.path) for c in outcome.changes] == [
                ('app.json', 'env'),
                ('notes.txt', ''),
            ]
        finally:
            use_keys(monkeypatch, None)
