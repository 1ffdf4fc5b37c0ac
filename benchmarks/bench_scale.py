"""How rendering grows with the repository, and what sharding buys.

    python benchmarks/bench_scale.py [--sizes 100,2000,10000] [--shards 4]

For each size (services x 3 environments) it prints the whole-process wall time
of a cold render (empty cache), a warm one, and the peak memory; for the
largest it also runs each of N shards alone (as N CI runners would) and
compares the slowest shard with the unsharded warm run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

BIN = Path(sys.executable).parent / 'gitops-config'


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True, check=False
    )
    if proc.returncode:  # the tool's own line, which run_all.py shows
        raise SystemExit(f'{" ".join(argv[3:])}: exit {proc.returncode}: {proc.stderr.strip()}')
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--sizes', default='100,2000,10000')
    parser.add_argument('--shards', type=int, default=4)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    print(
        f'{"services":>9}{"outputs":>9}{"cold s":>9}{"warm s":>9}{"peak MiB":>10}{"us/output":>11}'
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for size in sizes:
            root = tmp_path / f'repo-{size}'
            generate(root, size)
            cache_dir = tmp_path / f'cache-{size}'
            env = dict(os.environ, GITOPS_CONFIG_CACHE_DIR=str(cache_dir))
            argv = [str(BIN), '-C', str(root), 'render', '--out', str(tmp_path / f'out-{size}')]
            cold, peak = _run(argv, env)
            warm, _ = _run(argv, env)
            outputs = size * 3
            print(
                f'{size:>9}{outputs:>9}{cold:>9.2f}{warm:>9.2f}{peak:>10}'
                f'{warm / outputs * 1e6:>11.0f}'
            )
        size = sizes[-1]
        root = tmp_path / f'repo-{size}'
        env = dict(os.environ, GITOPS_CONFIG_CACHE_DIR=str(tmp_path / f'cache-{size}'))
        whole, _ = _run(
            [str(BIN), '-C', str(root), 'render', '--out', str(tmp_path / 'whole')], env
        )
        # the unsharded run under the shards' conditions: an empty cache of its own
        shutil.rmtree(tmp_path / 'whole-cache', ignore_errors=True)
        cold_cached, _ = _run(
            [str(BIN), '-C', str(root), 'render', '--out', str(tmp_path / 'whole-cold-cached')],
            dict(env, GITOPS_CONFIG_CACHE_DIR=str(tmp_path / 'whole-cache')),
        )
        shard_times = []
        for i in range(1, args.shards + 1):
            # each shard alone on the machine, with a cold cache, as on its own runner
            shard_cache = tmp_path / f'shard-cache-{i}'
            shard_env = dict(env, GITOPS_CONFIG_CACHE_DIR=str(shard_cache))
            seconds, _ = _run(
                [
                    str(BIN),
                    '-C',
                    str(root),
                    'render',
                    '--shard',
                    f'{i}/{args.shards}',
                    '--out',
                    str(tmp_path / f'shard-{i}'),
                ],
                shard_env,
            )
            shard_times.append(seconds)
            shutil.rmtree(shard_cache, ignore_errors=True)
        cold_whole, _ = _run(
            [
                str(BIN),
                '--no-cache',
                '-C',
                str(root),
                'render',
                '--out',
                str(tmp_path / 'whole-cold'),
            ],
            env,
        )
        slowest = max(shard_times)
        print(
            f'\n{args.shards} shards of {size} services, each alone with an empty cache: '
            f'slowest {slowest:.2f} s (each: {", ".join(f"{t:.2f}" for t in shard_times)})\n'
            f'  unsharded, empty cache:   {cold_cached:.2f} s; slowest shard / unsharded = '
            f'{slowest / cold_cached:.2f} (target < 0.33)\n'
            f'  unsharded, --no-cache:    {cold_whole:.2f} s; slowest shard / unsharded = '
            f'{slowest / cold_whole:.2f}\n'
            f'  unsharded, warm cache:    {whole:.2f} s'
        )


if __name__ == '__main__':
    main()
