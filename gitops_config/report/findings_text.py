"""Findings for a terminal: grouped by file, coloured by severity, origin underneath."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING
from typing import TextIO

from gitops_config.model import Severity
from gitops_config.report.ansi import style

if TYPE_CHECKING:
    from gitops_config.pipeline.results import CheckResult


def _plural(n: int, word: str) -> str:
    return f'{n} {word}' + ('' if n == 1 else 's')


def write(result: CheckResult, stream: TextIO, *, use_color: bool = False) -> None:
    for path, group in itertools.groupby(result.findings, key=lambda f: f.location.path):
        stream.write(style(path, fg=None, use=use_color, bold=True) + '\n')
        for f in group:
            # The full file:line:col on every row: terminals and editors make it a link.
            where = str(f.location)
            colour = {Severity.ERROR: 'red', Severity.WARNING: 'yellow'}.get(f.severity, 'grey')
            env = f' ({f.env})' if f.env else ''
            stream.write(
                f'  {where}  {style(f"{f.severity.value:<7}", fg=colour, use=use_color)} '
                f'{f.message}{env}  {style(f.rule, fg="grey", use=use_color)}\n'
            )
            if f.origin is not None and f.origin != f.location:
                stream.write(style(f'    ↳ edit {f.origin}', fg='grey', use=use_color) + '\n')
            if f.hint:
                stream.write(style(f'    hint: {f.hint}', fg='grey', use=use_color) + '\n')
    summary = (
        f'{_plural(result.errors, "error")}, {_plural(result.warnings, "warning")} in '
        f'{_plural(len(result.checked), "file")}'
    )
    if result.skipped:
        summary += f', {result.skipped} not checked'
    if result.waived:
        summary += f' ({len(result.waived)} waived)'
    mark = (
        style('✗', fg='red', use=use_color)
        if result.failed
        else style('✓', fg='green', use=use_color)
    )
    stream.write(f'{mark} {summary}\n')
