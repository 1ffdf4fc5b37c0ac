"""`gitops-config diff`: the semantic diff of two revisions' rendered configuration."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from gitops_config.cli import exit_codes, options


@click.command('diff')
@click.argument('base', required=False)
@click.argument('head', required=False)
@options.environments
@options.output_format('text', 'json', 'markdown')
@click.option('--exit-code', 'exit_code', is_flag=True,
              help='Exit 1 when something changed (like git diff --exit-code).')
@click.option('--sealed', is_flag=True,
              help='Compare secrets by ciphertext only, even when keys are available.')
def diff(*, base: str | None, head: str | None, envs: tuple[str, ...], output_format: str,
         exit_code: bool, sealed: bool) -> int:
    """Diff the rendered result of BASE and HEAD, per environment and file.

    BASE defaults to the merge-base with the default branch, HEAD to the
    working tree. Both are read from git objects; nothing is checked out.
    Secrets are never shown: a changed secret shows a keyed fingerprint.
    """
    from gitops_config import compare

    old, new = compare.open_revisions(Path.cwd(), base, head)
    review = compare.compare(old, new, envs=list(envs) or None, sealed=True if sealed else None,
                             key=compare.fingerprint_key())
    write(review, output_format, use_color=options.app().color)
    for env in review.envs:
        for error in env.errors:
            click.echo(f'warning: {env.env}: {error}', err=True)
    if exit_code and (review.changed or review.errors):
        return exit_codes.FINDINGS
    return exit_codes.OK


def write(review: object, output_format: str, *, use_color: bool) -> None:
    from gitops_config.compare import Review
    from gitops_config.report import diff_json, diff_markdown, diff_text

    assert isinstance(review, Review)
    writers: dict[str, Callable[..., None]] = {'text': diff_text.write, 'json': diff_json.write,
              'markdown': diff_markdown.write}
    writers[output_format](review, sys.stdout, use_color=use_color)
