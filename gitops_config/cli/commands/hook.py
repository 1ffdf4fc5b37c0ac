"""`gitops-config hook ...`: the entry points of the pre-commit hooks.

pre-commit passes the changed files, relative to the top of the git work
tree. Every hook works offline: `validate` renders sealed (no decryption
keys needed), and nothing here imports GitPython, jsonschema or deepdiff.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.report.findings import CHOICES

if TYPE_CHECKING:
    from gitops_config.project import Project
    from gitops_config.source import Source

_FILES = click.argument('files', nargs=-1, type=click.Path())


@click.group('hook')
def hook() -> None:
    """Entry points for pre-commit hooks (see .pre-commit-hooks.yaml)."""


def _open(files: tuple[str, ...]) -> tuple[Source, Project, list[str]] | None:
    """The project holding FILES (or the current folder), and FILES relative to it."""
    from gitops_config import project as project_mod
    from gitops_config.cli.commands.validate import project_paths
    from gitops_config.errors import InvalidProjectError
    from gitops_config.source import WorkTree

    starts = [Path.cwd()] + [(Path.cwd() / f).parent for f in files[:1]]
    for start in starts:
        try:
            root = project_mod.find_root(start)
        except InvalidProjectError:
            continue
        source = WorkTree(root)
        inside = tuple(f for f in files if _inside(Path.cwd() / f, root))
        return source, project_mod.load(source, root), project_paths(root, inside)
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


@hook.command('validate')
@click.option('--format', '-f', 'output_format', type=click.Choice(CHOICES), default='auto')
@click.option('--strict', is_flag=True, help='Warnings fail the hook too.')
@_FILES
def validate(*, output_format: str, strict: bool, files: tuple[str, ...]) -> int:
    """Validate the changed FILES and every environment they affect (sealed, offline)."""
    from gitops_config import check as check_mod
    from gitops_config import pipeline
    from gitops_config.report import findings

    opened = _open(files)
    if opened is None:
        return exit_codes.OK  # no gitops-config project here: nothing to validate
    source, project, paths = opened
    touched = check_mod.affected(project, paths)
    if not touched.envs and not touched.layers:
        return exit_codes.OK
    renders = pipeline.render(source, project, list(touched.envs), sealed=True, reuse=True)
    result = check_mod.check(source, project, renders, strict=strict, layers=touched.layers)
    if result.findings or result.failed:
        findings.write(result, output_format, sys.stdout, use_color=options.app().color)
    return exit_codes.FINDINGS if result.failed else exit_codes.OK


@hook.command('secrets')
@click.option('--format', '-f', 'output_format', type=click.Choice(CHOICES), default='auto')
@_FILES
def secrets(*, output_format: str, files: tuple[str, ...]) -> int:
    """No plaintext secret in FILES (values, comments, any text); files .sops.yaml covers
    must be encrypted. Without FILES: every file staged for the next commit, renamed
    ones included, as staged."""
    from gitops_config import check as check_mod
    from gitops_config.report import findings
    from gitops_config.source import WorkTree

    opened = _open(files) if files else _staged()
    if opened is None and not files:
        return exit_codes.OK  # nothing staged
    if opened is None:
        source: Source = WorkTree(Path.cwd())
        result = check_mod.scan_secrets(source, None, list(files))
    else:
        source, project, paths = opened
        result = check_mod.scan_secrets(source, project, paths)
    if result.findings:
        findings.write(result, output_format, sys.stdout, use_color=options.app().color)
    return exit_codes.FINDINGS if result.failed else exit_codes.OK


def _staged() -> tuple[Source, Project, list[str]] | None:
    """The index of the repository here, its project, and the staged files in it."""
    from gitops_config import project as project_mod
    from gitops_config.errors import FileMissingError
    from gitops_config.errors import InvalidProjectError
    from gitops_config.git import Repo
    from gitops_config.source import IndexTree
    from gitops_config.source import prefix_of

    repo = Repo(Path.cwd())
    try:
        root = project_mod.find_root(Path.cwd())
    except InvalidProjectError:
        root = repo.root
    prefix = prefix_of(repo.root, root)
    paths = [p[len(prefix):] for p in repo.staged_paths() if p.startswith(prefix)]
    if not paths:
        return None
    source = IndexTree(repo, prefix)
    try:
        project = project_mod.load(source, root)
    except (InvalidProjectError, FileMissingError):
        from gitops_config.project import Project

        project = Project.empty(root)
    return source, project, paths


@hook.command('render-check')
@_FILES
@click.pass_context
def render_check(ctx: click.Context, *, files: tuple[str, ...]) -> int:
    """Committed rendered output is up to date for every environment FILES affect."""
    from gitops_config import check as check_mod
    from gitops_config.cli.commands.render import render

    opened = _open(files)
    if opened is None:
        return exit_codes.OK
    source, project, paths = opened
    touched = check_mod.affected(project, paths)
    # Only environments whose output is committed can be stale.
    envs = tuple(e for e in touched.envs if source.files(project.output_dir(e)))
    if not envs:
        return exit_codes.OK
    code = ctx.invoke(render, envs=envs, ref=None, out=None, check=True, sealed=False,
                      decrypt=False)
    return int(code) if isinstance(code, int) else exit_codes.OK
