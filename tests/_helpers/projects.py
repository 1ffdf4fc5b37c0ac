"""Small config repositories for tests, as dicts of files."""

from __future__ import annotations

# Two environments sharing a common layer: the shape most tests start from.
TWO_ENVIRONMENTS = """\
environments:
  - name: dev
    layers: [values/common.yaml, values/dev.yaml]
  - name: prod
    layers: [values/common.yaml, values/prod.yaml]
templates: templates
"""

PROJECT = (
    'version: 1\n'
    + TWO_ENVIRONMENTS
    + """\
output: rendered/{env}
merge:
  - path: models
    key: name
"""
)

BASIC: dict[str, str | bytes | None] = {
    'gitops-config.yaml': PROJECT,
    'values/common.yaml': """\
# shared
app:
  name: gateway
  replicas: 1
  image: {repo: ghcr.io/x/gateway, tag: "1.0"}
models:
  - name: small
    rpm: 10
  - name: large
    rpm: 5
""",
    'values/dev.yaml': 'app:\n  replicas: 1\n',
    'values/prod.yaml': """\
app:
  replicas: 3  # three zones
models:
  - name: large
    rpm: 50
  - name: huge
    rpm: 1
""",
    'templates/config.yaml.j2': """\
name: {{ app.name }}
env: {{ env }}
replicas: {{ app.replicas }}
image: {{ app.image.repo }}:{{ app.image.tag }}
models:
{% for m in models %}
  - name: {{ m.name }}
    rpm: {{ m.rpm }}
{% endfor %}
""",
    'templates/static.txt': 'copied as is\n',
}
