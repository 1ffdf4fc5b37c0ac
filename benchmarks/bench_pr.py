"""A pull request's whole review, whole process: render both sides, validate, diff.

    python benchmarks/bench_pr.py [--services 2000] [--runs 3]

`gitops-config diff BASE HEAD --validate -f json` on a generated repository of
SERVICES x 3 environments, for
  typical      a PR that changes 20 services            target < 1 s
  all-changed  a PR that changes every service          target < 5 s
  re-run       the typical PR again, nothing changed    target < 0.5 s
each with an empty cache (cold) and with the cache that reviewing another PR on
the same base left (base seen: what CI's cache holds when a PR is pushed), and
that cache on a new runner, which has no key to vouch for the compiled templates
in it (they are compiled afresh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import change  # noqa: E402
from generate import generate  # noqa: E402
from timing import median_seconds  # noqa: E402

BIN = Path(sys.executable).parent / 'gitops-config'


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ['git', *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def _commit(root: Path, message: str) -> str:
    _git(root, 'add', '-A')
    _git(root, '-c', 'user.name=bench', '-c', 'user.email=b@x', 'commit', '-qm', message)
    return _git(root, 'rev-parse', 'HEAD')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--services', type=int, default=2000)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / 'repo'
        generate(root, args.services)
        _git(root, 'init', '-q', '-b', 'main')
        base = _commit(root, 'base')
        heads = {}
        for name, count, offset in (
            ('other', 20, 1),
            ('typical', 20, 0),
            ('all-changed', args.services, 0),
        ):
            _git(root, 'checkout', '-q', base)
            change(root, args.services, count, offset=offset)
            heads[name] = _commit(root, name)
        cache_dir = Path(tmp) / 'cache'
        seen = Path(tmp) / 'base-seen'
        env = dict(os.environ, GITOPS_CONFIG_CACHE_DIR=str(cache_dir))

        def review(head: str) -> list[str]:
            return [str(BIN), '-C', str(root), 'diff', base, head, '--validate', '-f', 'json']

        def cold() -> None:
            shutil.rmtree(cache_dir, ignore_errors=True)

        def base_seen() -> None:
            cold()
            shutil.copytree(seen, cache_dir)

        fresh_config = Path(tmp) / 'fresh-config'
        fresh_runner = dict(env, XDG_CONFIG_HOME=str(fresh_config))

        def new_runner() -> None:
            base_seen()
            shutil.rmtree(fresh_config, ignore_errors=True)

        # the cache that reviewing another PR on the same base leaves
        subprocess.run(review(heads['other']), check=True, stdout=subprocess.DEVNULL, env=env)
        shutil.copytree(cache_dir, seen)
        rows = []
        for name, target in (('typical', 1.0), ('all-changed', 5.0)):
            argv = review(heads[name])
            rows.append(
                (
                    f'{name} (cold)',
                    median_seconds(argv, env=env, runs=max(1, args.runs // 2), before=cold),
                    None,
                )
            )
            rows.append(
                (
                    f'{name} (base seen)',
                    median_seconds(argv, env=env, runs=args.runs, before=base_seen),
                    target,
                )
            )
            # a fresh CI runner: the restored cache, but no key of its own to vouch
            # for the compiled templates in it, which are compiled afresh
            rows.append(
                (
                    f'{name} (base seen, new runner)',
                    median_seconds(argv, env=fresh_runner, runs=args.runs, before=new_runner),
                    None,
                )
            )
        subprocess.run(review(heads['typical']), check=True, stdout=subprocess.DEVNULL, env=env)
        rows.append(
            (
                're-run, nothing changed',
                median_seconds(review(heads['typical']), env=env, runs=args.runs),
                0.5,
            )
        )
    print(f'{args.services} services x 3 environments, whole process, median of {args.runs}')
    print(f'{"case":<40}{"seconds":>9}{"target":>9}')
    for name, seconds, target in rows:
        print(f'{name:<40}{seconds:>9.2f}{(f"{target:.1f}" if target else "-"):>9}')


if __name__ == '__main__':
    main()
