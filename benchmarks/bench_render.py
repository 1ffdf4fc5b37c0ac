"""Start-up and rendering, whole process, side by side with the obvious stack.

    python benchmarks/bench_render.py [--services 2000] [--runs 5] [--start-up-only]

Cases:
  help         `gitops-config --help`                          target < 150 ms
  example      render example-repo, every environment          target < 1 s
  big-cold     2,000 templates x 3 envs rendered and parsed,   target < 6 s
               empty cache
  big-warm     the same with the compiled-template cache warm
  obvious      sandboxed Jinja2 + ruamel round-trip parse of every output,
               measured on a sample of templates and projected to all of them;
               our figure must be at least 10x better
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from timing import median_seconds  # noqa: E402

BIN = Path(sys.executable).parent / 'gitops-config'


def _obvious_stack(root: Path, envs: list[str], sample: int) -> float:
    """Seconds for the obvious stack over SAMPLE templates, for every environment."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from ruamel.yaml import YAML

    from gitops_config import yaml_io

    values = {}
    for env in envs:
        merged: dict[str, object] = {}
        for layer in ('common', env):
            data = yaml_io.load((root / f'values/{layer}.yaml').read_text(), layer)
            _deep_merge(merged, data)
        values[env] = merged
    templates = sorted((root / 'templates').iterdir())[:sample]
    rt = YAML(typ='rt')
    start = time.perf_counter()
    for env in envs:
        jenv = ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(root / 'templates')),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        jenv.filters['to_yaml'] = lambda v, **_: yaml_io.to_yaml(v).rstrip('\n')
        jenv.filters['to_json'] = lambda v: yaml_io.to_json(v, indent=None)
        for template in templates:
            out = jenv.get_template(template.name).render(values[env], env=env)
            rt.load(out)
    return time.perf_counter() - start


def _deep_merge(base: dict[str, object], over: dict[str, object]) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)  # type: ignore[arg-type]
        else:
            base[key] = value


def _print_rows(rows: list[tuple[str, float, float | None]]) -> None:
    print(f'{"case":<22}{"median s":>10}{"target s":>10}')
    for name, seconds, target in rows:
        shown_target = f'{target:.3f}' if target is not None else '-'
        print(f'{name:<22}{seconds:>10.3f}{shown_target:>10}')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--services', type=int, default=2000)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--sample', type=int, default=200)
    parser.add_argument(
        '--start-up-only',
        action='store_true',
        help='only the help case: a check after moving imports around',
    )
    args = parser.parse_args()

    rows: list[tuple[str, float, float | None]] = []
    rows.append(('help', median_seconds([str(BIN), '--help'], runs=args.runs * 4), 0.150))
    if args.start_up_only:
        _print_rows(rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        example = tmp_path / 'example'
        shutil.copytree(ROOT / 'example-repo', example)
        env = dict(
            os.environ,
            SOPS_AGE_KEY_FILE=str(example / 'keys/demo-dev.agekey'),
            GITOPS_CONFIG_CACHE_DIR=str(tmp_path / 'cache-example'),
        )
        rows.append(
            (
                'example',
                median_seconds(
                    [
                        str(BIN),
                        '-C',
                        str(example),
                        'render',
                        '--sealed',
                        '--out',
                        str(tmp_path / 'ex-out'),
                    ],
                    runs=args.runs,
                    env=env,
                ),
                1.0,
            )
        )
        big = tmp_path / 'big'
        generate(big, args.services)
        cache_dir = tmp_path / 'cache-big'
        big_env = dict(os.environ, GITOPS_CONFIG_CACHE_DIR=str(cache_dir))
        render = [str(BIN), '-C', str(big), 'render', '--out', str(tmp_path / 'big-out')]
        cold = median_seconds(
            render,
            runs=max(1, args.runs // 2),
            env=big_env,
            before=lambda: shutil.rmtree(cache_dir, ignore_errors=True),
        )
        rows.append(('big-cold', cold, 6.0))
        warm = median_seconds(render, runs=args.runs, env=big_env)
        rows.append(('big-warm', warm, 6.0))
        envs = ['dev', 'staging', 'prod']
        sample = min(args.sample, args.services)
        obvious = _obvious_stack(big, envs, sample) * args.services / sample
        rows.append(('obvious (projected)', obvious, None))

    _print_rows(rows)
    print(
        f'\nobvious stack / ours: cold {obvious / cold:.1f}x, warm {obvious / warm:.1f}x '
        '(target >= 10x)'
    )


if __name__ == '__main__':
    main()
