"""Rendering across processes: forked workers that receive small work items.

The parent merges values and reads every template first; workers are forked
afterwards and inherit that state, so a task is only a list of template
indices, and nothing of the project is pickled per task. Results come back in
order and are identical to a run with one job.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence

from gitops_config.render import Prepared, RenderedFile, Template, render_file

# Below this many (template, environment) pairs, starting processes costs more
# than it saves.
PARALLEL_THRESHOLD = 200

_STATE: tuple[Sequence[Template], Sequence[Prepared]] = ((), ())


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (
        os.cpu_count() or 1)


def _work(indices: list[int]) -> list[list[RenderedFile]]:
    templates, prepared = _STATE
    # A template is compiled once, in the one worker that renders it for every env.
    return [[render_file(templates[i], p) for p in prepared] for i in indices]


def render_all(templates: Sequence[Template], prepared: Sequence[Prepared], *, jobs: int,
               ) -> list[list[RenderedFile]]:
    """files[e] for each prepared environment e, in template order."""
    global _STATE
    pairs = len(templates) * len(prepared)
    if jobs <= 1 or pairs < PARALLEL_THRESHOLD or 'fork' not in (
            multiprocessing.get_all_start_methods()):
        rows = [[render_file(t, p) for p in prepared] for t in templates]
    else:
        chunk = max(1, len(templates) // (jobs * 8))
        tasks = [list(range(i, min(i + chunk, len(templates))))
                 for i in range(0, len(templates), chunk)]
        _STATE = (templates, prepared)
        try:
            with multiprocessing.get_context('fork').Pool(jobs) as pool:
                rows = [row for part in pool.imap(_work, tasks) for row in part]
        finally:
            _STATE = ((), ())
    return [[row[e] for row in rows] for e in range(len(prepared))]
