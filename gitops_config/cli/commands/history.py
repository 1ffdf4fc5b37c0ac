"""`gitops-config history ENV KEYPATH`: config blame for one key."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.masking import show
from gitops_config.pipeline.fingerprint_key import fingerprint_key
from gitops_config.report.diff_json import change_value
from gitops_config.revision import locate


@click.command('history')
@click.argument('env')
@click.argument('key')
@click.option(
    '--file',
    'file',
    metavar='FILE',
    default=None,
    help='Read KEY in this rendered file (relative to the output folder) instead '
    'of the merged values; a multi-document file is a list ([0].a.b).',
)
@click.option(
    '--rev',
    'rev',
    default='HEAD',
    show_default=True,
    metavar='REV',
    help='Walk the history reachable from this revision.',
)
@click.option(
    '-n', '--max-count', 'limit', type=int, default=None, help='Look at most at this many commits.'
)
@options.output_format('text', 'json')
def history(
    *, env: str, key: str, file: str | None, rev: str, limit: int | None, output_format: str
) -> int:
    """Each commit that changed the value of KEY in ENV: commit, author, date, old -> new.

    Secrets are masked; with keys, a keyed fingerprint tells equal values apart.
    """
    # lazy: jinja2 loads only when history() runs (start-up)
    from gitops_config import history as history_mod

    root = locate(Path.cwd()).root  # a bare clone too: history reads commits only
    entries = history_mod.history(
        root,
        env,
        key,
        rev=rev,
        file=file,
        limit=limit,
        fingerprint_key=fingerprint_key(options.run()),
        run=options.run(),
    )
    if output_format == 'json':
        data = [
            {
                'commit': e.commit.sha,
                'author': e.commit.author,
                'date': e.commit.date,
                'subject': e.commit.subject,
                'kind': e.kind.value,
                'old': change_value(e.old),
                'new': change_value(e.new),
                'secret': e.secret,
            }
            for e in entries
        ]
        click.echo(
            json.dumps(
                {'env': env, 'key': key, 'file': file, 'entries': data},
                indent=2,
                sort_keys=True,
                ensure_ascii=False,
            )
        )
        return exit_codes.OK
    if not entries:
        click.echo(f'{env}: {key} was never set in the history of {rev}', err=True)
    for e in entries:
        old = '(unset)' if e.old is None else show(e.old)
        new = '(unset)' if e.new is None else show(e.new)
        click.echo(
            f'{e.commit.sha[:12]} {e.commit.date} {e.commit.author}\n'
            f'    {old} -> {new}  ({e.kind.value})  {e.commit.subject}'
        )
    return exit_codes.OK
