"""The one subprocess wrapper."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_config.errors import GitopsConfigError
from gitops_config.redact import Secret


class ProcessError(GitopsConfigError):
    code = 'process-failed'


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


Arg = str | Secret


def _shown(argv: Sequence[Arg]) -> str:
    return ' '.join(str(a) for a in argv)  # a Secret prints as ****


def run(
        argv: Sequence[Arg],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        check: bool = True,
        timeout: float | None = None,
) -> Completed:
    """Run argv; a Secret argument is revealed only at the moment of exec."""
    real = [str(a.reveal()) if isinstance(a, Secret) else a for a in argv]
    try:
        proc = subprocess.run(
            real, input=stdin, capture_output=True, env=dict(env) if env is not None else None,
            cwd=cwd, timeout=timeout, check=False,
        )
    except FileNotFoundError:
        raise ProcessError(
            f'{real[0]}: command not found', hint=f'install {real[0]} or put it on PATH',
        ) from None
    except subprocess.TimeoutExpired:
        raise ProcessError(f'{_shown(argv)}: timed out after {timeout}s') from None
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors='replace').strip().splitlines()
        last = err[-1] if err else ''
        raise ProcessError(f'{_shown(argv)} exited {proc.returncode}: {last}')
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def run_interactive(argv: Sequence[Arg]) -> int:
    """Run argv on the user's terminal (an editor): nothing captured; its exit code."""
    real = [str(a.reveal()) if isinstance(a, Secret) else a for a in argv]
    try:
        return subprocess.run(real, check=False).returncode
    except FileNotFoundError:
        raise ProcessError(f'{real[0]}: command not found',
                           hint='set EDITOR to an editor installed here') from None
