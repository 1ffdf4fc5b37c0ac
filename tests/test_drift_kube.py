"""Drift against Kubernetes live state, as `kubectl get -o yaml` prints it.

tests/fixtures/kubectl/gateway-prod.yaml is what the API server returns for
the project below, applied with `kubectl apply` and fetched with
`kubectl get deployment/gateway configmap/gateway-config secret/gateway-keys
-n llm -o yaml --show-managed-fields`: defaults filled in, status, managed
fields, the last-applied annotation, the Secret's stringData folded into
base64 data, quantities in canonical form.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gitops_config import sops
from tests._helpers.git_repo import GitRepo
from tests._helpers.keys import new_age_key
from tests._helpers.keys import use_keys
from tests.conftest import RunCli

LIVE = Path(__file__).parent / 'fixtures' / 'kubectl' / 'gateway-prod.yaml'
OPENAI = 'sk-test-openai-0123456789abcdef'
DATABASE = 'postgres://gateway:db-pass-0123456789@db.llm:5432/gateway'
SECRETS = f'secrets:\n  openai_api_key: {OPENAI}\n  database_url: {DATABASE}\n'
PROJECT = """\
version: 1
environments:
  - name: prod
    layers: [values/common.yaml, values/prod.yaml, secrets/prod.enc.yaml]
templates: templates
output: rendered/{env}
diff:
  identity:
    - path: data["config.yaml"].model_list
      key: model_name
"""
FILES: dict[str, str | bytes | None] = {
    'gitops-config.yaml': PROJECT,
    'values/common.yaml': """\
app:
  name: gateway
  namespace: llm
  tag: v1.4.2
  replicas: 2
models:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 500
""",
    'values/prod.yaml': 'app:\n  replicas: 3\n',
    'templates/configmap.yaml.j2': """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ app.name }}-config
  namespace: {{ app.namespace }}
  labels:
    app: {{ app.name }}
data:
  config.yaml: |
{{ {'model_list': models, 'general_settings': {'master_key': 'os.environ/LITELLM_MASTER_KEY'}}
   | to_yaml | indent(4, first=true) }}
""",
    'templates/deployment.yaml.j2': """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ app.name }}
  namespace: {{ app.namespace }}
  labels:
    app: {{ app.name }}
spec:
  replicas: {{ app.replicas }}
  selector:
    matchLabels:
      app: {{ app.name }}
  template:
    metadata:
      labels:
        app: {{ app.name }}
    spec:
      containers:
        - name: proxy
          image: ghcr.io/acme/gateway:{{ app.tag }}
          args: ["--port", "4000"]
          ports:
            - name: http
              containerPort: 4000
          envFrom:
            - secretRef:
                name: {{ app.name }}-keys
          resources:
            requests: {cpu: 0.5, memory: 512Mi}
            limits: {cpu: 1, memory: 1Gi}
          readinessProbe:
            httpGet: {path: /health, port: http}
""",
    'templates/secret.yaml.j2': """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ app.name }}-keys
  namespace: {{ app.namespace }}
type: Opaque
stringData:
  USERNAME: admin
  OPENAI_API_KEY: {{ secrets.openai_api_key | to_json }}
  DATABASE_URL: {{ secrets.database_url | to_json }}
""",
}


@pytest.fixture
def recipient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    public = new_age_key(tmp_path / 'age.txt')
    use_keys(monkeypatch, tmp_path / 'age.txt')
    return public


@pytest.fixture
def repo(git_repo: GitRepo, recipient: str) -> GitRepo:
    secrets = sops.encrypt_text(SECRETS, 'secrets/prod.enc.yaml', age=[recipient])
    git_repo.commit(
        {
            **FILES,
            '.sops.yaml': f'creation_rules:\n  - age: {recipient}\n',
            'secrets/prod.enc.yaml': secrets,
        },
        'init',
    )
    return git_repo


def _live(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = LIVE.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / 'live.yaml'
    path.write_text(text)
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _drift(run_cli: RunCli, repo: GitRepo, live: Path, *args: str) -> dict[str, Any]:
    result = run_cli('drift', 'prod', '--live', str(live), '-f', 'json', *args, cwd=repo.path)
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert result.exit_code == (1 if data['changes'] else 0)
    return dict(data)


def _paths(data: dict[str, Any]) -> list[tuple[Any, Any]]:
    changes = data['changes']
    assert isinstance(changes, list)
    return [(c['document'], c['path']) for c in changes]


def test_what_the_api_server_returns_for_the_applied_manifests_is_no_drift(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli('drift', 'prod', '--live', str(LIVE), cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith(': no drift')
    assert 'field(s) only the API server sets or defaults were not compared' in result.stdout
    data = _drift(run_cli, repo, LIVE)
    reasons = {(s['document'], s['path']): s['reason'] for s in data['server_fields']}
    assert reasons[('Deployment/llm/gateway', 'status')] == 'set by the API server'
    assert reasons[('Deployment/llm/gateway', 'spec.strategy')].startswith('not set in the')
    assert ('Deployment/llm/gateway', 'metadata.managedFields') in reasons
    assert data['not_compared'] == 0  # the Secret's data was compared, by fingerprint
    use_keys(monkeypatch, None)  # without the key: sealed, still no drift
    sealed = _drift(run_cli, repo, LIVE)
    assert sealed['changes'] == []
    assert sealed['not_compared'] == 2


def test_a_changed_field_is_drift_and_nothing_else(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    live = _live(
        tmp_path,
        (
            '    progressDeadlineSeconds: 600\n    replicas: 3\n',
            '    progressDeadlineSeconds: 600\n    replicas: 5\n',
        ),
        ('          rpm: 500\n', '          rpm: 900\n'),
        ('              cpu: 500m\n', '              cpu: 750m\n'),
    )
    data = _drift(run_cli, repo, live)
    changes = {(c['document'], c['path']): (c['desired'], c['live']) for c in data['changes']}
    assert changes == {
        ('Deployment/llm/gateway', 'spec.replicas'): (3, 5),
        (
            'Deployment/llm/gateway',
            'spec.template.spec.containers[name=proxy].resources.requests.cpu',
        ): (0.5, '750m'),
        (
            'ConfigMap/llm/gateway-config',
            'data["config.yaml"].model_list[model_name=gpt-4o].litellm_params.rpm',
        ): (500, 900),
    }


def test_secret_data_is_compared_with_string_data_and_never_shown(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    leaked = 'sk-live-rotated-by-hand-9876543210'
    live = _live(tmp_path, (_b64(OPENAI), _b64(leaked)), ('YWRtaW4=', _b64('superuser-x')))
    result = run_cli('drift', 'prod', '--live', str(live), cwd=repo.path)
    assert result.exit_code == 1
    data = _drift(run_cli, repo, live)
    assert _paths(data) == [
        ('Secret/llm/gateway-keys', 'stringData.USERNAME'),
        ('Secret/llm/gateway-keys', 'stringData.OPENAI_API_KEY'),
    ]
    for fmt in ('text', 'json', 'markdown'):
        out = run_cli('drift', 'prod', '--live', str(live), '-f', fmt, cwd=repo.path).stdout
        for plain in (leaked, _b64(leaked), OPENAI, DATABASE, 'db-pass', 'superuser-x'):
            assert plain not in out, (fmt, plain)
        assert '**** (fp:' in out or '"fingerprint": "' in out


def test_objects_match_by_api_version_kind_namespace_and_name(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    live = _live(
        tmp_path,
        (
            '    name: gateway-config\n    namespace: llm\n',
            '    name: gateway-config\n    namespace: other\n',
        ),
        (
            '- apiVersion: apps/v1\n  kind: Deployment',
            '- apiVersion: apps/v1beta2\n  kind: Deployment',
        ),
    )
    result = run_cli('drift', 'prod', '--live', str(live), cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert 'not in the live state (not compared): ConfigMap/llm/gateway-config' in result.stdout
    assert 'not in the live state (not compared): Deployment/llm/gateway' in result.stdout
    assert 'not in the desired state (not compared): ConfigMap/other/gateway-config' in (
        result.stdout
    )


def test_ignore_rules_override_the_built_in_rules(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    live = _live(
        tmp_path,
        (
            '    labels:\n      app: gateway\n    managedFields:',
            '    labels:\n      app: gateway\n      hotfix: "true"\n    managedFields:',
        ),
        (
            '    progressDeadlineSeconds: 600\n    replicas: 3\n',
            '    progressDeadlineSeconds: 600\n    replicas: 7\n',
        ),
    )
    assert _paths(_drift(run_cli, repo, live)) == [('Deployment/llm/gateway', 'spec.replicas')]
    repo.commit(
        {
            'gitops-config.yaml': PROJECT
            + """\
  ignore:
    - path: metadata.labels
      compare: true
      reason: every label is ours; one added by hand is drift
    - path: spec.replicas
      file: deployment.yaml
      reason: the autoscaler sets it
"""
        }
    )
    data = _drift(run_cli, repo, live)
    assert _paths(data) == [('Deployment/llm/gateway', 'metadata.labels.hotfix')]
    assert [(i['path'], i['reason']) for i in data['ignored']] == [
        ('spec.replicas', 'the autoscaler sets it')
    ]


def test_plaintext_credentials_in_the_live_state_are_never_printed(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    """Hand-edited: a master key, a database password and an sk- key under a key
    named like nothing; each drift shows a fingerprint, never the value."""
    live = _live(
        tmp_path,
        (
            '        master_key: os.environ/LITELLM_MASTER_KEY\n',
            '        master_key: hunter2-master\n'
            '        database_password: correct-horse-battery\n'
            '        notes: sk-live-0123456789abcdefghij\n',
        ),
    )
    for fmt in ('text', 'json', 'markdown'):
        result = run_cli('drift', 'prod', '--live', str(live), '-f', fmt, cwd=repo.path)
        assert result.exit_code == 1
        for plain in ('hunter2-master', 'correct-horse-battery', 'sk-live-0123', 'db-pass'):
            assert plain not in result.output, (fmt, plain)
    data = _drift(run_cli, repo, live)
    shown = {c['path'].rsplit('.', 1)[-1]: c['live'] for c in data['changes']}
    assert set(shown) == {'master_key', 'database_password', 'notes'}
    assert all(v['masked'] and len(v['fingerprint']) == 12 for v in shown.values())


def test_zero_values_the_server_omits_are_not_drift(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    repo.commit(
        {
            'templates/deployment.yaml.j2': str(FILES['templates/deployment.yaml.j2'])
            .replace(
                '  labels:\n    app: {{ app.name }}\nspec:',
                '  labels:\n    app: {{ app.name }}\n  annotations: {}\nspec:',
            )
            .replace('      containers:', '      hostNetwork: false\n      containers:')
        }
    )
    assert _drift(run_cli, repo, LIVE)['changes'] == []
