"""The sticky PR comment: summary first, one <details> per environment, size-bounded.

GitHub refuses a comment over 65,536 characters. When the full comment is
too long, the least important parts go first: change rows of environments
without errors or findings, earliest in promotion order first (dev before
prod), each halved until it fits; a note says what was cut and where the
full report is.
"""

from __future__ import annotations

from gitops_config import constants as C
from gitops_config.pipeline.results import EnvDiff
from gitops_config.pipeline.results import Review
from gitops_config.report import diff_markdown
from gitops_config.report.markdown_text import plain
from gitops_config.report.masked_review import mask_review


def _importance(index: int, env: EnvDiff) -> tuple[int, int]:
    # errors and findings matter most; later environments (prod) more than earlier
    return (1 if env.errors or env.findings else 0, index)


def _compose(review: Review, rows: dict[str, int | None], note: str, marker: str) -> str:
    parts = [
        marker,
        '\n',
        diff_markdown.title(review),
        '\n',
        diff_markdown.failures(review),
        diff_markdown.summary_table(review),
    ]
    if note:
        parts.append(f'\n> ✂️ {note}\n')
    if not review.changed and not review.errors:
        parts.append('\nNo changes to the rendered configuration.\n')
    for env in review.envs:
        if env.changes or env.errors or env.findings:
            parts.append('\n' + diff_markdown.env_section(env, max_rows=rows[env.env]))
    return ''.join(parts)


def build(
    review: Review,
    *,
    limit: int = C.GITHUB_COMMENT_LIMIT,
    report_url: str | None = None,
    marker: str = C.STICKY_COMMENT_MARKER,
) -> str:
    """The comment body, at most LIMIT characters, starting with the hidden MARKER."""
    review = mask_review(review)
    rows: dict[str, int | None] = {e.env: None for e in review.envs}
    body = _compose(review, rows, '', marker)
    if len(body) <= limit:
        return body
    order = [
        e
        for _, e in sorted(
            ((_importance(i, e), e) for i, e in enumerate(review.envs)), key=lambda pair: pair[0]
        )
    ]
    where = (
        f' The full report is in the job summary: {report_url}'
        if report_url
        else (' The full report is in the job summary of this run.')
    )
    for env in order:
        shown = len(env.changes)
        while shown > 0:
            shown //= 2
            rows[env.env] = shown
            note = _note(review, rows) + where
            body = _compose(review, rows, note, marker)
            if len(body) <= limit:
                return body
    # Still too long (thousands of errors?): cut the tail, keep the marker and summary.
    note = _note(review, rows, tail=True) + where
    body = _compose(review, rows, note, marker)
    tail = '\n\n_…cut to fit the comment limit._\n'
    # at the end of a line: every code span ends on its line, and one cut open would
    # let what follows its fence (`<img>`, `</details>` from the PR) render as markup
    return body[: body.rindex('\n', 0, limit - len(tail))] + tail


def _note(review: Review, rows: dict[str, int | None], *, tail: bool = False) -> str:
    cut = [
        (e.env, len(e.changes) - (rows[e.env] or 0))
        for e in review.envs
        if rows[e.env] is not None and len(e.changes) > (rows[e.env] or 0)
    ]
    listed = [f'{n} change row(s) of {plain(env)}' for env, n in cut]
    if tail:
        listed.append('the lines after the last one shown')
    return (
        f"Trimmed to fit GitHub's {C.GITHUB_COMMENT_LIMIT:,}-character comment limit: "
        f'cut {", ".join(listed)}.'
    )
