"""`gitops-config promote FROM TO` and `gitops-config status`."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config import project as project_mod
from gitops_config import revision
from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.errors import UsageError
from gitops_config.github import Client
from gitops_config.masking import show
from gitops_config.project import open_project
from gitops_config.report import diff_json
from gitops_config.report import diff_markdown
from gitops_config.report import diff_text
from gitops_config.report import findings
from gitops_config.report.diff_json import change_value

if TYPE_CHECKING:
    from gitops_config.git import Repo
    from gitops_config.promote import Plan
    from gitops_config.promote import Published
    from gitops_config.promote import Result
    from gitops_config.source import Source


@click.command('promote')
@click.argument('source_env', metavar='FROM')
@click.argument('target_env', metavar='TO')
@click.option(
    '--dry-run',
    is_flag=True,
    help="Print the plan and TO's rendered diff per file; create nothing.",
)
@options.output_format('text', 'json', 'markdown')
@click.option(
    '--open-pr',
    'open_pr',
    is_flag=True,
    help='Push the branch to origin and open (or update) its pull request; '
    'with nothing left to promote, close it.',
)
@click.option(
    '--base',
    'base_branch',
    default=None,
    metavar='BRANCH',
    help="The pull request's base branch (default: the current branch).",
)
@click.option(
    '--allow-backwards', is_flag=True, help='Allow TO to come before FROM in the promotion order.'
)
def promote(
    *,
    source_env: str,
    target_env: str,
    dry_run: bool,
    output_format: str,
    open_pr: bool,
    base_branch: str | None,
    allow_backwards: bool,
) -> int:
    """Apply FROM's promotable differences to TO's own layer, on branch promote/FROM-to-TO.

    Reads HEAD from git objects and commits with a temporary index: the
    working tree and the index are left alone. The commit holds the value
    edits and, where rendered output is committed, TO's re-rendered files; it
    is validated first (findings: no branch, exit 1). The branch, and with
    --open-pr its pull request, is updated in place on every run.

    \b
    Examples:
      gitops-config promote dev staging --dry-run
      gitops-config promote staging prod --open-pr
    """
    # lazy: CEL, jinja2 and jsonschema-rs load only when promote() runs (start-up)
    from gitops_config import promote as promote_mod

    found = revision.located_at(revision.find_root(Path.cwd()))
    repo = found.repo
    source = found.at('HEAD')
    head = source.commit
    project = project_mod.load(source)
    promote_mod.check_order(project, source_env, target_env, allow_backwards=allow_backwards)
    plan = promote_mod.plan(source, project, source_env, target_env, options.run())
    if plan.empty:
        if output_format == 'text' or not dry_run:
            _echo_plan(plan)
            click.echo(f'nothing to promote from {source_env} to {target_env}')
        else:
            click.echo(_dry_run(plan, None, source, output_format), nl=False)
        if not dry_run:
            _retire(repo, plan, head, open_pr=open_pr)
        return exit_codes.OK
    result = promote_mod.build(source, project, plan, options.run())
    if dry_run:
        click.echo(_dry_run(plan, result, source, output_format), nl=False)
        if result.failed:
            _echo_problems(result)
            return exit_codes.FINDINGS
        return exit_codes.OK
    _echo_plan(plan)
    if result.failed:
        _echo_problems(result)
        click.echo(
            f'not promoted: {target_env} would not pass validation; no branch made', err=True
        )
        return exit_codes.FINDINGS
    published = promote_mod.publish(repo, found.prefix, head, result)
    for path in result.rendered:
        click.echo(f'  re-rendered {path}')
    click.echo(f'{published.state}: branch {published.branch} at {published.sha[:12]}')
    if open_pr:
        promote_mod.push(repo, plan, head, published)
        url = _open_pr(repo, source, plan, result, published, base_branch)
        click.echo(f'pull request: {url}')
    return exit_codes.OK


def _echo_plan(plan: Plan) -> None:
    if plan.edits:
        click.echo(f'promote {plan.source_env} -> {plan.target_env} (into {plan.layer}):')
    for edit in plan.edits:
        click.echo(f'  {edit.key}: {show(edit.old)} -> {show(edit.new)}')
    for skipped in plan.skipped:
        click.echo(f'  skipped {skipped.key}: {skipped.reason}')


def _echo_problems(result: Result) -> None:
    if result.findings.findings:
        findings.write(result.findings, 'text', sys.stderr, use_color=False)
    for stale in result.stale:
        if stale.blocking:
            click.echo(f'{stale.path}: {stale.reason} (committed output would be stale)', err=True)


def _dry_run(plan: Plan, result: Result | None, source: Source, output_format: str) -> str:
    """The plan, and the diff of TO's rendered files it would make, in a diff format."""
    # lazy: jinja2 loads only when _dry_run() runs (start-up)
    from gitops_config.pipeline.comparison import compare

    review = (
        compare(source, result.after, envs=[plan.target_env], run=options.run()) if result else None
    )
    if output_format == 'json':
        data = {
            'plan': _plan_data(plan),
            'valid': not (result and result.failed),
            'rendered': result.rendered if result else [],
            'diff': diff_json.as_data(review) if review else None,
        }
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + '\n'
    if output_format == 'markdown':
        lines = [f'### Promote {plan.source_env} to {plan.target_env}', '']
        lines += [
            f'- `{e.key}`: {diff_markdown.cell(_show(e.old))} → {diff_markdown.cell(_show(e.new))}'
            for e in plan.edits
        ]
        lines += [f'- skipped `{s.key}`: {s.reason}' for s in plan.skipped]
        if plan.edits or plan.skipped:
            lines.append('')
        lines.append(diff_markdown.render(review) if review else 'Nothing to promote.')
        return '\n'.join(lines) + '\n'
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        _echo_plan(plan)
    if review is not None:
        stream.write(f'{plan.target_env} rendered, as promoted:\n')
        diff_text.write(review, stream, use_color=False)
    if result is not None:
        # lazy: CEL, jinja2 and jsonschema-rs load only when _dry_run() runs (start-up)
        from gitops_config import promote as promote_mod

        if result.failed:
            stream.write(
                f'not valid: {result.findings.errors} error(s), '
                f'{sum(s.blocking for s in result.stale)} stale output file(s)\n'
            )
        stream.write(f'dry run: would commit to {promote_mod.branch_name(plan)}\n')
    return stream.getvalue()


def _show(value: object) -> str:
    return show(value)


def _plan_data(plan: Plan) -> dict[str, object]:
    return {
        'from': plan.source_env,
        'to': plan.target_env,
        'layer': plan.layer,
        'edits': [
            {'key': e.key, 'old': change_value(e.old), 'new': change_value(e.new)}
            for e in plan.edits
        ],
        'skipped': [{'key': s.key, 'reason': s.reason} for s in plan.skipped],
    }


def _retire(repo: Repo, plan: Plan, head: str, *, open_pr: bool) -> None:
    """Nothing left to promote: the pair's branch, and with --open-pr its pull request,
    go away."""
    # lazy: CEL, jinja2 and jsonschema-rs load only when _retire() runs (start-up)
    from gitops_config import promote as promote_mod

    gone = promote_mod.retire(repo, plan, head)
    if gone is not None:
        click.echo(f'deleted branch {gone}: nothing left on it to promote')
    if open_pr:
        for number in promote_mod.close_pulls(repo, Client.from_env, plan, head):
            click.echo(f'closed pull request #{number}: nothing left to promote')


def _open_pr(
    repo: Repo,
    source: Source,
    plan: Plan,
    result: Result,
    published: Published,
    base_branch: str | None,
) -> str:
    # lazy: CEL, jinja2 and jsonschema-rs load only when _open_pr() runs (start-up)
    from gitops_config import promote as promote_mod
    from gitops_config.pipeline.comparison import compare

    if base_branch is None:
        base_branch = repo.current_branch()
        if base_branch is None:
            raise UsageError(
                "HEAD is detached: name the pull request's base branch", hint='pass --base BRANCH'
            )
    review = compare(source, result.after, envs=[plan.target_env], sealed=True, run=options.run())
    body = promote_mod.message(plan, result.rendered) + '\n' + diff_markdown.render(review)
    pull = promote_mod.open_pull(Client.from_env(), plan, published, base=base_branch, body=body)
    return str(pull.get('html_url', pull.get('number')))


@click.command('status')
@click.option(
    '--ref',
    'ref',
    default='HEAD',
    show_default=True,
    metavar='REV',
    help='The commit to look at; promote acts on HEAD, uncommitted edits wait.',
)
def status(*, ref: str) -> int:
    """For each adjacent pair of environments, what is waiting to be promoted."""
    # lazy: CEL, jinja2 and jsonschema-rs load only when status() runs (start-up)
    from gitops_config import promote as promote_mod

    source, project = open_project(Path.cwd(), ref)
    names = project.env_names()
    for source_env, target_env in itertools.pairwise(names):
        plan = promote_mod.plan(source, project, source_env, target_env, options.run())
        if plan.empty:
            click.echo(f'{source_env} -> {target_env}: up to date')
        else:
            click.echo(f'{source_env} -> {target_env}: {len(plan.edits)} change(s) waiting')
            _echo_plan(plan)
    return exit_codes.OK
