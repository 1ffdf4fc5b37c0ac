"""Run every benchmark, side by side with its peer tool, and collect the tables.

    python benchmarks/run_all.py [--quick]

Prints each benchmark's table and writes them, with the machine and tool
versions, to benchmarks/results/latest.md (which benchmarks/README.md quotes).
--quick uses smaller sizes: for a smoke run, not for the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = [
    ('render', ['bench_render.py']),
    ('secrets (vs sops)', ['bench_sops.py']),
    ('validate (vs check-jsonschema)', ['bench_validate.py']),
    ('diff (vs ruamel + DeepDiff)', ['bench_diff.py']),
    ('a pull request end to end', ['bench_pr.py']),
    ('rendering vs Kapitan', ['bench_kapitan.py']),
    ('scale (100 / 2,000 / 10,000 services)', ['bench_scale.py']),
    ('what the inert cache costs', ['bench_cache.py']),
]
QUICK_ARGS = {
    'bench_render.py': ['--services', '300', '--runs', '2'],
    'bench_scale.py': ['--sizes', '50,300', '--shards', '2'],
    'bench_pr.py': ['--services', '200', '--runs', '1'],
    'bench_kapitan.py': ['--services', '50', '--runs', '1'],
    'bench_cache.py': ['--services', '50'],
}


def _versions() -> str:
    def version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            return 'not installed'
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if lines else '?'

    bin_dir = Path(sys.executable).parent
    return '\n'.join(
        [
            f'- machine: {platform.machine()}, {os.cpu_count()} cores, '
            f'{platform.system()} {platform.release()}',
            f'- python: {platform.python_version()}',
            f'- gitops-config: {version([str(bin_dir / "gitops-config"), "--version"])}',
            f'- sops: {version([str(bin_dir / "sops"), "--version", "--disable-version-check"])}',
            f'- check-jsonschema: {version([str(bin_dir / "check-jsonschema"), "--version"])}',
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args()
    sections = [
        f'# Benchmark results\n\nRun on {time.strftime("%Y-%m-%d")} with '
        f'`python benchmarks/run_all.py`.\n\n{_versions()}\n'
    ]
    for title, argv in FULL:
        script = HERE / argv[0]
        if not script.exists():
            continue
        extra = QUICK_ARGS.get(argv[0], []) if args.quick else []
        print(f'== {title}', flush=True)
        proc = subprocess.run(
            [sys.executable, str(script), *argv[1:], *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        output = proc.stdout.rstrip() + (
            f'\n(exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]})'
            if proc.returncode
            else ''
        )
        print(output, flush=True)
        sections.append(f'## {title}\n\n```\n{output}\n```\n')
    results = HERE / 'results'
    results.mkdir(exist_ok=True)
    (results / 'latest.md').write_text('\n'.join(sections))


if __name__ == '__main__':
    main()
