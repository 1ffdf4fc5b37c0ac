"""`gitops-config hook ...`: the entry points of the pre-commit hooks.

pre-commit runs them at the top of the git work tree and passes the changed
files relative to it: a config repository may be a folder of a larger one,
and each file is checked in the project that holds it. Every hook works
offline: `validate` renders sealed (no decryption keys needed). Nothing here
imports jsonschema or deepdiff, and GitPython only when a change rule needs
the commit the change starts from.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import NamedTuple

import click

from gitops_config import constants as C
from gitops_config import git
from gitops_config import project as project_mod
from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.cli.commands.render import report_stale
from gitops_config.cli.commands.validate import project_paths
from gitops_config.errors import FileMissingError
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import InvalidProjectError
from gitops_config.pipeline.results import combined
from gitops_config.report import findings
from gitops_config.report.findings import CHOICES
from gitops_config.revision import at_commit
from gitops_config.revision import find_root
from gitops_config.revision import locate
from gitops_config.source import WorkTree

if TYPE_CHECKING:
    from gitops_config.model import Finding
    from gitops_config.pipeline.rendering import EnvRender
    from gitops_config.pipeline.results import CheckResult
    from gitops_config.project import Project
    from gitops_config.source import Source

_FILES = click.argument('files', nargs=-1, type=click.Path())


@click.group('hook')
def hook() -> None:
    """Entry points for pre-commit hooks (see .pre-commit-hooks.yaml)."""


class _Opened(NamedTuple):
    """One project, and the changed files it holds (relative to it)."""

    source: WorkTree
    project: Project
    paths: list[str]
    prefix: str  # the project's folder as seen from the current one: '' or 'config/'


def _projects(files: Sequence[str]) -> tuple[list[_Opened], list[str]]:
    """The projects holding FILES, each with its files; and the FILES no project holds.
    Without FILES: the project at (or above) the current folder, if any."""
    cwd = Path.cwd()
    roots: dict[Path, Path | None] = {}  # folder -> the project root above it
    held: dict[Path, list[str]] = {}
    outside: list[str] = []
    for name in files or ['.']:
        folder = (cwd / name).parent if files else cwd
        if folder not in roots:
            try:
                roots[folder] = find_root(folder)
            except InvalidProjectError:
                roots[folder] = None
        root = roots[folder]
        if root is None:
            outside += [name] if files else []
        else:
            held.setdefault(root, []).extend([name] if files else [])
    opened = []
    for root, names in held.items():
        source = WorkTree(root)
        prefix = os.path.relpath(root, cwd)
        opened.append(
            _Opened(
                source,
                project_mod.load(source, root),
                project_paths(root, tuple(names)),
                '' if prefix == '.' else prefix + '/',
            )
        )
    return opened, outside


def _from_cwd(result: CheckResult, prefix: str) -> CheckResult:
    """RESULT with its paths relative to the current folder (a project in a subfolder)."""
    if not prefix:
        return result

    def moved(finding: Finding) -> Finding:
        origin = finding.origin
        return dataclasses.replace(
            finding,
            location=dataclasses.replace(finding.location, path=prefix + finding.location.path),
            origin=origin and dataclasses.replace(origin, path=prefix + origin.path),
        )

    return dataclasses.replace(
        result,
        findings=tuple(map(moved, result.findings)),
        checked=tuple(prefix + p for p in result.checked),
        waived=tuple(map(moved, result.waived)),
    )


def _committed(opened: _Opened, envs: Sequence[str]) -> list[EnvRender] | None:
    """ENVS as HEAD renders them: what the commit being made changes. None before the
    first commit, or where HEAD has no project here."""
    # lazy: CEL, jinja2 and jsonschema-rs load only when _committed() runs (start-up)
    from gitops_config.pipeline.validation import base_renders

    head = at_commit(opened.source.root, 'HEAD')
    if head is None:
        return None
    try:
        project = project_mod.load(head)
    except GitopsConfigError:
        return None
    return base_renders(head, project, envs, run=options.run())


@hook.command('validate')
@click.option('--format', '-f', 'output_format', type=click.Choice(CHOICES), default='auto')
@click.option('--strict', is_flag=True, help='Warnings fail the hook too.')
@_FILES
def validate(*, output_format: str, strict: bool, files: tuple[str, ...]) -> int:
    """Validate the changed FILES and everything they affect (sealed, offline).

    A layer: its environments. A template, schema, policy file, the project
    file or `.sops.yaml`: every environment and layer they apply to. Change
    rules compare with the commit the change starts from (HEAD).
    """
    # lazy: CEL, jinja2 and jsonschema-rs load only when validate() runs (start-up)
    from gitops_config.pipeline.affected import affected
    from gitops_config.pipeline.validation import validate as validated

    results = []
    for opened in _projects(files)[0]:
        source, project, paths, prefix = opened
        touched = affected(project, paths, source)
        if not touched.envs and not touched.layers:
            continue
        base = functools.partial(_committed, opened, touched.envs)
        results.append(
            _from_cwd(
                validated(
                    source,
                    project,
                    touched.envs,
                    base=base,
                    sealed=True,
                    strict=strict,
                    layers=touched.layers,
                    run=options.run(),
                ),
                prefix,
            )
        )
    result = combined(results, strict=strict)
    if result.findings or result.failed:
        findings.write(result, output_format, sys.stdout, use_color=options.app().color)
    return exit_codes.FINDINGS if result.failed else exit_codes.OK


@hook.command('secrets')
@click.option('--format', '-f', 'output_format', type=click.Choice(CHOICES), default='auto')
@_FILES
def secrets(*, output_format: str, files: tuple[str, ...]) -> int:
    """No plaintext secret in FILES (values, comments, any text); files .sops.yaml covers
    must be encrypted. Without FILES: every file staged for the next commit, renamed
    ones included, as staged.

    A changed `.sops.yaml` or project file (creation rules, key patterns,
    waivers) scans every file git tracks in that project.
    """
    # lazy: CEL, jinja2 and jsonschema-rs load only when secrets() runs (start-up)
    from gitops_config.pipeline.validation import scan_secrets

    results = []
    if not files:
        staged = _staged()
        if staged is None:
            return exit_codes.OK  # nothing staged
        source, project, paths = staged
        results.append(scan_secrets(source, project, _widened(paths, source.files)))
    opened, outside = _projects(files) if files else ([], [])
    for work, project, paths, prefix in opened:
        scanned = _widened(paths, functools.partial(_tracked, work.root))
        results.append(_from_cwd(scan_secrets(work, project, scanned), prefix))
    if outside:
        results.append(scan_secrets(WorkTree(Path.cwd()), None, outside))
    result = combined(results, strict=False)
    if result.findings:
        findings.write(result, output_format, sys.stdout, use_color=options.app().color)
    return exit_codes.FINDINGS if result.failed else exit_codes.OK


def _widened(paths: list[str], every: Callable[[], list[str]]) -> list[str]:
    """PATHS, or every file (EVERY's) when the rules of all of them changed."""
    if C.PROJECT_FILE in paths or C.SOPS_CONFIG_FILE in paths:
        return sorted({*paths, *every()})
    return paths


def _staged() -> tuple[Source, Project, list[str]] | None:
    """The index of the repository here, its project (none: the whole repository, every
    file unruled), and the staged files in it."""
    found = locate(Path.cwd(), else_top=True)
    paths = found.staged()
    if not paths:
        return None
    source = found.index()
    try:
        project = project_mod.load(source)
    except (InvalidProjectError, FileMissingError):
        project = project_mod.Project.empty(found.root)
    return source, project, paths


def _tracked(root: Path) -> list[str]:
    """The files git tracks (or has staged) below ROOT, relative to it."""
    tracked = git.tracked_files(root)
    if tracked is None:
        return []  # not a git work tree: the changed files are all we know of
    return [p for p in tracked if (root / p).is_file()]


@hook.command('render-check')
@_FILES
def render_check(*, files: tuple[str, ...]) -> int:
    """Committed rendered output is up to date for every environment FILES affect."""
    # lazy: CEL, jinja2 and jsonschema-rs load only when render_check() runs (start-up)
    from gitops_config.pipeline.affected import affected
    from gitops_config.pipeline.rendering import render

    code = exit_codes.OK
    for source, project, paths, prefix in _projects(files)[0]:
        touched = affected(project, paths)
        # Only environments whose output is committed can be stale.
        envs = [e for e in touched.outputs if source.files(project.output_dir(e))]
        if envs:
            renders = render(source, project, envs, sealed=True, run=options.run())
            code = max(code, report_stale(source, project, renders, since='HEAD', prefix=prefix))
    return code
