"""`gitops-config drift ENV` and `gitops-config mark-deployed ENV [REV]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.masking import show
from gitops_config.pipeline.fingerprint_key import fingerprint_key
from gitops_config.project import open_project
from gitops_config.report.diff_json import change_dict
from gitops_config.report.diff_markdown import cell
from gitops_config.report.diff_text import MARKS
from gitops_config.report.diff_text import describe
from gitops_config.revision import locate

if TYPE_CHECKING:
    from gitops_config.drift import DriftReport
    from gitops_config.ignore import Ignored


@click.command('drift')
@click.argument('env')
@click.option(
    '--live',
    'live_path',
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help='The live state: a folder or a file (YAML or JSON).',
)
@click.option(
    '--live-cmd',
    'live_cmd',
    default=None,
    metavar='CMD',
    help='A command printing the live state as YAML or JSON '
    '(e.g. "kubectl get configmap app -o yaml"); run without a shell.',
)
@click.option(
    '--as',
    'as_file',
    default=None,
    metavar='FILE',
    help='The rendered file a live file or command output stands for, e.g. '
    'litellm/config.yaml (by default: the rendered file its path ends with).',
)
@click.option(
    '--ref',
    'ref',
    default=None,
    metavar='REV',
    help='Render the desired state at REV (default: the deployed/ENV tag, else HEAD).',
)
@options.output_format('text', 'json', 'markdown')
def drift(
    *,
    env: str,
    live_path: Path | None,
    live_cmd: str | None,
    as_file: str | None,
    ref: str | None,
    output_format: str,
) -> int:
    """Compare ENV's desired state with the live state; exit 1 on drift.

    Each drifted key shows the desired and live values (secrets masked) and
    the commit that last set the desired value.

    \b
    Examples:
      gitops-config drift dev --live out/dev
      gitops-config drift prod --live-cmd 'kubectl get deploy,cm,secret -n llm -o yaml'
    """
    # lazy: jinja2 loads only when drift() runs (start-up)
    from gitops_config import drift as drift_mod

    if (live_path is None) == (live_cmd is None):
        raise click.UsageError('give exactly one of --live PATH and --live-cmd CMD')
    live = (
        drift_mod.read_live_path(live_path, as_file=as_file)
        if live_path is not None
        else drift_mod.read_live_command(live_cmd or '', name=as_file)
    )
    root = locate(Path.cwd()).root  # a bare clone too: the desired state is a commit
    report = drift_mod.run(
        root, env, live, ref=ref, fingerprint_key=fingerprint_key(options.run()), run=options.run()
    )
    click.echo(
        {'text': _text, 'json': _json, 'markdown': _markdown}[output_format](report), nl=False
    )
    return exit_codes.FINDINGS if report.drifted else exit_codes.OK


def _text(report: DriftReport) -> str:
    lines = [
        f'{report.env}: desired at {report.ref[:12]} vs live {report.live}: '
        f'{"drift" if report.drifted else "no drift"}'
    ]
    for c in report.changes:
        where = c.file + (f' {c.document}' if c.document else '')
        blame = report.last_set.get((c.file, c.path))
        # a whole file or document with nothing to show: say what happened to it
        what = c.detail if c.old is None and c.new is None and c.detail else describe(c)
        lines.append(
            f'  {MARKS[c.kind][0]} {where}: {what}'
            + (f'  [desired value set in {blame[:12]}]' if blame else '')
        )
    for item in report.ignored:
        lines.append(f'  ignored: {item.change.file} {item.change.path} ({item.rule.reason})')
    return '\n'.join(lines + _notes(report)) + '\n'


def _notes(report: DriftReport) -> list[str]:
    """What was not compared, and why: never drift, always said."""
    lines = []
    if report.server:
        lines.append(
            f'  {len(report.server)} field(s) only the API server sets or '
            'defaults were not compared'
        )
    if report.not_compared:
        lines.append(f'  {report.not_compared} secret(s) not compared (no key)')
    for name in report.absent:
        lines.append(f'  not in the live state (not compared): {name}')
    for name in report.unknown:
        lines.append(f'  not in the desired state (not compared): {name}')
    return lines


def _json(report: DriftReport) -> str:
    def ignored(items: list[Ignored]) -> list[dict[str, object]]:
        return [
            {
                'file': i.change.file,
                'document': i.change.document,
                'path': i.change.path,
                'reason': i.rule.reason,
            }
            for i in items
        ]

    data = {
        'env': report.env,
        'ref': report.ref,
        'live': report.live,
        'status': 'drift' if report.drifted else 'ok',
        'changes': [
            {
                **change_dict(c),
                'desired': change_dict(c)['old'],
                'live': change_dict(c)['new'],
                'last_set': report.last_set.get((c.file, c.path)),
            }
            for c in report.changes
        ],
        'ignored': ignored(report.ignored),
        'server_fields': ignored(report.server),
        'not_compared': report.not_compared,
        'absent': report.absent,
        'unknown': report.unknown,
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + '\n'


def _markdown(report: DriftReport) -> str:
    state = '🔴 drift' if report.drifted else '🟢 no drift'
    lines = [
        f'### {report.env}: {state}',
        '',
        f'Desired at `{report.ref[:12]}`, live from {cell(report.live.strip("`"))}.',
        '',
    ]
    if report.changes:
        lines += ['| File | Key | Desired | Live | Last set in |', '|---|---|---|---|---|']
        for c in report.changes:
            blame = report.last_set.get((c.file, c.path))
            lines.append(
                f'| {cell(c.file)} | {cell(c.path or "(document)")} | '
                f'{cell(show(c.old, limit=120) if c.old is not None else "(absent)")} | '
                f'{cell(show(c.new, limit=120) if c.new is not None else "(absent)")} | '
                f'{cell(blame[:12]) if blame else ""} |'
            )
        lines.append('')
    notes = [line.strip() for line in _notes(report)]
    notes += [
        f'ignored: {cell(i.change.file)} {cell(i.change.path)} ({i.rule.reason})'
        for i in report.ignored
    ]
    lines += [f'- {note}' for note in notes]
    return '\n'.join(lines) + '\n'


@click.command('mark-deployed')
@click.argument('env')
@click.argument('rev', default='HEAD')
def mark_deployed(*, env: str, rev: str) -> int:
    """Record REV (default HEAD) as deployed to ENV: the tag deployed/ENV."""
    # lazy: jinja2 loads only when mark_deployed() runs (start-up)
    from gitops_config import drift as drift_mod

    _, project = open_project(Path.cwd())
    root = project.root
    project.env(env)
    sha = drift_mod.mark_deployed(root, env, rev)
    click.echo(f'deployed/{env} -> {sha[:12]}')
    return exit_codes.OK
