"""Our diff against the obvious stack, on 6,000 generated rendered documents.

    .venv/bin/python benchmarks/bench_diff.py [--docs 6000] [--sample 150]

Two pairs: a typical PR (a few documents changed) and one where every
document changed. "ours" is yaml_io's libyaml parse plus gitops_config.diff,
skipping byte-identical documents as a review does; "engine" is the diff
alone on parsed documents. The obvious stack is a ruamel.yaml round-trip
parse of both sides plus DeepDiff; it is measured on a sample and projected
to the full set, since running it on everything takes minutes.
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitops_config import diff
from gitops_config import yaml_io


def _document(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        'apiVersion': 'v1',
        'kind': 'ConfigMap',
        'metadata': {
            'name': f'gateway-{i}',
            'namespace': 'llm',
            'labels': {'app': 'gateway', 'tier': rng.choice(['a', 'b', 'c'])},
        },
        'data': {
            'model_list': [
                {
                    'model_name': f'model-{j}',
                    'litellm_params': {
                        'model': f'openai/model-{j}',
                        'rpm': rng.randint(1, 500),
                        'tpm': rng.randint(1000, 100000),
                        'api_key': 'os.environ/OPENAI_API_KEY',
                    },
                    'model_info': {'id': f'dep-{i}-{j}', 'mode': 'chat'},
                }
                for j in range(8)
            ],
            'router_settings': {
                'routing_strategy': 'usage-based-routing-v2',
                'num_retries': 3,
                'timeout': 30,
            },
            'litellm_settings': {
                'drop_params': True,
                'max_budget': rng.randint(10, 1000),
                'callbacks': ['prometheus', 'langfuse'],
            },
        },
    }


def _tweak(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    import copy

    new = copy.deepcopy(doc)
    item = rng.choice(new['data']['model_list'])
    item['litellm_params']['rpm'] += 1
    new['data']['litellm_settings']['max_budget'] += 5
    return new


def _texts(docs: list[dict[str, Any]]) -> list[str]:
    return [yaml_io.to_yaml(d) for d in docs]


def _time(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _ours(old: list[str], new: list[str]) -> int:
    count = 0
    options = diff.Options()
    for a, b in zip(old, new, strict=True):
        if a == b:
            continue
        count += len(diff.diff_values(yaml_io.load(a, 'a'), yaml_io.load(b, 'b'), options=options))
    return count


def _engine(old: list[Any], new: list[Any]) -> int:
    options = diff.Options()
    return sum(len(diff.diff_values(a, b, options=options)) for a, b in zip(old, new, strict=True))


def _obvious(old: list[str], new: list[str]) -> int:
    from deepdiff import DeepDiff
    from ruamel.yaml import YAML

    yaml = YAML(typ='rt')
    count = 0
    for a, b in zip(old, new, strict=True):
        count += len(DeepDiff(yaml.load(a), yaml.load(b)))
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--docs', type=int, default=6000)
    parser.add_argument('--sample', type=int, default=150)
    args = parser.parse_args(argv)
    rng = random.Random(42)
    base = [_document(i, rng) for i in range(args.docs)]
    typical = list(base)
    for i in rng.sample(range(args.docs), 12):
        typical[i] = _tweak(base[i], rng)
    everything = [_tweak(d, rng) for d in base]
    base_text = _texts(base)
    rows = []
    for name, head in (
        ('typical PR (12 docs changed)', typical),
        ('all documents changed', everything),
    ):
        head_text = _texts(head)
        ours = _time(functools.partial(_ours, base_text, head_text))
        parsed_a = [yaml_io.load(t, 'a') for t in base_text]
        parsed_b = [yaml_io.load(t, 'b') for t in head_text]
        engine = _time(functools.partial(_engine, parsed_a, parsed_b))
        # the obvious stack has no same-bytes shortcut: it parses and diffs every pair
        sample = rng.sample(range(args.docs), min(args.sample, args.docs))
        old_sample = [base_text[i] for i in sample]
        new_sample = [head_text[i] for i in sample]
        sample_time = _time(functools.partial(_obvious, old_sample, new_sample))
        obvious = sample_time / len(sample) * args.docs
        per_pair = engine / args.docs * 1e6
        rows.append((name, ours, engine, per_pair, obvious, obvious / ours))
    print(
        f'{args.docs:,} rendered documents; obvious stack measured on {args.sample} and projected'
    )
    print(
        f'{"pair":<30} {"ours":>9} {"engine":>9} {"us/pair":>9} {"ruamel+DeepDiff":>16}'
        f' {"ratio":>8}'
    )
    for name, ours, engine, per_pair, obvious, ratio in rows:
        print(
            f'{name:<30} {ours:>8.3f}s {engine:>8.3f}s {per_pair:>9.1f} {obvious:>15.1f}s'
            f' {ratio:>7.0f}x'
        )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
