"""`gitops-config action ...`: the steps of the GitHub Action (action.yml runs these).

Everything comes from the environment GitHub sets: GITHUB_EVENT_PATH (the
pull_request event), GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL,
GITHUB_STEP_SUMMARY and GITHUB_OUTPUT.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import click

from gitops_config import constants as C
from gitops_config import impact
from gitops_config import project as project_mod
from gitops_config import revision
from gitops_config import shard as shard_mod
from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.cli.boundary import format_error
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import atomic_write
from gitops_config.git import RefNotFoundError
from gitops_config.github import Client
from gitops_config.github import GitHubError
from gitops_config.report import comment as comment_mod
from gitops_config.report import diff_json
from gitops_config.report import diff_markdown
from gitops_config.report import merge as merge_mod
from gitops_config.source import WorkTree

if TYPE_CHECKING:
    from gitops_config.pipeline.results import Review
    from gitops_config.project import Project
    from gitops_config.source import Source


class ActionError(GitopsConfigError):
    code = 'action'


@click.group('action')
def action() -> None:
    """Steps of the GitHub Action; they read the environment GitHub Actions sets."""


_COMMENT = click.option(
    '--comment',
    'comment',
    type=click.Choice(['always', 'changes', 'never']),
    default=None,
    envvar='GITOPS_CONFIG_COMMENT',
    help='Post the sticky comment always, only when something changed, or never '
    '(default: diff.comment in the project file, else always).',
)
_FAIL_ON_FINDINGS = click.option(
    '--fail-on-findings/--no-fail-on-findings',
    'fail_on_findings',
    default=True,
    envvar='GITOPS_CONFIG_FAIL_ON_FINDINGS',
    show_default=True,
    help='Fail the job on policy or schema errors, or files that do not render.',
)


@action.command('pr')
@_COMMENT
@_FAIL_ON_FINDINGS
def pr(*, comment: str | None, fail_on_findings: bool) -> int:
    """Validate, diff base...head, write the job summary and outputs, upsert the comment."""
    number = int(_pull()['number'])
    with _failure_commented(number, comment):
        review, project = _review()
    return _publish(review, project, number, comment=comment, fail_on_findings=fail_on_findings)


@action.command('run')
@click.pass_context
def run(ctx: click.Context) -> int:
    """What action.yml runs: `shard` when the `shard` input is set, `merge` when the
    `merge` input is, else `pr`."""
    shard_spec = os.environ.get('GITOPS_CONFIG_SHARD', '').strip()
    merge_glob = os.environ.get('GITOPS_CONFIG_MERGE', '').strip()
    # ctx.invoke reads no environment: hand the inputs' variables on ourselves
    publish = {
        'comment': os.environ.get('GITOPS_CONFIG_COMMENT') or None,
        'fail_on_findings': os.environ.get('GITOPS_CONFIG_FAIL_ON_FINDINGS', 'true').strip().lower()
        not in ('false', '0', 'no', 'off'),
    }
    if shard_spec and merge_glob:
        raise ActionError('set either the shard input or the merge input, not both')
    if shard_spec:
        output = Path(os.environ.get('GITOPS_CONFIG_REPORT') or 'gitops-config-shard.json')
        options.run().shard = shard_mod.parse(shard_spec)  # as --shard would
        return int(ctx.invoke(shard, output=output))
    if merge_glob:
        files = sorted(p for pattern in merge_glob.split() for p in Path.cwd().glob(pattern))
        if not files:
            raise ActionError(
                f'no shard reports match {merge_glob!r}',
                hint="download every shard job's artifact before merging",
            )
        return int(ctx.invoke(merge, files=tuple(files), **publish))
    return int(ctx.invoke(pr, **publish))


@action.command('shard')
@options.shard
@click.option(
    '--output',
    '-o',
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write this shard's JSON report.",
)
def shard(*, output: Path) -> int:
    """One job of a sharded run: review this shard's share of base...head and write it
    as JSON, for the final job's `action merge`."""
    share = options.run().shard
    if share is None:
        raise ActionError('action shard needs --shard I/N')
    review, _ = _review()
    atomic_write(output, diff_json.dumps(review, shard=share).encode())
    click.echo(f'shard {share}: wrote {output}', err=True)
    return exit_codes.OK


def _review() -> tuple[Review, Project]:
    """The pull request's base...head, validated and diffed (a sharded run's share of
    it)."""
    # lazy: CEL, jinja2 and jsonschema-rs load only when _review() runs (start-up)
    from gitops_config.pipeline.review import review

    pull = _pull()
    root = revision.find_root(Path.cwd())
    base, head = _sources(root, str(pull['base']['sha']), str(pull['head']['sha']))
    found = review(base, head, validate=True, run=options.run())
    return found, project_mod.load(head, root)


@action.command('merge')
@click.argument('files', nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_COMMENT
@_FAIL_ON_FINDINGS
def merge(*, files: tuple[Path, ...], comment: str | None, fail_on_findings: bool) -> int:
    """The last job of a sharded run: merge the shards' `diff --validate -f json --shard
    I/N` reports, then write the job summary and outputs and upsert the comment, as
    `action pr` does for one job."""
    number = int(_pull()['number'])
    with _failure_commented(number, comment):
        merged = merge_mod.merge(merge_mod.load(files))
        if merged.kind != 'diff':
            raise ActionError(
                'action merge takes the JSON of `diff --validate -f json --shard I/N`'
            )
        project = project_mod.open_project(Path.cwd())[1]
    return _publish(
        merge_mod.review_from_data(merged.data),
        project,
        number,
        comment=comment,
        fail_on_findings=fail_on_findings,
    )


@contextlib.contextmanager
def _failure_commented(number: int, comment: str | None) -> Iterator[None]:
    """Run the review; if it cannot be done at all, the sticky comment says so (an
    earlier run's comment, green perhaps, must not stay as if it were this run's)."""
    try:
        yield
    except Exception as exc:
        if (comment or _configured_comment()) != 'never':
            # an unexpected error's text could hold anything: only its type is posted
            shown = (
                format_error(exc)
                if isinstance(exc, GitopsConfigError)
                else f'error: internal-error: {type(exc).__name__} (a bug: see the job log)'
            )
            # a fence longer than any run of backticks in the text: it cannot close early
            fence = '`' * max(3, 1 + max(map(len, re.findall('`+', shown)), default=0))
            _post(
                number,
                f'{C.STICKY_COMMENT_MARKER}\n### gitops-config could not review '
                f'this pull request\n\n{fence}text\n{shown}\n{fence}\n\n'
                'Nothing was diffed or validated; fix this and push again.\n',
            )
        raise


def _configured_comment() -> str | None:
    """diff.comment of the checkout's project file, if it can be read."""
    try:
        return (project_mod.open_project(Path.cwd())[1].raw.get('diff') or {}).get('comment')
    except GitopsConfigError:
        return None


def _publish(
    review: Review, project: Project, number: int, *, comment: str | None, fail_on_findings: bool
) -> int:
    """Job summary, outputs, the sticky comment and the exit code for REVIEW."""
    errors = impact.error_findings(review)

    full = diff_markdown.render(review)
    _append_summary(full)
    changed_envs = [e.env for e in review.envs if e.changed]
    _set_outputs(
        {
            'changed': 'true' if review.changed else 'false',
            'environments': json.dumps(changed_envs),
            'findings': str(errors),
        }
    )

    mode = comment or (project.raw.get('diff') or {}).get('comment') or 'always'
    body = comment_mod.build(review, report_url=_run_url())
    if mode == 'always' or (mode == 'changes' and (review.changed or review.errors or errors)):
        _post(number, body)
    elif mode == 'changes':
        # an earlier run's comment would now be stale: say "no changes" there
        _post(number, body, create=False)
        click.echo('no changes: no new comment (comment: changes)', err=True)
    click.echo(
        f'{"changed" if review.changed else "no changes"}: '
        f'{", ".join(changed_envs) or "none"}; {errors} finding(s)',
        err=True,
    )
    if fail_on_findings and (errors or review.errors):
        click.echo(
            '::error::gitops-config found policy or schema errors, or files that do '
            'not render; see the job summary',
            err=True,
        )
        return exit_codes.FINDINGS
    return exit_codes.OK


def _pull() -> dict[str, Any]:
    pull = _event().get('pull_request')
    if not isinstance(pull, dict):
        raise ActionError(
            'this step needs a pull_request event', hint='run the action `on: pull_request`'
        )
    return pull


def _event() -> dict[str, Any]:
    path = os.environ.get('GITHUB_EVENT_PATH')
    if not path:
        raise ActionError('GITHUB_EVENT_PATH is not set', hint='run inside GitHub Actions')
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ActionError(f'cannot read the event file {path}: {exc}') from None
    if not isinstance(data, dict):
        raise ActionError(f'{path}: not a JSON object')
    return data


def _sources(root: Path, base_sha: str, head_sha: str) -> tuple[Source, Source]:
    """base...head: the merge-base of the two, and the head commit (or the checkout)."""
    found = revision.located_at(root)
    repo = found.repo
    try:
        base = repo.resolve(base_sha)
    except RefNotFoundError:
        raise ActionError(
            f'the base commit {base_sha[:12]} of this pull request is not in the clone '
            '(a shallow checkout?)',
            hint='set `fetch-depth: 0` on actions/checkout so the base commit is fetched',
        ) from None
    try:
        head = repo.resolve(head_sha)
    except RefNotFoundError:
        return found.commit(base), WorkTree(root)  # the checkout is the head
    return found.commit(repo.merge_base(base, head) or base), found.commit(head)


def _append_summary(markdown: str) -> None:
    path = os.environ.get('GITHUB_STEP_SUMMARY')
    if not path:
        return
    data = markdown.encode()
    limit = C.GITHUB_STEP_SUMMARY_LIMIT - 1024  # room for other steps' lines
    if len(data) > limit:
        note = "\n\n_…the report was cut at the job summary's 1 MiB limit._\n".encode()
        data = data[: limit - len(note)].decode(errors='ignore').encode() + note
    with open(path, 'ab') as f:
        f.write(data + b'\n')


def _set_outputs(values: dict[str, str]) -> None:
    path = os.environ.get('GITHUB_OUTPUT')
    if not path:
        return
    with open(path, 'a', encoding='utf-8') as f:
        for name, value in values.items():
            f.write(f'{name}={value}\n')


def _run_url() -> str | None:
    server = os.environ.get('GITHUB_SERVER_URL', 'https://github.com')
    repo = os.environ.get('GITHUB_REPOSITORY')
    run = os.environ.get('GITHUB_RUN_ID')
    return f'{server}/{repo}/actions/runs/{run}' if repo and run else None


def _post(number: int, body: str, *, create: bool = True) -> None:
    try:
        client = Client.from_env()
        if create:
            client.upsert_sticky_comment(number, body, marker=C.STICKY_COMMENT_MARKER)
        else:
            client.update_sticky_comment(number, body, marker=C.STICKY_COMMENT_MARKER)
    except GitHubError as exc:
        if '403' in exc.message:
            # A fork's token is read-only: the job summary still has the report.
            click.echo(f'::warning::cannot comment: {exc.message}', err=True)
            return
        raise
