"""A small two-environment project for the review tests (diff, history, drift, Action)."""

from __future__ import annotations

from tests._helpers.projects import TWO_ENVIRONMENTS

PROJECT = (
    TWO_ENVIRONMENTS
    + """\
diff:
  ignore:
    - path: app.build_id
      reason: changes on every build
"""
)
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


def text(name: str) -> str:
    value = FILES[name]
    assert isinstance(value, str)
    return value
