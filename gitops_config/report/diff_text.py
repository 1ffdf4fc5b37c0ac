"""The diff for a terminal: one block per environment and file, coloured like dyff."""

from __future__ import annotations

import difflib
from typing import TextIO

from gitops_config.impact import shared_inputs
from gitops_config.impact import summarize
from gitops_config.masking import mask_change
from gitops_config.masking import show
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.pipeline.results import Review
from gitops_config.report.ansi import style
from gitops_config.report.masked_review import mask_review

MARKS = {
    ChangeKind.ADDED: ('+', 'green'),
    ChangeKind.REMOVED: ('-', 'red'),
    ChangeKind.CHANGED: ('~', 'yellow'),
    ChangeKind.MOVED: ('↕', 'cyan'),
    ChangeKind.RENAMED: ('→', 'magenta'),
    ChangeKind.RESEALED: ('?', 'grey'),
}


def describe(change: Change, *, limit: int | None = None) -> str:
    """What happened at the change's path, in words and values."""
    change = mask_change(change)
    where = change.path or '(whole document)'
    if not change.path and change.old is None and change.new is None:
        text = where  # a text file: how much changed is in the detail, never what
    elif change.kind is ChangeKind.CHANGED:
        text = f'{where}: {show(change.old, limit=limit)} → {show(change.new, limit=limit)}'
    elif change.kind is ChangeKind.ADDED:
        text = f'{where}: {show(change.new, limit=limit)}'
    elif change.kind is ChangeKind.REMOVED:
        text = f'{where}: {show(change.old, limit=limit)}'
    elif change.kind is ChangeKind.RENAMED:
        text = f'{where}: renamed to {show(change.new, limit=limit)}'
    else:
        text = where
    if change.detail and change.kind is not ChangeKind.RENAMED:
        text += f'  ({change.detail})'
    return text


def _multiline(change: Change) -> bool:
    return (
        change.kind is ChangeKind.CHANGED
        and isinstance(change.old, str)
        and isinstance(change.new, str)
        and ('\n' in change.old or '\n' in change.new)
    )


def _lines(old: str, new: str, use_color: bool) -> str:
    out = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm='', n=1):
        if line.startswith(('---', '+++')):
            continue
        colour = {'+': 'green', '-': 'red', '@': 'grey'}.get(line[:1])
        out.append('        ' + (style(line, fg=colour, use=use_color) if colour else line))
    return '\n'.join(out) + '\n'


def write(review: Review, stream: TextIO, *, use_color: bool) -> None:
    review = mask_review(review)
    stream.write(
        style(f'{review.base} → {review.head}', fg='blue', use=use_color, bold=True) + '\n'
    )
    if review.sealed:
        sealed = ', '.join(e.env for e in review.envs if e.sealed and not e.skipped)
        stream.write(
            f'secrets of {sealed}: sealed (no key); a re-encrypted value is not compared\n'
        )
    for env in review.envs:
        impact = summarize(env)
        head = f'{env.env}: {impact.status}'
        if impact.keys:
            head += f', {impact.keys} key(s) in {impact.files} file(s)'
        if impact.secrets:
            head += f', {impact.secrets} secret(s)'
        if impact.findings:
            head += f', {impact.findings} finding(s)'
        stream.write('\n' + style(head, fg='blue', use=use_color, bold=True) + '\n')
        if impact.causes:
            stream.write(f'  inputs: {", ".join(impact.causes)}\n')
        for error in env.errors:
            stream.write(style(f'  error: {error}', fg='red', use=use_color) + '\n')
        last: tuple[str, str | None] | None = None
        for change in env.changes:
            if (change.file, change.document) != last:
                last = (change.file, change.document)
                label = change.file + (f'  {change.document}' if change.document else '')
                stream.write(f'  {style(label, fg="blue", use=use_color)}\n')
            mark, colour = MARKS[change.kind]
            if _multiline(change):
                # a text block (a script, a .env entry): show its lines, like dyff
                stream.write(f'    {style(mark, fg=colour, use=use_color)} {change.path}:\n')
                stream.write(_lines(str(change.old), str(change.new), use_color))
                continue
            stream.write(f'    {style(mark, fg=colour, use=use_color)} {describe(change)}\n')
        for item in env.ignored:
            stream.write(
                style(
                    f'  ignored: {item.change.file} {item.change.path} ({item.rule.reason})',
                    fg='grey',
                    use=use_color,
                )
                + '\n'
            )
        for finding in env.findings:
            stream.write(
                f'  {finding.severity.value}: {finding.location}: {finding.message} '
                f'[{finding.rule}]\n'
            )
    shared = shared_inputs(review)
    if shared:
        stream.write('\nshared inputs changed:\n')
        for path, envs in shared.items():
            stream.write(f'  {path}: {", ".join(envs)}\n')
