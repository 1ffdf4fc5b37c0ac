"""Generate a realistic config repository of a given size for the benchmarks.

    python benchmarks/generate.py DIR --services 2000 [--envs dev,staging,prod] [--git]

Each service has a values file per environment layer and one Kubernetes
Deployment template (about 60 rendered lines); the project maps a schema to
every rendered file. With --git the result is committed, and
`--change N` commits a second revision in which N services change.
"""

from __future__ import annotations

import argparse
import random
import subprocess
from pathlib import Path

ENVS = ('dev', 'staging', 'prod')

TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ svc.name }}
  namespace: {{ svc.namespace }}
  labels:
    app.kubernetes.io/name: {{ svc.name }}
    app.kubernetes.io/part-of: {{ svc.team }}
    environment: {{ env }}
spec:
  replicas: {{ svc.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ svc.name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ svc.name }}
    spec:
      containers:
        - name: {{ svc.name }}
          image: {{ svc.image.repository }}:{{ svc.image.tag }}
          ports:
            - containerPort: {{ svc.port }}
          env:
{% for key, value in svc.env | dictsort %}
            - name: {{ key }}
              value: {{ value | to_json }}
{% endfor %}
          resources:
{{ svc.resources | to_yaml | indent(12, first=true) }}
          readinessProbe:
            httpGet:
              path: /healthz
              port: {{ svc.port }}
            periodSeconds: 10
"""

SCHEMA = """\
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["apiVersion", "kind", "metadata", "spec"],
  "properties": {
    "apiVersion": {"type": "string"},
    "kind": {"const": "Deployment"},
    "metadata": {
      "type": "object",
      "required": ["name", "namespace"],
      "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}
      }
    },
    "spec": {
      "type": "object",
      "required": ["replicas"],
      "properties": {
        "replicas": {"type": "integer", "minimum": 0, "maximum": 100}
      }
    }
  }
}
"""


def _service(i: int, rng: random.Random) -> dict[str, object]:
    name = f'svc-{i:05d}'
    return {
        'name': name,
        'namespace': f'team-{i % 40:02d}',
        'team': f'team-{i % 40:02d}',
        'replicas': 1,
        'port': 8080,
        'image': {'repository': f'registry.example.com/{name}', 'tag': f'1.{i % 50}.0'},
        'env': {f'FEATURE_{k}': rng.choice(['on', 'off', 'true', '1', 'beta']) for k in range(6)},
        'resources': {
            'requests': {'cpu': '100m', 'memory': '128Mi'},
            'limits': {'cpu': '500m', 'memory': '512Mi'},
        },
    }


def _yaml(data: object, indent: int = 0) -> str:
    """A small emitter (the benchmarks must not depend on the package under test)."""
    pad = ' ' * indent
    if isinstance(data, dict):
        out = []
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                out.append(f'{pad}{key}:\n{_yaml(value, indent + 2)}')
            else:
                out.append(f'{pad}{key}: {_scalar(value)}\n')
        return ''.join(out)
    assert isinstance(data, list)
    return ''.join(f'{pad}- {_scalar(v)}\n' for v in data)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    return f'"{value}"'


def generate(root: Path, services: int, envs: tuple[str, ...] = ENVS, seed: int = 1) -> None:
    rng = random.Random(seed)
    (root / 'values').mkdir(parents=True, exist_ok=True)
    (root / 'templates').mkdir(exist_ok=True)
    (root / 'schemas').mkdir(exist_ok=True)
    project = ['version: 1', 'environments:']
    for env in envs:
        project += [f'  - name: {env}', f'    layers: [values/common.yaml, values/{env}.yaml]']
    project += [
        'templates: templates',
        'output: rendered/{env}',
        'schemas:',
        '  rendered:',
        '    - files: "*.yaml"',
        '      schema: schemas/deployment.schema.json',
        '',
    ]
    (root / 'gitops-config.yaml').write_text('\n'.join(project))
    (root / 'schemas/deployment.schema.json').write_text(SCHEMA)
    common = {'services': {f's{i:05d}': _service(i, rng) for i in range(services)}}
    (root / 'values/common.yaml').write_text(_yaml(common))
    for n, env in enumerate(envs):
        overrides = {'services': {f's{i:05d}': {'replicas': n + 1} for i in range(services)}}
        (root / f'values/{env}.yaml').write_text(_yaml(overrides))
    for i in range(services):
        body = TEMPLATE.replace('svc.', f'services.s{i:05d}.').replace(
            'svc.env', f'services.s{i:05d}.env'
        )
        (root / f'templates/svc-{i:05d}.yaml.j2').write_text(body)


def change(
    root: Path, services: int, count: int, envs: tuple[str, ...] = ENVS, offset: int = 0
) -> None:
    """Change COUNT services' image tags in every environment (a typical PR); another
    OFFSET changes other services."""
    path = root / 'values/common.yaml'
    text = path.read_text()
    for i in range(offset, services, max(1, services // count))[:count]:
        name = f'svc-{i:05d}'
        text = text.replace(
            f'registry.example.com/{name}"\n      tag: "1.{i % 50}.0"',
            f'registry.example.com/{name}"\n      tag: "2.0.0"',
        )
    path.write_text(text)


def _git(root: Path, *args: str) -> None:
    subprocess.run(['git', *args], cwd=root, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('dir', type=Path)
    parser.add_argument('--services', type=int, default=2000)
    parser.add_argument('--envs', default=','.join(ENVS))
    parser.add_argument('--git', action='store_true')
    parser.add_argument('--change', type=int, default=0)
    args = parser.parse_args()
    envs = tuple(args.envs.split(','))
    generate(args.dir, args.services, envs)
    if args.git:
        _git(args.dir, 'init', '-q', '-b', 'main')
        _git(args.dir, 'add', '-A')
        _git(args.dir, '-c', 'user.name=bench', '-c', 'user.email=b@x', 'commit', '-qm', 'base')
        if args.change:
            change(args.dir, args.services, args.change, envs)
            _git(
                args.dir,
                '-c',
                'user.name=bench',
                '-c',
                'user.email=b@x',
                'commit',
                '-qam',
                f'change {args.change} services',
            )


if __name__ == '__main__':
    main()
