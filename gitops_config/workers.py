"""Rendering across processes: workers that are handed all they need.

A pool's workers get their work once, when they start: the templates (with
their bytes: a worker must not share the parent's `git cat-file`), what each
environment's rendering needs (render.Prepared) and the run's earlier work
(incremental.Reuse). A task is then only a list of (environment, template)
indices. Under `fork` the payload is inherited as it is; under `spawn` it is
pickled once per worker. Results come back in order and are identical to a run
with one job; what a worker added to the cache comes back with them, and the
parent keeps it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence
from multiprocessing.pool import Pool
from typing import Any
from typing import TypeVar

from gitops_config.incremental.packs import News
from gitops_config.incremental.reuse import Reuse
from gitops_config.model import Location
from gitops_config.render import Prepared
from gitops_config.render import RenderedFile
from gitops_config.render import RenderedSyntaxError
from gitops_config.render import Template
from gitops_config.render import TemplateError

# A template's own error, kept in its place so that the other files still render.
Outcome = RenderedFile | TemplateError | RenderedSyntaxError

# Below this many (template, environment) pairs, starting processes costs more
# than it saves.
PARALLEL_THRESHOLD = 200

T = TypeVar('T')


def start_method() -> str:
    """How workers start: forked where the platform can (nothing to pickle, and the
    parent's imports are already done), else spawned."""
    return 'fork' if 'fork' in multiprocessing.get_all_start_methods() else 'spawn'


# What this process was given to work on, when it is a worker (set by _start_worker, in
# the worker only: the parent never holds anything here).
_GIVEN: Any = None


def _run_slice(bounds: tuple[int, int]) -> Any:
    return _GIVEN(*bounds)


def in_slices(
    work: Callable[[int, int], list[T]],
    total: int,
    *,
    jobs: int | None,
) -> list[T]:
    """WORK(start, stop) over [0, TOTAL) in slices, concatenated in order. With JOBS
    over 1 and enough to do, the slices run on worker processes, each handed WORK when
    it starts. WORK refers to compiled rules, which only a forked worker can have: where
    the platform cannot fork, the slices run here."""
    jobs = jobs if jobs is not None else default_jobs()
    if jobs <= 1 or total < PARALLEL_THRESHOLD or start_method() != 'fork':
        return work(0, total)
    step = max(1, total // (jobs * 8))
    bounds = [(i, min(i + step, total)) for i in range(0, total, step)]
    with _pool(jobs, 'fork', work) as pool:
        return [item for part in pool.imap(_run_slice, bounds) for item in part]


def _pool(jobs: int, method: str, given: Any) -> Pool:
    """JOBS workers started by METHOD, each handed GIVEN, that ignore Ctrl-C. It
    reaches the whole process group; the parent handles it and stops them, and a
    worker that died of it too would first print its own traceback."""
    main = threading.current_thread() is threading.main_thread()
    # ignored before the start, so that no worker is ever without it
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        return multiprocessing.get_context(method).Pool(
            jobs, initializer=_start_worker, initargs=(given,)
        )
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _start_worker(given: Any) -> None:
    global _GIVEN
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a worker the pool starts later, too
    _GIVEN = given
    if isinstance(given, _Rendering):
        given.reuse.in_worker()


def default_jobs() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    )


def _one(template: Template, prepared: Prepared, reuse: Reuse) -> Outcome:
    try:
        return reuse.output(template, prepared)
    except (TemplateError, RenderedSyntaxError) as exc:
        return exc


Group = tuple[Sequence[Template], Prepared]  # templates to render for one environment


class _Rendering:
    """What a rendering worker is handed: the groups, and the run's earlier work."""

    def __init__(self, groups: Sequence[Group], reuse: Reuse) -> None:
        self.groups = [(list(templates), prepared) for templates, prepared in groups]
        self.reuse = reuse


def _work_group(task: list[tuple[int, int]]) -> tuple[list[Outcome], News]:
    given: _Rendering = _GIVEN
    rows = [
        _one(given.groups[group][0][i], given.groups[group][1], given.reuse) for group, i in task
    ]
    return rows, given.reuse.news()


def start_groups(
    groups: Sequence[Group], reuse: Reuse, *, jobs: int, method: str | None = None
) -> Callable[[], list[list[Outcome]]]:
    """Start rendering GROUPS (each a template list for one environment, errors kept
    in place) on one pool of workers started by METHOD (default: start_method()); the
    returned function waits for the outcomes, a list per group. Meanwhile this process
    is free for work of its own."""
    total = sum(len(templates) for templates, _ in groups)
    if jobs <= 1 or total < PARALLEL_THRESHOLD:
        return lambda: _kept(
            groups, [[_one(t, p, reuse) for t in templates] for templates, p in groups], reuse
        )
    method = method or start_method()
    # A task holds every (group, index) of some templates: each is compiled once, in the
    # worker that renders it for every environment and both sides of a diff.
    units: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for g, (templates, _) in enumerate(groups):
        for i, template in enumerate(templates):
            units.setdefault((template.path, template.blob), []).append((g, i))
    ordered = list(units.values())
    chunk = max(1, len(ordered) // (jobs * 8))
    tasks = [
        [pair for unit in ordered[i : i + chunk] for pair in unit]
        for i in range(0, len(ordered), chunk)
    ]
    _ = [template.raw for templates, _ in groups for template in templates]  # read here
    reuse.before_workers(sorted({p.env for _, p in groups}))
    for _, prepared in groups:
        prepared.budget.share(method)  # an environment's time is spent in every worker
    pool = _pool(jobs, method, _Rendering(groups, reuse))
    results = pool.imap(_work_group, tasks)
    deadline = time.monotonic() + _backstop(groups)

    def collect() -> list[list[Outcome]]:
        rows: list[list[Any]] = [[None] * len(templates) for templates, _ in groups]
        try:
            for task in tasks:
                try:
                    part, news = results.next(timeout=max(0.0, deadline - time.monotonic()))
                except multiprocessing.TimeoutError:
                    _stopped(groups, rows)
                    break
                for (group, i), outcome in zip(task, part, strict=True):
                    rows[group][i] = outcome
                reuse.absorb(news)
        finally:
            pool.terminate()
            pool.join()
        return _kept(groups, rows, reuse)

    return collect


def _backstop(groups: Sequence[Group]) -> float:
    """Seconds by which every worker is done if the limits hold: each environment's
    time, and a template's on top. A worker stuck where its timer cannot reach (in C
    code) or dead (the OOM killer) is stopped then, not waited for forever."""
    return (
        sum(p.limits.environment_seconds for _, p in groups)
        + max((p.limits.template_seconds for _, p in groups), default=0.0)
        + 1.0
    )


def _stopped(groups: Sequence[Group], rows: list[list[Any]]) -> None:
    """Every outcome still missing in ROWS: an error, as the pool is stopped."""
    for (templates, prepared), row in zip(groups, rows, strict=True):
        for i, template in enumerate(templates):
            if row[i] is None:
                row[i] = TemplateError(
                    f'rendering did not finish within the limits ({prepared.env}; '
                    'limits.environment_seconds): its worker was stopped',
                    location=Location(template.path),
                    hint='a template that runs in one long step? The limit is set in '
                    'gitops-config.yaml',
                )


def _kept(
    groups: Sequence[Group],
    rows: list[list[Outcome]],
    reuse: Reuse,
) -> list[list[Outcome]]:
    """ROWS, each rendered file also known to the run (a worker's results are not in
    this process's memory)."""
    for (templates, prepared), row in zip(groups, rows, strict=True):
        for template, outcome in zip(templates, row, strict=True):
            if isinstance(outcome, RenderedFile):
                reuse.learn(template, prepared, outcome)
    return rows


def render_all(
    templates: Sequence[Template],
    prepared: Sequence[Prepared],
    reuse: Reuse,
    *,
    jobs: int,
    method: str | None = None,
) -> list[list[RenderedFile]]:
    """files[e] for each prepared environment e, in template order; the first
    template error is raised."""
    rows = start_groups([(templates, p) for p in prepared], reuse, jobs=jobs, method=method)()
    for i in range(len(templates)):  # the error one job meets first
        for row in rows:
            outcome = row[i]
            if isinstance(outcome, (TemplateError, RenderedSyntaxError)):
                raise outcome
    return [[f for f in row if isinstance(f, RenderedFile)] for row in rows]
