"""`gitops-config diff`: the semantic diff of two revisions' rendered configuration."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.pipeline.results import Review
from gitops_config.report import diff_json
from gitops_config.report import diff_markdown
from gitops_config.report import diff_text
from gitops_config.revision import open_pair

if TYPE_CHECKING:
    from gitops_config.shard import Shard


@click.command('diff')
@click.argument('base', required=False)
@click.argument('head', required=False)
@options.environments
@options.output_format('text', 'json', 'markdown')
@click.option(
    '--exit-code',
    'exit_code',
    is_flag=True,
    help='Exit 1 when something changed too (like git diff --exit-code); an '
    'environment that cannot be rendered always exits 1.',
)
@click.option(
    '--sealed',
    is_flag=True,
    help='Compare secrets by ciphertext only, even when keys are available.',
)
@click.option(
    '--validate',
    is_flag=True,
    help='Also count schema and policy findings at HEAD in the impact summary '
    '(change rules compare HEAD with BASE).',
)
@options.jobs
@options.shard
def diff(
    *,
    base: str | None,
    head: str | None,
    envs: tuple[str, ...],
    output_format: str,
    exit_code: bool,
    sealed: bool,
    validate: bool,
) -> int:
    """Diff the rendered result of BASE and HEAD, per environment and file.

    BASE defaults to the merge-base with the default branch, HEAD to the
    working tree. Both are read from git objects; nothing is checked out.
    Secrets are never shown: a changed secret shows a keyed fingerprint.
    """
    # lazy: CEL, jinja2 and jsonschema-rs load only when diff() runs (start-up)
    from gitops_config.pipeline.review import review as reviewed

    run = options.run()
    old, new = open_pair(Path.cwd(), base, head)
    review = reviewed(
        old,
        new,
        envs=list(envs) or None,
        sealed=sealed,
        validate=validate,
        run=run,
    )
    write(review, output_format, use_color=options.app().color, shard=run.shard)
    for env in review.envs:
        for error in env.errors:
            click.echo(f'error: {env.env}: {error}', err=True)
    # An environment that could not be rendered or read, on either side, is never
    # "no difference": the diff fails whatever --exit-code says.
    if review.errors or (exit_code and review.changed):
        return exit_codes.FINDINGS
    return exit_codes.OK


def write(
    review: object,
    output_format: str,
    *,
    use_color: bool,
    shard: Shard | None = None,
) -> None:
    assert isinstance(review, Review)
    if output_format == 'json':
        # with --shard, `report merge` combines the shards: it needs to know which this is
        sys.stdout.write(diff_json.dumps(review, shard=shard))
        return
    writers: dict[str, Callable[..., None]] = {
        'text': diff_text.write,
        'markdown': diff_markdown.write,
    }
    writers[output_format](review, sys.stdout, use_color=use_color)
