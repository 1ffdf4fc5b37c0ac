"""`gitops-config promote FROM TO` and `gitops-config status`."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config.cli import exit_codes
from gitops_config.source import prefix_of

if TYPE_CHECKING:
    from gitops_config.promote import Plan


@click.command('promote')
@click.argument('source_env', metavar='FROM')
@click.argument('target_env', metavar='TO')
@click.option('--dry-run', is_flag=True, help='Print the plan; create nothing.')
@click.option('--open-pr', 'open_pr', is_flag=True,
              help='Push the branch to origin and open (or update) a pull request.')
@click.option('--base', 'base_branch', default=None, metavar='BRANCH',
              help='The pull request\'s base branch (default: the current branch).')
def promote(*, source_env: str, target_env: str, dry_run: bool, open_pr: bool,
            base_branch: str | None) -> int:
    """Apply FROM's promotable differences to TO's own layer, in a new branch.

    Reads HEAD from git objects and commits with a temporary index: the
    working tree and the index are left alone. Creates branch
    promote/FROM-to-TO-<short sha> with one commit listing each change.
    """
    from gitops_config import project as project_mod
    from gitops_config import promote as promote_mod
    from gitops_config.git import Repo
    from gitops_config.source import GitTree

    root = project_mod.find_root(Path.cwd())
    repo = Repo(root)
    head = repo.resolve('HEAD')
    prefix = prefix_of(repo.root, root)
    source = GitTree(repo, head, prefix)
    project = project_mod.load(source, root)
    plan = promote_mod.plan(source, project, source_env, target_env)
    _echo_plan(plan)
    if plan.empty:
        click.echo(f'nothing to promote from {source_env} to {target_env}')
        return exit_codes.OK
    if dry_run:
        click.echo(f'dry run: would commit to {promote_mod.branch_name(plan, head)}')
        return exit_codes.OK
    branch, sha = promote_mod.commit(repo.root, prefix, head, plan, plan.text)
    click.echo(f'created branch {branch} at {sha[:12]}')
    if open_pr:
        url = _open_pr(repo, root, prefix, head, sha, branch, plan, base_branch)
        click.echo(f'pull request: {url}')
    return exit_codes.OK


def _echo_plan(plan: Plan) -> None:
    from gitops_config.report.diff_text import show

    if plan.edits:
        click.echo(f'promote {plan.source_env} -> {plan.target_env} (into {plan.layer}):')
    for edit in plan.edits:
        click.echo(f'  {edit.key}: {show(edit.old)} -> {show(edit.new)}')
    for skipped in plan.skipped:
        click.echo(f'  skipped {skipped.key}: {skipped.reason}')


def _open_pr(repo: object, root: Path, prefix: str, head: str, sha: str, branch: str,
             plan: Plan, base_branch: str | None) -> str:
    from gitops_config import compare
    from gitops_config import process
    from gitops_config import promote as promote_mod
    from gitops_config.git import Repo
    from gitops_config.github import Client
    from gitops_config.report import diff_markdown
    from gitops_config.source import GitTree

    assert isinstance(repo, Repo)
    if base_branch is None:
        base_branch = repo.run('rev-parse', '--abbrev-ref', 'HEAD').strip()
    process.run(['git', 'push', '--quiet', 'origin', f'{branch}:refs/heads/{branch}'],
                cwd=repo.root)
    review = compare.compare(GitTree(repo, head, prefix), GitTree(repo, sha, prefix),
                             envs=[plan.target_env], sealed=True)
    body = promote_mod.message(plan) + '\n' + diff_markdown.render(review)
    pull = Client.from_env().open_or_update_pull(
        head=branch, base=base_branch, title=f'Promote {plan.source_env} to {plan.target_env}',
        body=body)
    return str(pull.get('html_url', pull.get('number')))


@click.command('status')
@click.option('--ref', 'ref', default='HEAD', show_default=True, metavar='REV',
              help='The commit to look at; promote acts on HEAD, uncommitted edits wait.')
def status(*, ref: str) -> int:
    """For each adjacent pair of environments, what is waiting to be promoted."""
    from gitops_config import promote as promote_mod
    from gitops_config.workspace import open_project

    source, project = open_project(Path.cwd(), ref)
    names = project.env_names()
    for source_env, target_env in itertools.pairwise(names):
        plan = promote_mod.plan(source, project, source_env, target_env)
        if plan.empty:
            click.echo(f'{source_env} -> {target_env}: up to date')
        else:
            click.echo(f'{source_env} -> {target_env}: {len(plan.edits)} change(s) waiting')
            _echo_plan(plan)
    return exit_codes.OK
