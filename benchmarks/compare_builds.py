"""The same cases with two builds of gitops-config, interleaved, to see what a change costs.

    python benchmarks/compare_builds.py BEFORE_CHECKOUT AFTER_CHECKOUT [--runs 5]

Each checkout needs its own `.venv` (`bash .ci/setup` in it). Runs alternate between the
two builds, so the machine's drift (this one's speed varies by up to 1.5x within an hour)
hits both alike; each figure is the median of whole-process wall times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sops import big_yaml  # noqa: E402
from bench_sops import small_yaml  # noqa: E402
from generate import change  # noqa: E402
from generate import generate  # noqa: E402

Argv = Callable[[str, str], list[str]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('before', type=Path)
    parser.add_argument('after', type=Path)
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    builds = {'before': args.before.resolve(), 'after': args.after.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        repo = where / 'repo'
        generate(repo, 500)
        subprocess.run(['git', 'init', '-q'], cwd=repo, check=True)
        subprocess.run(['git', 'add', '-A'], cwd=repo, check=True)
        subprocess.run(['git', 'commit', '-qm', 'base'], cwd=repo, check=True, env=_identity())
        change(repo, 500, 12)  # a typical pull request
        subprocess.run(['git', 'commit', '-qam', 'change'], cwd=repo, check=True, env=_identity())
        example = where / 'example'
        shutil.copytree(HERE.parent / 'example-repo', example)
        secret, many, keys = _encrypted_files(where, builds['after'])

        def case(
            name: str,
            argv: Argv,
            cwd: Path,
            *,
            empty_cache: bool = False,
            extra_env: dict[str, str] | None = None,
        ) -> None:
            times: dict[str, list[float]] = {label: [] for label in builds}
            for i in range(args.runs):
                order = list(builds.items()) if i % 2 == 0 else list(builds.items())[::-1]
                for label, build in order:
                    cache = where / f'cache-{label}'
                    if empty_cache:
                        shutil.rmtree(cache, ignore_errors=True)
                    env = dict(os.environ, GITOPS_CONFIG_CACHE_DIR=str(cache), **(extra_env or {}))
                    tool = str(build / '.venv' / 'bin' / 'gitops-config')
                    start = time.perf_counter()
                    proc = subprocess.run(argv(tool, label), cwd=cwd, env=env, capture_output=True)
                    times[label].append(time.perf_counter() - start)
                    if proc.returncode not in (0, 1):  # 1: drift or findings, still timed
                        raise SystemExit(f'{name} ({label}): {proc.stderr.decode().strip()}')
            before, after = (statistics.median(times[label]) for label in builds)
            print(f'{name:<46}{before:>9.3f}{after:>9.3f}{after / before:>8.2f}', flush=True)

        title = f'case (median of {args.runs} runs)'
        print(f'{title:<46}{"before":>9}{"after":>9}{"ratio":>8}')
        out = str(where / 'out')
        case('--help', lambda t, _: [t, '--help'], where)
        case(
            'secrets decrypt, one 1,000-value file',
            lambda t, _: [t, 'secrets', 'decrypt', str(secret)],
            where,
            extra_env={'SOPS_AGE_KEY_FILE': str(keys)},
        )
        case(
            'secrets decrypt, 200 files in one process',
            lambda t, label: [
                t,
                'secrets',
                'decrypt',
                '--output-dir',
                f'{out}-plain-{label}',
                *many,
            ],
            where,
            extra_env={'SOPS_AGE_KEY_FILE': str(keys)},
        )
        case(
            'hook validate, one layer of example-repo',
            lambda t, _: [t, 'hook', 'validate', 'values/prod.yaml'],
            example,
        )
        case(
            'render example-repo, every env, sealed',
            lambda t, label: [t, 'render', '--sealed', '--out', f'{out}-ex-{label}'],
            example,
        )
        case(
            'render 500 services x 3, --no-cache',
            lambda t, label: [t, '--no-cache', 'render', '--out', f'{out}-{label}'],
            repo,
        )
        case(
            'render 500 services x 3, empty cache',
            lambda t, label: [t, 'render', '--out', f'{out}-{label}'],
            repo,
            empty_cache=True,
        )
        case(
            'render 500 services x 3, warm cache',
            lambda t, label: [t, 'render', '--out', f'{out}-{label}'],
            repo,
        )
        case('validate 500 services, --no-cache', lambda t, _: [t, '--no-cache', 'validate'], repo)
        case('validate 500 services, warm cache', lambda t, _: [t, 'validate'], repo)
        case(
            'diff HEAD~1 HEAD (12 changed), --no-cache',
            lambda t, _: [t, '--no-cache', 'diff', 'HEAD~1', 'HEAD'],
            repo,
        )
        case(
            'diff HEAD~1 HEAD (12 changed), warm cache',
            lambda t, _: [t, 'diff', 'HEAD~1', 'HEAD'],
            repo,
        )


def _encrypted_files(where: Path, build: Path) -> tuple[Path, list[str], Path]:
    """A 1,000-value file and 200 small ones, encrypted (by BUILD) for a throwaway age key,
    and the key file."""
    tool = str(build / '.venv' / 'bin' / 'gitops-config')
    keys = where / 'age-keys.txt'
    made = subprocess.run(
        [tool, 'secrets', 'keygen', '--output', str(keys)],
        capture_output=True,
        text=True,
        check=True,
    )
    recipient = made.stdout.split()[-1]
    plain = where / 'big.yaml'
    plain.write_text(big_yaml(1000))
    secret = where / 'big.enc.yaml'
    encrypted = subprocess.run(
        [tool, 'secrets', 'encrypt', '--age', recipient, str(plain)],
        capture_output=True,
        check=True,
    )
    secret.write_bytes(encrypted.stdout)
    (where / 'many').mkdir()
    many = [str(where / 'many' / f'f{i:03d}.yaml') for i in range(200)]
    for i, path in enumerate(many):
        Path(path).write_text(small_yaml(i))
    encrypt = [tool, 'secrets', 'encrypt', '--in-place', '--age', recipient, *many]
    subprocess.run(encrypt, capture_output=True, check=True)
    return secret, many, keys


def _identity() -> dict[str, str]:
    return dict(
        os.environ,
        GIT_AUTHOR_NAME='bench',
        GIT_AUTHOR_EMAIL='bench@example.com',
        GIT_COMMITTER_NAME='bench',
        GIT_COMMITTER_EMAIL='bench@example.com',
    )


if __name__ == '__main__':
    main()
