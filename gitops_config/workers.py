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

_STATE: tuple[Sequence[Template], Sequence[Prepared], bool] = ((), (), False)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (
        os.cpu_count() or 1)


def _one(template: Template, prepared: Prepared, keep_errors: bool) -> Outcome:
    if not keep_errors:
        return render_file(template, prepared)
    try:
        return render_file(template, prepared)
    except (TemplateError, RenderedSyntaxError) as exc:
        return exc


def _work(indices: list[int]) -> list[list[Outcome]]:
    templates, prepared, keep_errors = _STATE
    # A template is compiled once, in the one worker that renders it for every env.
    return [[_one(templates[i], p, keep_errors) for p in prepared] for i in indices]


def render_all(templates: Sequence[Template], prepared: Sequence[Prepared], *, jobs: int,
               ) -> list[list[RenderedFile]]:
    """files[e] for each prepared environment e, in template order; the first
    template error is raised."""
    rows = _render(templates, prepared, jobs=jobs, keep_errors=False)
    return [[f for f in row if isinstance(f, RenderedFile)] for row in rows]


def render_outcomes(templates: Sequence[Template], prepared: Sequence[Prepared], *, jobs: int,
                    ) -> list[list[Outcome]]:
    """Like render_all, but a broken template is an error in its place, not the end."""
    return _render(templates, prepared, jobs=jobs, keep_errors=True)


def _render(templates: Sequence[Template], prepared: Sequence[Prepared], *, jobs: int,
            keep_errors: bool) -> list[list[Outcome]]:
    global _STATE
    pairs = len(templates) * len(prepared)
    if jobs <= 1 or pairs < PARALLEL_THRESHOLD or 'fork' not in (
            multiprocessing.get_all_start_methods()):
        rows = [[_one(t, p, keep_errors) for p in prepared] for t in templates]
    else:
        chunk = max(1, len(templates) // (jobs * 8))
        tasks = [list(range(i, min(i + chunk, len(templates))))
                 for i in range(0, len(templates), chunk)]
        # read here: a child must not share the parent's `git cat-file`
        _ = [template.raw for template in templates]
        _STATE = (templates, prepared, keep_errors)
        try:
            with multiprocessing.get_context('fork').Pool(jobs) as pool:
                rows = [row for part in pool.imap(_work, tasks) for row in part]
        finally:
            _STATE = ((), (), False)
    for template, row in zip(templates, rows, strict=True):
        memo = memo_key(template)
        for p, outcome in zip(prepared, row, strict=True):
            if isinstance(outcome, RenderedFile) and memo is not None:
                p.rendered[memo] = outcome  # a worker's, kept here
    return [[row[e] for row in rows] for e in range(len(prepared))]
