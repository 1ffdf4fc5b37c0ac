"""Rendering per environment: gitops-config vs Kapitan compiling the same templates.

    python benchmarks/bench_kapitan.py [--services 500] [--runs 3]

Kapitan is installed on first use into benchmarks/.venv-kapitan (its
dependencies do not belong in ours). The generated repository is translated
into a Kapitan inventory: a class per value layer, a target per environment
that compiles the templates with `input_type: jinja2`. Kapitan roots values at
`inventory.parameters` and names its YAML filter `yaml`; those are the only
changes made to the templates.
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

from generate import ENVS  # noqa: E402
from generate import generate  # noqa: E402
from timing import median_seconds  # noqa: E402

BIN = Path(sys.executable).parent / 'gitops-config'
KAPITAN_VENV = HERE / '.venv-kapitan'


def kapitan() -> Path:
    exe = KAPITAN_VENV / 'bin' / 'kapitan'
    if not exe.exists():
        print('installing kapitan into benchmarks/.venv-kapitan ...', flush=True)
        subprocess.run([sys.executable, '-m', 'venv', str(KAPITAN_VENV)], check=True)
        subprocess.run([str(KAPITAN_VENV / 'bin' / 'pip'), 'install', '-q', 'kapitan'], check=True)
    return exe


def to_kapitan(repo: Path, target: Path) -> None:
    """The same values and templates as a Kapitan project."""
    classes = target / 'inventory' / 'classes'
    targets = target / 'inventory' / 'targets'
    classes.mkdir(parents=True)
    targets.mkdir(parents=True)
    for layer in ('common', *ENVS):
        body = (repo / f'values/{layer}.yaml').read_text()
        indented = ''.join(f'  {line}\n' for line in body.splitlines())
        (classes / f'{layer}.yml').write_text(f'parameters:\n{indented}')
    templates = target / 'templates'
    templates.mkdir()
    for path in sorted((repo / 'templates').iterdir()):
        text = path.read_text()
        text = text.replace('services.', 'inventory.parameters.services.')
        text = text.replace('{{ env }}', '{{ inventory.parameters.env }}')
        text = text.replace('| to_yaml', '| yaml').replace('| to_json', '| tojson')
        (templates / path.name.removesuffix('.j2')).write_text(text)
    for env in ENVS:
        (targets / f'{env}.yml').write_text(
            f'classes:\n  - common\n  - {env}\nparameters:\n  env: {env}\n'
            '  kapitan:\n    vars:\n      target: ' + env + '\n'
            '    compile:\n      - output_path: .\n        input_type: jinja2\n'
            '        input_paths: [templates]\n'
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--services', type=int, default=500)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    exe = kapitan()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        repo = tmp_path / 'repo'
        generate(repo, args.services)
        kap = tmp_path / 'kapitan'
        to_kapitan(repo, kap)
        kap_time = median_seconds(
            [str(exe), 'compile', '--parallelism', str(os.cpu_count() or 1)],
            cwd=kap,
            runs=args.runs,
            before=lambda: shutil.rmtree(kap / 'compiled', ignore_errors=True),
        )
        env = dict(os.environ, GITOPS_CONFIG_CACHE_DIR=str(tmp_path / 'cache'))
        ours_cold = median_seconds(
            [str(BIN), '--no-cache', 'render', '--out', str(tmp_path / 'o')],
            cwd=repo,
            runs=args.runs,
            env=env,
        )
        warm = [str(BIN), 'render', '--out', str(tmp_path / 'o')]
        median_seconds(warm, cwd=repo, runs=1, env=env)  # fills the cache
        ours_warm = median_seconds(warm, cwd=repo, runs=args.runs, env=env)
        compiled = len(list((kap / 'compiled').rglob('*.yaml')))
    outputs = args.services * len(ENVS)
    print(
        f'{args.services} services x {len(ENVS)} environments = {outputs} outputs '
        f'(kapitan wrote {compiled})'
    )
    print(f'{"tool":<32}{"median s":>10}{"ratio":>8}')
    print(f'{"kapitan compile":<32}{kap_time:>10.2f}{1:>8.1f}')
    print(f'{"gitops-config render, no cache":<32}{ours_cold:>10.2f}{kap_time / ours_cold:>8.1f}')
    print(f'{"gitops-config render, cached":<32}{ours_warm:>10.2f}{kap_time / ours_warm:>8.1f}')


if __name__ == '__main__':
    main()
