"""`gitops-config report merge`: one report from the JSON of N shard jobs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.cli.commands.diff import write
from gitops_config.report import merge as merge_mod


@click.group('report')
def report() -> None:
    """Work with JSON reports of `diff` and `validate`."""


@report.command('merge')
@click.argument('files', nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@options.output_format('json', 'markdown', 'text', default='json')
@click.option(
    '--exit-code',
    'exit_code',
    is_flag=True,
    help='For diffs: exit 1 when something changed too (a report with errors exits 1 anyway).',
)
def merge(*, files: tuple[Path, ...], output_format: str, exit_code: bool) -> int:
    """Combine the JSON of N shards (`diff -f json --shard I/N`, or `validate -f json
    --shard I/N`) into one report, as if one job had done all the work.

    Every shard 1/N to N/N must be there, all from the same commits.
    """
    merged = merge_mod.merge(merge_mod.load(files))
    data = merged.data
    if merged.kind == 'validate':
        if output_format != 'json':
            raise click.UsageError('validate reports merge to JSON only: use -f json')
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + '\n')
        return exit_codes.FINDINGS if data['status'] == 'fail' else exit_codes.OK
    if output_format == 'json':
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + '\n')
    else:
        write(merge_mod.review_from_data(data), output_format, use_color=options.app().color)
    # an environment that could not be rendered is never "no difference"
    failed = data['status'] == 'error' or (exit_code and data['status'] == 'changed')
    return exit_codes.FINDINGS if failed else exit_codes.OK
