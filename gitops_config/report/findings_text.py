"""Findings for a terminal: grouped by file, coloured by severity, origin underneath."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING
from typing import TextIO

from gitops_config.model import Severity

if TYPE_CHECKING:
    from gitops_config.pipeline.results import CheckResult

_CODES = {'red': 31, 'yellow': 33, 'grey': 90, 'green': 32, 'bold': 1}


def _style(text: str, fg: str, use: bool) -> str:
    return f'\033[{_CODES[fg]}m{text}\033[0m' if use else text


def _plural(n: int, word: str) -> str:
    return f'{n} {word}' + ('' if n == 1 else 's')


def write(result: CheckResult, stream: TextIO, *, use_color: bool = False) -> None:
    for path, group in itertools.groupby(result.findings, key=lambda f: f.location.path):
        stream.write(_style(path, 'bold', use_color) + '\n')
        for f in group:
            # The full file:line:col on every row: terminals and editors make it a link.
            where = str(f.location)
            colour = {Severity.ERROR: 'red', Severity.WARNING: 'yellow'}.get(f.severity, 'grey')
            env = f' ({f.env})' if f.env else ''
            stream.write(f'  {where}  {_style(f"{f.severity.value:<7}", colour, use_color)} '
                         f'{f.message}{env}  {_style(f.rule, "grey", use_color)}\n')
            if f.origin is not None and f.origin != f.location:
                stream.write(_style(f'    ↳ edit {f.origin}', 'grey', use_color) + '\n')
            if f.hint:
                stream.write(_style(f'    hint: {f.hint}', 'grey', use_color) + '\n')
    summary = (f'{_plural(result.errors, "error")}, {_plural(result.warnings, "warning")} in '
               f'{_plural(len(result.checked), "file")}')
    if result.skipped:
        summary += f', {result.skipped} not checked'
    if result.waived:
        summary += f' ({len(result.waived)} waived)'
    mark = _style('✗', 'red', use_color) if result.failed else _style('✓', 'green', use_color)
    stream.write(f'{mark} {summary}\n')
