"""Rendering across processes: forked workers that receive small work items.

The parent merges values and reads every template first; workers are forked
afterwards and inherit that state, so a task is only a list of (environment,
template) indices, and nothing of the project is pickled per task. Results come back in
order and are identical to a run with one job.
"""

from __future__ import annotations

import functools
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

from gitops_config import render_packs
from gitops_config.model import Location
from gitops_config.render import Prepared
from gitops_config.render import RenderedFile
from gitops_config.render import RenderedSyntaxError
from gitops_config.render import Template
from gitops_config.render import TemplateError
from gitops_config.render import memo_key
from gitops_config.render import render_file

# A template's own error, kept in its place so that the other files still render.
Outcome = RenderedFile | TemplateError | RenderedSyntaxError

# Below this many (template, environment) pairs, starting processes costs more
# than it saves.
PARALLEL_THRESHOLD = 200

T = TypeVar('T')

_SLICE_WORK: Callable[[int, int], Any] | None = None


def _run_slice(bounds: tuple[int, int]) -> Any:
    assert _SLICE_WORK is not None
    return _SLICE_WORK(*bounds)


def in_slices(work: Callable[[int, int], list[T]], total: int, *, jobs: int | None,
              ) -> list[T]:
    """WORK(start, stop) over [0, TOTAL) in slices, concatenated in order. With JOBS
    over 1 and enough to do, the slices run on forked processes, which inherit WORK
    and everything it refers to: nothing but the bounds is sent to them."""
    global _SLICE_WORK
    jobs = jobs if jobs is not None else default_jobs()
    if jobs <= 1 or total < PARALLEL_THRESHOLD or 'fork' not in (
            multiprocessing.get_all_start_methods()):
        return work(0, total)
    step = max(1, total // (jobs * 8))
    bounds = [(i, min(i + step, total)) for i in range(0, total, step)]
    _SLICE_WORK = work
    try:
        with _pool(jobs) as pool:
            return [item for part in pool.imap(_run_slice, bounds) for item in part]
    finally:
        _SLICE_WORK = None


def _pool(jobs: int, *, initializer: Callable[[], None] | None = None) -> Pool:
    """JOBS forked workers that ignore Ctrl-C. It reaches the whole process group;
    the parent handles it and stops them, and a worker that died of it too would
    first print its own traceback (`Process ForkPoolWorker-1:`)."""
    main = threading.current_thread() is threading.main_thread()
    # ignored before the fork, so that no worker is ever without it
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        return multiprocessing.get_context('fork').Pool(
            jobs, initializer=functools.partial(_start_worker, initializer))
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _start_worker(then: Callable[[], None] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a worker the pool starts later, too
    if then is not None:
        then()


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (
        os.cpu_count() or 1)


def _one(template: Template, prepared: Prepared) -> Outcome:
    try:
        return render_file(template, prepared)
    except (TemplateError, RenderedSyntaxError) as exc:
        return exc


Group = tuple[Sequence[Template], Prepared]  # templates to render for one environment
_GROUPS: Sequence[Group] = ()


def _work_group(task: list[tuple[int, int]]) -> tuple[list[Outcome], render_packs.News]:
    rows = [_one(_GROUPS[group][0][i], _GROUPS[group][1]) for group, i in task]
    return rows, render_packs.take_news()


def start_groups(groups: Sequence[Group], *, jobs: int) -> Callable[[], list[list[Outcome]]]:
    """Start rendering GROUPS (each a template list for one environment, errors kept
    in place) on one pool; the returned function waits for the outcomes, a list per
    group. Meanwhile this process is free for work of its own."""
    global _GROUPS
    total = sum(len(templates) for templates, _ in groups)
    if jobs <= 1 or total < PARALLEL_THRESHOLD or 'fork' not in (
            multiprocessing.get_all_start_methods()):
        return lambda: _kept(groups, [[_one(t, p) for t in templates]
                                      for templates, p in groups])
    # A task holds every (group, index) of some templates: each is compiled once, in the
    # worker that renders it for every environment and both sides of a diff.
    units: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for g, (templates, _) in enumerate(groups):
        for i, template in enumerate(templates):
            units.setdefault((template.path, template.blob), []).append((g, i))
    ordered = list(units.values())
    chunk = max(1, len(ordered) // (jobs * 8))
    tasks = [[pair for unit in ordered[i:i + chunk] for pair in unit]
             for i in range(0, len(ordered), chunk)]
    # read here: a child must not share the parent's `git cat-file`
    _ = [template.raw for templates, _ in groups for template in templates]
    render_packs.preload([render_packs.BYTECODE, *sorted({p.env for _, p in groups})])
    for _, prepared in groups:
        prepared.budget.share()  # an environment's time is spent in every worker
    _GROUPS = groups
    try:
        pool = _pool(jobs, initializer=render_packs.forget_in_child)
    finally:
        _GROUPS = ()  # the workers, forked above, have their copy
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
                render_packs.absorb(news)
        finally:
            pool.terminate()
            pool.join()
        return _kept(groups, rows)

    return collect


def _backstop(groups: Sequence[Group]) -> float:
    """Seconds by which every worker is done if the limits hold: each environment's
    time, and a template's on top. A worker stuck where its timer cannot reach (in C
    code) or dead (the OOM killer) is stopped then, not waited for forever."""
    return sum(p.limits.environment_seconds for _, p in groups) + max(
        (p.limits.template_seconds for _, p in groups), default=0.0) + 1.0


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
                         'gitops-config.yaml')


def _kept(groups: Sequence[Group], rows: list[list[Outcome]]) -> list[list[Outcome]]:
    """ROWS, each rendered file also kept in its environment's memo (a worker's
    results are not in this process's memos)."""
    for (templates, prepared), row in zip(groups, rows, strict=True):
        for template, outcome in zip(templates, row, strict=True):
            memo = memo_key(template)
            if isinstance(outcome, RenderedFile) and memo is not None:
                prepared.rendered[memo] = outcome
    return rows


def render_all(templates: Sequence[Template], prepared: Sequence[Prepared], *, jobs: int,
               ) -> list[list[RenderedFile]]:
    """files[e] for each prepared environment e, in template order; the first
    template error is raised."""
    rows = _render(templates, prepared, jobs=jobs, keep_errors=False)
    return [[f for f in row if isinstance(f, RenderedFile)] for row in rows]


def _render(templates: Sequence[Template], prepared: Sequence[Prepared], *, jobs: int,
            keep_errors: bool) -> list[list[Outcome]]:
    rows = start_groups([(templates, p) for p in prepared], jobs=jobs)()
    if not keep_errors:
        for i in range(len(templates)):  # the error one job meets first
            for row in rows:
                outcome = row[i]
                if isinstance(outcome, (TemplateError, RenderedSyntaxError)):
                    raise outcome
    return rows
