"""GitHub Actions workflow commands: one annotation per finding, grouped by environment."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING
from typing import TextIO

from gitops_config.model import Finding
from gitops_config.model import Severity

if TYPE_CHECKING:
    from gitops_config.pipeline.results import CheckResult


def _data(text: str) -> str:
    return text.replace('%', '%25').replace('\r', '%0D').replace('\n', '%0A')


def _prop(text: str) -> str:
    return _data(text).replace(':', '%3A').replace(',', '%2C')


def annotation(f: Finding) -> str:
    kind = {Severity.ERROR: 'error', Severity.WARNING: 'warning'}.get(f.severity, 'notice')
    props = [f'file={_prop(f.location.path)}']
    if f.location.line:
        props.append(f'line={f.location.line}')
    if f.location.column:
        props.append(f'col={f.location.column}')
    props.append(f'title={_prop(f.rule)}')
    message = f.message
    if f.origin is not None and f.origin != f.location:
        message += f'\n(edit {f.origin})'
    if f.hint:
        message += f'\nhint: {f.hint}'
    return f'::{kind} {",".join(props)}::{_data(message)}'


def write(result: CheckResult, stream: TextIO, *, use_color: bool = False) -> None:
    ordered = sorted(result.findings, key=lambda f: f.env or '')
    for env, group in itertools.groupby(ordered, key=lambda f: f.env or ''):
        stream.write(f'::group::{env or "value layers and project"}\n')
        for f in group:
            stream.write(annotation(f) + '\n')
        stream.write('::endgroup::\n')
    stream.write(
        f'{result.errors} error(s), {result.warnings} warning(s) in {len(result.checked)} file(s)\n'
    )
