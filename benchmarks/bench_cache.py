"""What the inert cache costs, in process: reading back what a warm render reads.

    .venv/bin/python benchmarks/bench_cache.py [--services 500]

Renders a generated repository once (SERVICES x 3 environments) into an empty
cache, then times, over every kept output and every compiled template:
  decode     the kept outputs as the cache holds them (msgpack through
             cache_data.loads), against pickle.loads of the same values (what
             the cache held before it was made inert)
  verify     each payload's check: SHA-256 over the render digest and payload,
             and the HMAC that vouches for a compiled template
The whole-process warm figures are in bench_render.py, bench_pr.py and bench_scale.py.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import generate  # noqa: E402
from gitops_config import project as project_mod  # noqa: E402
from gitops_config.incremental import data as cache_data  # noqa: E402
from gitops_config.incremental.packs import BYTECODE  # noqa: E402
from gitops_config.incremental.store import ENV_DIR  # noqa: E402
from gitops_config.pipeline import rendering  # noqa: E402
from gitops_config.run import Run  # noqa: E402
from gitops_config.source import WorkTree  # noqa: E402


def _best(action: Callable[[], object], runs: int = 5) -> float:
    """The fastest of RUNS runs: in process, the least disturbed one is the cost."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--services', type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / 'repo'
        generate(root, args.services)
        os.environ[ENV_DIR] = str(Path(tmp) / 'cache')
        os.environ['XDG_CONFIG_HOME'] = str(Path(tmp) / 'config')
        run = Run.from_environment()
        source = WorkTree(root)
        rendering.render(source, project_mod.load(source, root), jobs=1, run=run)
        packs = list(run.reuse.packs._packs.items())
        outputs = [
            payload for env, pack in packs if env != BYTECODE for _, payload in pack.added.values()
        ]
        code = [
            (digest, payload)
            for env, pack in packs
            if env == BYTECODE
            for digest, payload in pack.added.values()
        ]
        decoded = [cache_data.loads(p, cache_data.YAML) for p in outputs]
        # the same values as the pickles the cache held before: paths as tuples
        pickles = [
            pickle.dumps(
                ([(tuple(p), t) for p, t in rows], content, docs), protocol=pickle.HIGHEST_PROTOCOL
            )
            for rows, content, docs in decoded
        ]
        assert run.store is not None
        key = run.store.code_key()
        assert key is not None
        rows = [
            (
                'decode kept outputs, msgpack (now)',
                _best(lambda: [cache_data.loads(p, cache_data.YAML) for p in outputs]),
                len(outputs),
            ),
            (
                'decode kept outputs, pickle (before)',
                _best(lambda: [pickle.loads(p) for p in pickles]),
                len(outputs),
            ),
            (
                'verify outputs, SHA-256 of digest + payload',
                _best(lambda: [hashlib.sha256(b'd' * 64 + p).digest() for p in outputs]),
                len(outputs),
            ),
            (
                'verify compiled templates, HMAC-SHA-256',
                _best(lambda: [hmac.digest(key, d.encode() + p, 'sha256') for d, p in code]),
                len(code),
            ),
        ]
        run.finish()
    print(f'{args.services} services x 3 environments, in process, best of 5')
    print(f'{"case":<46}{"items":>7}{"total ms":>10}{"us/item":>9}')
    for name, seconds, count in rows:
        print(f'{name:<46}{count:>7}{seconds * 1e3:>10.1f}{seconds / count * 1e6:>9.1f}')


if __name__ == '__main__':
    main()
