"""The diff as GitHub-flavoured Markdown: a summary table, then one section per environment."""

from __future__ import annotations

from typing import TextIO

from gitops_config.impact import shared_inputs
from gitops_config.impact import summarize
from gitops_config.masking import mask_change
from gitops_config.masking import show
from gitops_config.model import Change
from gitops_config.pipeline.results import EnvDiff
from gitops_config.pipeline.results import Review
from gitops_config.report.diff_text import MARKS
from gitops_config.report.markdown_text import code
from gitops_config.report.markdown_text import markup
from gitops_config.report.markdown_text import plain
from gitops_config.report.masked_review import mask_review

VALUE_LIMIT = 120  # characters of one value in a table cell
_STATUS = {
    'changed': '🟡 changed',
    'unchanged': '⚪ unchanged',
    'skipped': '⚪ unchanged',
    'error': '🔴 error',
}


def cell(text: str) -> str:
    """TEXT as a table cell's code span, shown as written whatever it holds."""
    return code(text, in_table=True)


def title(review: Review) -> str:
    return f'### gitops-config diff: {code(review.base)} → {code(review.head)}\n'


FAILURES_SHOWN = 20  # lines of the failure block; each environment's section has them all


def failures(review: Review) -> str:
    """What could not be rendered or read, on either side: shown before anything else,
    since every other part of the report is incomplete for those environments."""
    failed = [(env.env, error) for env in review.envs for error in env.errors]
    if not failed:
        return ''
    envs = len({env for env, _ in failed})
    lines = [
        f'> 🔴 **{envs} environment(s) could not be rendered or read**; their diff '
        'below is incomplete:',
        '>',
    ]
    lines += [f'> - **{env}**: {cell(error)}' for env, error in failed[:FAILURES_SHOWN]]
    if len(failed) > FAILURES_SHOWN:
        lines.append(f'> - …and {len(failed) - FAILURES_SHOWN} more, listed under each environment')
    return '\n'.join(lines) + '\n\n'


def summary_table(review: Review) -> str:
    lines = [
        '| Environment | Status | Files | Keys | Secrets | Findings | Caused by |',
        '|---|---|---:|---:|---:|---:|---|',
    ]
    for env in review.envs:
        i = summarize(env)
        causes = ', '.join(f'{c.kind} {cell(c.path)}' for c in env.causes) or '—'
        secrets = str(i.secrets) + (f' (+{i.resealed} re-encrypted)' if i.resealed else '')
        lines.append(
            f'| **{plain(env.env)}** | {_STATUS[i.status]} | {i.files} | {i.keys} | '
            f'{secrets} | {i.findings} | {causes} |'
        )
    out = '\n'.join(lines) + '\n'
    shared = shared_inputs(review)
    if shared:
        out += (
            '\nShared inputs changed: '
            + '; '.join(f'{code(p)} → {plain(", ".join(envs))}' for p, envs in shared.items())
            + '\n'
        )
    if review.sealed:
        sealed = plain(', '.join(e.env for e in review.envs if e.sealed and not e.skipped))
        out += (
            f'\n> Secrets of {sealed} were compared sealed (no decryption key): a '
            're-encrypted secret is listed as such, not as a change.\n'
        )
    return out


def change_row(change: Change) -> str:
    change = mask_change(change)
    mark = MARKS[change.kind][0]
    where = change.file + (f' ({change.document})' if change.document else '')
    old = show(change.old, limit=VALUE_LIMIT) if change.old is not None else ''
    new = show(change.new, limit=VALUE_LIMIT) if change.new is not None else ''
    detail = f' — {plain(change.detail)}' if change.detail else ''
    return (
        f'| {cell(where)} | {cell(change.path or "(document)")} | {mark} '
        f'{change.kind.value}{detail} | {cell(old)} | {cell(new)} |'
    )


def env_section(env: EnvDiff, *, max_rows: int | None = None) -> str:
    """One collapsible section; MAX_ROWS cuts the change table (with a note)."""
    i = summarize(env)
    lines = [
        f'<details><summary><b>{markup(env.env)}</b>: {i.keys} key(s) in {i.files} file(s)'
        f'{f", {i.secrets} secret(s)" if i.secrets else ""}</summary>',
        '',
    ]
    for error in env.errors:
        lines.append(f'- 🔴 {code(error)}')
    for finding in env.findings:
        lines.append(
            f'- {finding.severity.value}: {code(str(finding.location))} '
            f'{plain(finding.message)} ({plain(finding.rule)})'
        )
    if env.errors or env.findings:
        lines.append('')
    rows = env.changes if max_rows is None else env.changes[:max_rows]
    if rows:
        lines += ['| File | Key | Change | Old | New |', '|---|---|---|---|---|']
        lines += [change_row(c) for c in rows]
    if len(rows) < len(env.changes):
        lines.append(f'\n_{len(env.changes) - len(rows)} more change(s) not shown._')
    if env.ignored:
        lines.append('')
        reasons = '; '.join(sorted({i.rule.reason for i in env.ignored}))
        lines.append(f'Ignored by rules: {len(env.ignored)} ({plain(reasons)})')
    lines += ['', '</details>', '']
    return '\n'.join(lines)


def render(review: Review) -> str:
    review = mask_review(review)
    parts = [title(review), failures(review), summary_table(review)]
    if not review.changed and not review.errors:
        parts.append('\nNo changes to the rendered configuration.\n')
    parts += ['\n' + env_section(e) for e in review.envs if e.changes or e.errors or e.findings]
    return ''.join(parts)


def write(review: Review, stream: TextIO, *, use_color: bool = False) -> None:
    stream.write(render(review))
