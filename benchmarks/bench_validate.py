"""Validation throughput, side by side with check-jsonschema, in one run.

    .venv/bin/python benchmarks/bench_validate.py [--files 2000] [--docs 6000]

1. The schema engine (jsonschema-rs, each schema compiled once) against
   `check-jsonschema` over the same N generated LiteLLM configs and schema:
   on loaded documents (how `validate` runs it: the render pipeline hands it
   parsed documents), and including reading and parsing every file with the
   libyaml read path (yaml_io.fast), which is what bounds that row.
2. The validate hook on one changed value layer of example-repo, whole process,
   against check-jsonschema's own hook command on that one file.
3. 20 CEL rules over 6,000 documents.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

SCHEMA = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    'type': 'object',
    'required': ['model_list', 'general_settings'],
    'additionalProperties': False,
    '$defs': {'limit': {'type': 'integer', 'minimum': 1}},
    'properties': {
        'model_list': {
            'type': 'array',
            'minItems': 1,
            'items': {
                'type': 'object',
                'required': ['model_name', 'litellm_params'],
                'additionalProperties': False,
                'properties': {
                    'model_name': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._:/-]*$'},
                    'litellm_params': {
                        'type': 'object',
                        'required': ['model'],
                        'additionalProperties': False,
                        'properties': {
                            'model': {'type': 'string', 'pattern': '^[a-z0-9_-]+/.+$'},
                            'api_key': {'type': 'string'},
                            'api_base': {'type': 'string', 'format': 'uri'},
                            'rpm': {'$ref': '#/$defs/limit'},
                            'tpm': {'$ref': '#/$defs/limit'},
                        },
                    },
                    'model_info': {
                        'type': 'object',
                        'properties': {
                            'id': {'type': 'string', 'minLength': 1},
                            'mode': {'enum': ['chat', 'completion', 'embedding']},
                        },
                    },
                },
            },
        },
        'router_settings': {
            'type': 'object',
            'properties': {
                'routing_strategy': {'enum': ['simple-shuffle', 'usage-based-routing-v2']},
                'num_retries': {'type': 'integer', 'minimum': 0},
                'redis_port': {'type': 'integer', 'minimum': 1, 'maximum': 65535},
            },
        },
        'litellm_settings': {
            'type': 'object',
            'properties': {
                'set_verbose': {'type': 'boolean'},
                'max_budget': {'type': 'number', 'minimum': 0},
                'budget_duration': {'type': 'string', 'pattern': '^[0-9]+[smhd]$'},
            },
        },
        'general_settings': {
            'type': 'object',
            'required': ['master_key'],
            'properties': {
                'master_key': {'type': 'string'},
                'max_parallel_requests': {'$ref': '#/$defs/limit'},
            },
        },
    },
}


def config_yaml(i: int) -> str:
    models = ''.join(
        f"""\
  - model_name: model-{m}
    litellm_params:
      model: openai/gpt-4o-{m}
      api_key: os.environ/OPENAI_API_KEY
      api_base: https://gateway-{i}.example.com/v1
      rpm: {60 + m}
      tpm: {150000 + i}
    model_info:
      id: deployment-{i}-{m}
      mode: chat
"""
        for m in range(12)
    )
    return f"""\
# LiteLLM proxy config {i}
model_list:
{models}router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 2
  redis_port: 6379
litellm_settings:
  set_verbose: false
  max_budget: {i}
  budget_duration: 30d
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  max_parallel_requests: {10 + i % 5}
"""


def generate(where: Path, count: int) -> list[Path]:
    (where / 'schema.json').write_text(json.dumps(SCHEMA, indent=2))
    files = []
    for i in range(count):
        path = where / 'rendered' / f'config-{i:05d}.yaml'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_yaml(i))
        files.append(path)
    return files


def best_of(times: int, func: Callable[[], object]) -> float:
    best = float('inf')
    for _ in range(times):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def engine_run(where: Path, files: list[Path]) -> int:
    """Read, parse (with node positions, for findings) and validate every file."""
    from gitops_config import yaml_io
    from gitops_config.schema import SchemaStore
    from gitops_config.source import WorkTree

    store = SchemaStore(WorkTree(where))
    errors = 0
    for path in files:
        for doc, _positions in yaml_io.load_all_located(path.read_bytes(), path.name):
            errors += len(store.violations('schema.json', doc))
    return errors


def engine_loaded(where: Path, docs: list[object]) -> int:
    """Validate documents that are already loaded, as `validate` does after rendering."""
    from gitops_config.schema import SchemaStore
    from gitops_config.source import WorkTree

    store = SchemaStore(WorkTree(where))
    return sum(len(store.violations('schema.json', doc)) for doc in docs)


def run(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'{argv[0]} failed:\n{proc.stdout}{proc.stderr}')


def hook_case(where: Path) -> tuple[float, float]:
    repo = where / 'example-repo'
    shutil.copytree(ROOT / 'example-repo', repo)
    # check-jsonschema cannot resolve `builtin:` refs: it gets the same rules with the
    # shipped schema beside them as a relative ref
    schemas = repo / 'schemas'
    shutil.copy(ROOT / 'gitops_config' / 'schemas' / 'litellm-proxy.schema.json', schemas)
    text = (schemas / 'values.schema.json').read_text()
    (schemas / 'values.peer.schema.json').write_text(
        text.replace('builtin:litellm-proxy#', 'litellm-proxy.schema.json#')
    )
    ours = [str(BIN / 'gitops-config'), 'hook', 'validate', 'values/prod.yaml']
    theirs = [
        str(BIN / 'check-jsonschema'),
        '--schemafile',
        'schemas/values.peer.schema.json',
        'values/prod.yaml',
    ]
    run(ours, repo)  # warm the OS file cache for both
    run(theirs, repo)
    return best_of(5, lambda: run(ours, repo)), best_of(5, lambda: run(theirs, repo))


def rules_case(docs: int) -> float:
    from gitops_config.policy.rules import load_file
    from gitops_config.policy.runner import Target
    from gitops_config.policy.runner import make_engine
    from gitops_config.policy.runner import run_documents

    text = 'rules:\n' + ''.join(
        f'  - id: bench/r{i}\n    message: m\n'
        f"    expr: doc.model_list.all(m, m.litellm_params.rpm > {i}) && env != 'x{i}'\n"
        for i in range(20)
    )
    rules = load_file(text, 'bench.yaml')
    doc = {
        'model_list': [
            {'model_name': f'm{i}', 'litellm_params': {'rpm': 100, 'tpm': 9}} for i in range(8)
        ],
        'general_settings': {'master_key': '<secret>'},
    }
    targets = [
        Target('rendered', f'f{i}.yaml', f'f{i}.yaml', doc, 'prod', {}, 0) for i in range(docs)
    ]
    engine = make_engine()
    return best_of(3, lambda: run_documents(engine, rules, targets))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files', type=int, default=2000)
    parser.add_argument('--docs', type=int, default=6000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        files = generate(where, args.files)
        names = [str(p.relative_to(where)) for p in files]
        from gitops_config import yaml_io

        docs = [yaml_io.load(p.read_bytes(), p.name) for p in files]
        loaded = best_of(3, lambda: engine_loaded(where, docs))
        ours = best_of(3, lambda: engine_run(where, files))
        cj = [str(BIN / 'check-jsonschema'), '--schemafile', 'schema.json', *names]
        theirs = best_of(1, lambda: run(cj, where))
        hook_ours, hook_theirs = hook_case(where)
        rules = rules_case(args.docs)
    rows = [
        ('schema engine', f'{args.files} documents', loaded, theirs, theirs / loaded, '>= 10x'),
        ('  + read and parse', f'{args.files} files', ours, theirs, theirs / ours, '(info)'),
        (
            'validate hook, 1 layer',
            'whole process',
            hook_ours,
            hook_theirs,
            hook_theirs / hook_ours,
            '>= 1x',
        ),
        ('20 rules', f'{args.docs} documents', rules, None, None, '< 4 s'),
    ]
    print(
        f'{"case":<24} {"input":<16} {"gitops-config":>14} {"check-jsonschema":>17} '
        f'{"speed-up":>9}  target'
    )
    for case, size, mine, other, ratio, target in rows:
        other_s = f'{other:>16.3f}s' if other is not None else f'{"-":>17}'
        ratio_s = f'{ratio:>8.1f}x' if ratio is not None else f'{"-":>9}'
        print(f'{case:<24} {size:<16} {mine:>13.3f}s {other_s} {ratio_s}  {target}')
    ok = loaded * 10 <= theirs and hook_ours <= hook_theirs and rules < 4.0
    print('all targets met' if ok else 'TARGET MISSED')
    if ours * 10 > theirs:
        print(
            f'note: with parsing, {ours / len(files) * 1000:.2f} ms a file goes to the libyaml '
            'read path (yaml_io.fast), not to validation'
        )
    return 0 if ok else 1


if __name__ == '__main__':
    raise SystemExit(main())
