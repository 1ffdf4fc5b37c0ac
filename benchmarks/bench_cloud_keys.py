"""AWS KMS files: what reaching the key through the `sops` executable costs, against
`sops` itself and against a native client (boto3, what an `[aws]` extra would carry).

    .venv/bin/python benchmarks/bench_cloud_keys.py [--runs N]

Runs moto's KMS server on loopback (from the test extras) and prints a table of median
wall times: whole processes of `sops -d`, `gitops-config secrets decrypt | set | rotate`,
and a Python process that imports boto3 and asks KMS for one data key; then the data
key alone, in process: through sops (`updatekeys` on a throwaway file) and through a
warm boto3 client.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / 'benchmarks')]

from timing import median_call_seconds  # noqa: E402
from timing import median_seconds  # noqa: E402

from tests._helpers.aws_kms import MotoKms  # noqa: E402  (after the path above)

PLAIN = 'db:\n    password: hunter2\n    port: 5432\napi_key: sk-bench-0123456789\n'
BOTO = """
import base64, sys, boto3
blob = base64.b64decode(sys.argv[1])
boto3.client("kms").decrypt(CiphertextBlob=blob)
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=7)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    sops = str(bin_dir / 'sops')
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        kms = MotoKms(tmp / 'moto.log')
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith(('SOPS_', 'AWS_'))}
            env.update(kms.env(), HOME=str(tmp), PATH=f'{bin_dir}{os.pathsep}{env["PATH"]}')
            env.pop('PYTHONDONTWRITEBYTECODE', None)
            os.environ.update(env)
            arn = kms.create_key()
            plain = tmp / 'plain.yaml'
            plain.write_text(PLAIN)
            path = tmp / 'secrets.yaml'
            path.write_bytes(
                subprocess.run(
                    [sops, '-e', '--kms', arn, str(plain)], env=env, check=True, capture_output=True
                ).stdout
            )
            ours = [sys.executable, '-m', 'gitops_config', 'secrets']
            median_seconds([*ours, 'decrypt', str(path)], env=env, runs=1)  # warm-up
            rows = [
                (
                    'sops -d (whole process)',
                    median_seconds([sops, '-d', str(path)], env=env, runs=args.runs),
                ),
                (
                    'secrets decrypt (whole process)',
                    median_seconds([*ours, 'decrypt', str(path)], env=env, runs=args.runs),
                ),
                (
                    'secrets set (whole process)',
                    median_seconds(
                        [*ours, 'set', str(path), 'db.port', '5433'], env=env, runs=args.runs
                    ),
                ),
                (
                    'secrets rotate (whole process)',
                    median_seconds([*ours, 'rotate', str(path)], env=env, runs=args.runs),
                ),
            ]
            rows += _data_key_only(path, env, args.runs)
        finally:
            kms.stop()
    print(f'{"case":<58} {"median":>9}')
    for name, seconds in rows:
        print(f'{name:<58} {seconds * 1000:>7.1f}ms')
    print(f'(median of {args.runs} runs, against moto on loopback)')
    return 0


def _data_key_only(path: Path, env: dict[str, str], runs: int) -> list[tuple[str, float]]:
    import base64

    from gitops_config.sops import sopsfile
    from gitops_config.sops.keys import cloud
    from gitops_config.sops.keys.ring import KeyRing

    meta = sopsfile.parse(path.read_bytes(), str(path)).meta
    [key] = meta.master_keys()
    blob = key.enc

    def through_sops() -> None:
        cloud.unwrap([key], meta.version, str(path), KeyRing())  # a new run: asked again

    rows = [
        (
            'data key through sops updatekeys (in process)',
            median_call_seconds(through_sops, runs=runs),
        )
    ]
    try:
        import boto3
    except ImportError:
        return rows
    rows.append(
        (
            'python -c pass (start-up floor)',
            median_seconds([sys.executable, '-c', 'pass'], env=env, runs=runs),
        )
    )
    rows.append(
        (
            'boto3: python + import + client + Decrypt (whole process)',
            median_seconds([sys.executable, '-c', BOTO, blob], env=env, runs=runs),
        )
    )
    client = boto3.client('kms')
    raw = base64.b64decode(blob)
    rows.append(
        (
            'boto3: Decrypt on a warm client (in process)',
            median_call_seconds(lambda: client.decrypt(CiphertextBlob=raw), runs=runs),
        )
    )
    return rows


if __name__ == '__main__':
    raise SystemExit(main())
