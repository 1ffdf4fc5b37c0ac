"""Timing whole processes: the one helper every benchmark uses."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path


def median_seconds(
    argv: list[str],
    *,
    runs: int,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    before: Callable[[], object] | None = None,
) -> float:
    """The median wall time of RUNS runs of ARGV; BEFORE runs ahead of each (untimed)."""
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        subprocess.run(
            argv,
            cwd=cwd,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def median_call_seconds(
    func: Callable[[], object], *, runs: int, before: Callable[[], object] | None = None
) -> float:
    """The median wall time of RUNS calls of FUNC, in this process; BEFORE runs ahead of
    each (untimed)."""
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
