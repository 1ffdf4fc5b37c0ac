"""Rendering across processes: workers that are handed all they need.

A worker is a process whose main function is handed its job (_serve): the
templates (with their bytes: a worker must not share the parent's `git
cat-file`), what each environment's rendering needs (render.Prepared) and the
run's earlier work (incremental.Reuse), or the rules and documents of a policy
check. A task is then only a list of (environment, template) indices, or a
slice. Under `fork` the job is inherited as it is; under `spawn` it is pickled
once per worker. Nothing reaches a worker through module state. Results come
back in order and are identical to a run with one job; what a worker added to
the cache comes back with them, and the parent keeps it.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from typing import Any
from typing import Protocol
from typing import TypeVar

from gitops_config.errors import GitopsConfigError
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


class WorkerDiedError(GitopsConfigError):
    code = 'worker-died'


def start_method() -> str:
    """How workers start: forked where the platform can (nothing to pickle, and the
    parent's imports are already done), else spawned."""
    return 'fork' if 'fork' in multiprocessing.get_all_start_methods() else 'spawn'


def default_jobs() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    )


class Job(Protocol):
    """What a worker is handed: everything its tasks need."""

    def start(self) -> None:
        """Once, in the worker, before its first task."""

    def __call__(self, task: Any, /) -> Any:
        """One task's result, sent back to the parent."""


class _Lost(Exception):
    """A task's result will not come: past the deadline, or its worker died."""


class _Workers:
    """JOBS processes started by METHOD, each handed JOB, working through TASKS. They
    ignore Ctrl-C: it reaches the whole process group; the parent handles it and stops
    them, and a worker that died of it too would first print its own traceback."""

    def __init__(self, jobs: int, method: str, job: Job, tasks: Sequence[Any]) -> None:
        context = multiprocessing.get_context(method)
        self._tasks = context.Queue()
        self._results = context.Queue()
        self._count = len(tasks)
        self._processes: list[BaseProcess] = [
            # every context has Process; typeshed declares it only on the concrete ones
            context.Process(  # type: ignore[attr-defined]
                target=_serve, args=(job, self._tasks, self._results), daemon=True
            )
            for _ in range(jobs)
        ]
        main = threading.current_thread() is threading.main_thread()
        # ignored before the start, so that no worker is ever without it
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            for process in self._processes:
                process.start()
        except BaseException:
            self.stop()
            raise
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        for number, task in enumerate(tasks):
            self._tasks.put((number, task))
        for _ in self._processes:
            self._tasks.put(None)  # no more: the worker ends

    def results(self, deadline: float | None = None) -> Iterator[tuple[int, Any]]:
        """Each task's number and result as it comes; a task's exception is raised here.
        _Lost past DEADLINE, or when a worker died or every worker ended and a result
        is still missing (one that did not pickle is dropped by the queue)."""
        for _ in range(self._count):
            number, done, value = self._next(deadline)
            if not done:
                raise value
            yield number, value

    def _next(self, deadline: float | None) -> tuple[int, bool, Any]:
        while True:
            wait = 0.5 if deadline is None else min(0.5, max(0.0, deadline - time.monotonic()))
            try:
                reply: tuple[int, bool, Any] = self._results.get(timeout=wait)
                return reply
            except queue.Empty:
                pass
            if deadline is not None and time.monotonic() >= deadline:
                raise _Lost
            codes = [process.exitcode for process in self._processes]
            if any(codes) or all(code is not None for code in codes):
                try:  # what it sent before it ended is there by now
                    reply = self._results.get(timeout=0.1)
                    return reply
                except queue.Empty:
                    raise _Lost from None

    def stop(self) -> None:
        for process in self._processes:
            if process.pid is not None:
                process.terminate()
        for process in self._processes:
            if process.pid is not None:
                process.join()
        for channel in (self._tasks, self._results):
            channel.cancel_join_thread()  # tasks no worker took are dropped
            channel.close()


def _serve(job: Job, tasks: Any, results: Any) -> None:
    """A worker's main: JOB's tasks until there are none."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    job.start()
    for number, task in iter(tasks.get, None):
        try:
            reply = (number, True, job(task))
        except Exception as exc:  # raised again in the parent, as a pool would
            reply = (number, False, exc if _pickles(exc) else RuntimeError(f'{exc!r}'))
        results.put(reply)


def _pickles(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


class _Slices:
    def __init__(self, work: Callable[[int, int], list[Any]]) -> None:
        self.work = work

    def start(self) -> None:
        pass

    def __call__(self, bounds: tuple[int, int]) -> list[Any]:
        return self.work(*bounds)


def in_slices(
    work: Callable[[int, int], list[T]],
    total: int,
    *,
    jobs: int | None,
    method: str | None = None,
) -> list[T]:
    """WORK(start, stop) over [0, TOTAL) in slices, concatenated in order. With JOBS
    over 1 and enough to do, the slices run on worker processes started by METHOD
    (default: start_method()), each handed WORK (which must pickle, for `spawn`)."""
    jobs = jobs if jobs is not None else default_jobs()
    if jobs <= 1 or total < PARALLEL_THRESHOLD:
        return work(0, total)
    step = max(1, total // (jobs * 8))
    bounds = [(i, min(i + step, total)) for i in range(0, total, step)]
    workers = _Workers(jobs, method or start_method(), _Slices(work), bounds)
    try:
        parts = dict(workers.results())
    except _Lost:
        raise WorkerDiedError(
            'a worker process ended before its work was done (out of memory?)',
            hint='run with --jobs 1 to do the work in one process',
        ) from None
    finally:
        workers.stop()
    return [item for number in range(len(bounds)) for item in parts[number]]


def _one(template: Template, prepared: Prepared, reuse: Reuse) -> Outcome:
    try:
        return reuse.output(template, prepared)
    except (TemplateError, RenderedSyntaxError) as exc:
        return exc


Group = tuple[Sequence[Template], Prepared]  # templates to render for one environment


class _Rendering:
    """What a rendering worker is handed: the groups, and the run's earlier work. A
    task is a list of (group, template index)."""

    def __init__(self, groups: Sequence[Group], reuse: Reuse) -> None:
        self.groups = [(list(templates), prepared) for templates, prepared in groups]
        self.reuse = reuse

    def start(self) -> None:
        self.reuse.in_worker()

    def __call__(self, task: list[tuple[int, int]]) -> tuple[list[Outcome], News]:
        groups, reuse = self.groups, self.reuse
        rows = [_one(groups[group][0][i], groups[group][1], reuse) for group, i in task]
        return rows, reuse.news()


def start_groups(
    groups: Sequence[Group], reuse: Reuse, *, jobs: int, method: str | None = None
) -> Callable[[], list[list[Outcome]]]:
    """Start rendering GROUPS (each a template list for one environment, errors kept
    in place) on worker processes started by METHOD (default: start_method()); the
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
    workers = _Workers(jobs, method, _Rendering(groups, reuse), tasks)
    deadline = time.monotonic() + _backstop(groups)

    def collect() -> list[list[Outcome]]:
        done: dict[int, tuple[list[Outcome], News]] = {}
        try:
            done.update(workers.results(deadline))
        except _Lost:
            pass  # the outcomes missing are errors (_stopped)
        finally:
            workers.stop()
        rows: list[list[Any]] = [[None] * len(templates) for templates, _ in groups]
        for number in sorted(done):  # in order: what the cache keeps does not depend on timing
            part, news = done[number]
            for (group, i), outcome in zip(tasks[number], part, strict=True):
                rows[group][i] = outcome
            reuse.absorb(news)
        if len(done) < len(tasks):
            _stopped(groups, rows)
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
