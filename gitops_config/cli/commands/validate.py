"""`gitops-config validate`: schemas and policies over value layers and rendered files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config import git
from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.errors import UsageError
from gitops_config.project import open_project
from gitops_config.report import findings
from gitops_config.report import findings_json
from gitops_config.report.findings import CHOICES
from gitops_config.shard import shard_layers

if TYPE_CHECKING:
    from gitops_config.source import Source


def project_paths(root: Path, files: tuple[str, ...]) -> list[str]:
    """FILES (relative to the current folder) as project-relative POSIX paths."""
    found = []
    base = root.resolve()
    for name in files:
        path = (Path.cwd() / name).resolve()
        try:
            found.append(path.relative_to(base).as_posix())
        except ValueError:
            raise UsageError(f'{name} is outside the project at {root}') from None
    return found


@click.command('validate')
@options.environments
@options.ref
@click.option(
    '--format',
    '-f',
    'output_format',
    type=click.Choice(CHOICES),
    default='auto',
    show_default=True,
    help='Output format; auto is github under GitHub Actions, else text.',
)
@click.option('--strict', is_flag=True, help='Warnings fail the run too.')
@click.option(
    '--require-schema', is_flag=True, help='A YAML/JSON file that no schema matches is an error.'
)
@click.option(
    '--sealed',
    is_flag=True,
    help='Render without decryption keys: secrets are checked as placeholders.',
)
@click.option(
    '--base',
    'base_ref',
    metavar='REV',
    default=None,
    help='Also run change rules against the rendered result at REV.',
)
@options.jobs
@options.shard
@click.argument('files', nargs=-1, type=click.Path())
def validate(
    *,
    envs: tuple[str, ...],
    ref: str | None,
    output_format: str,
    strict: bool,
    require_schema: bool,
    sealed: bool,
    base_ref: str | None,
    files: tuple[str, ...],
) -> int:
    """Check value layers and rendered files against their schemas and policies.

    With FILES, only what they affect is checked: a layer, the environments
    using it, or every environment for a template, schema, policy or the
    project file. Exit 1 on errors (and on warnings with --strict).
    """
    # lazy: CEL, jinja2 and jsonschema-rs load only when validate() runs (start-up)
    from gitops_config.pipeline.affected import affected
    from gitops_config.pipeline.rendering import render
    from gitops_config.pipeline.validation import validate as validate_revision

    run = options.run()
    source, project = open_project(Path.cwd(), ref)
    names = list(envs) or project.env_names()
    layers = None
    if files:
        touched = affected(project, project_paths(project.root, files), source)
        names = [n for n in touched.envs if not envs or n in envs]
        layers = touched.layers
    if run.shard is not None and layers is None:
        layers = shard_layers(run.shard)
    base = None
    if base_ref is not None:
        base_source, base_project = open_project(Path.cwd(), base_ref)
        known = [n for n in names if n in base_project.env_names()]
        base = render(base_source, base_project, known, sealed=True, run=run)
    result = validate_revision(
        source,
        project,
        names,
        base=base,
        sealed=sealed,
        strict=strict,
        require_schema=require_schema,
        layers=layers,
        run=run,
    )
    if findings.resolve(output_format) == 'json':
        # with --shard, `report merge` combines the shards: it needs to know which this is
        sys.stdout.write(findings_json.dumps(result, revision=_revision(source), shard=run.shard))
    else:
        findings.write(result, output_format, sys.stdout, use_color=options.app().color)
    return exit_codes.FINDINGS if result.failed else exit_codes.OK


def _revision(source: Source) -> str:
    """The commit that was checked: --ref's, else HEAD's (marked as a working tree)."""
    if source.commit is not None:
        return source.commit

    head = git.head_commit(source.root)
    return f'{head} (working tree)' if head else 'working tree'
