"""`gitops-config render`: write every environment's rendered files."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.fsutil import printable
from gitops_config.project import open_project
from gitops_config.revision import at_commit

if TYPE_CHECKING:
    from gitops_config.pipeline.rendering import EnvRender
    from gitops_config.project import Project
    from gitops_config.source import Source


@click.command('render')
@options.environments
@options.ref
@click.option(
    '--out',
    'out',
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write below DIR/<env> instead of the project's output folders.",
)
@click.option(
    '--check',
    is_flag=True,
    help='Write nothing; exit 1 listing the committed files that are stale.',
)
@click.option(
    '--sealed',
    is_flag=True,
    help='Go on where a decryption key is missing: those secrets become '
    'placeholders, and files holding them are left as they were.',
)
@click.option(
    '--decrypt', is_flag=True, help='Write secrets in plaintext (never commit the result).'
)
@options.jobs
@options.shard
def render(
    *,
    envs: tuple[str, ...],
    ref: str | None,
    out: Path | None,
    check: bool,
    sealed: bool,
    decrypt: bool,
) -> int:
    """Render templates once per environment from its layered values.

    `.j2` files are rendered and lose the suffix; other files are copied byte
    for byte. Files that contain secrets are written SOPS-encrypted to the
    environment's recipients, unless --decrypt.
    """
    # lazy: jinja2 loads only when render() runs (start-up)
    from gitops_config import outputs

    source, project = open_project(Path.cwd(), ref)
    names = list(envs) or project.env_names()
    for name in names:
        project.env(name)
    # A check compares secrets it can open and, where it has no key, their shape.
    sealed = sealed or check
    renders = _render_with_progress(source, project, names, sealed=sealed)
    if check:
        # without a key, an encrypted output is vouched for by the last commit only (of
        # the working tree: HEAD; of --ref REV: its parent)
        return report_stale(source, project, renders, since='HEAD' if ref is None else f'{ref}^')
    targets = [outputs.target(project, r.env, out) for r in renders]  # all checked first
    run = options.run()
    for r, (base, target) in zip(renders, targets, strict=True):
        result = outputs.write(
            project,
            source,
            r,
            target,
            base=base,
            decrypt=decrypt,
            sealed=sealed,
            prune=run.shard is None,
            run=run,
        )
        below = _shown(target)  # resolved once: every file is below it
        prefix = '' if below == '.' else f'{below}/'
        for path in result.written:
            click.echo(prefix + path.relative_to(target).as_posix())
        for path in result.kept:
            done = 'kept' if os.path.lexists(path) else 'not written'
            click.echo(
                f'{prefix}{path.relative_to(target).as_posix()} '
                f'({done}: holds secrets, and --sealed has no keys)'
            )
        # named by a manifest or found in the folder: names a pull request may have chosen
        for path in result.removed:
            click.echo(
                f'{printable(prefix + path.relative_to(target).as_posix())}: removed, '
                'no template produces it any more',
                err=True,
            )
        for path in result.unknown:
            click.echo(
                f'{printable(prefix + path.relative_to(target).as_posix())}: left '
                'alone, no render is known to have written it (delete it if it is '
                'stale)',
                err=True,
            )
    return exit_codes.OK


def report_stale(
    source: Source,
    project: Project,
    renders: Sequence[EnvRender],
    *,
    since: str | None,
    prefix: str = '',
) -> int:
    """List where the committed output differs from RENDERS; exit 1 when any is stale.
    SINCE: the commit (HEAD, REV^) that SOURCE's encrypted outputs are compared with
    where no key opens them. PREFIX: the project's folder, as paths are shown from the
    current one."""
    # lazy: jinja2 loads only when report_stale() runs (start-up)
    from gitops_config import outputs

    last = functools.cache(functools.partial(at_commit, project.root, since or ''))
    found = [
        s
        for r in renders
        for s in outputs.check(project, source, r, base=last if since else None, run=options.run())
    ]
    for item in found:
        click.echo(f'{printable(prefix + item.path)}: {item.reason}')
    stale = [s for s in found if s.blocking]
    if stale:
        where = f' -C {prefix.rstrip("/")}' if prefix else ''
        click.echo(
            f'{len(stale)} rendered file(s) out of date; run `gitops-config{where} render`',
            err=True,
        )
        return exit_codes.FINDINGS
    click.echo(f'rendered output is up to date ({len(renders)} environment(s))', err=True)
    return exit_codes.OK


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _render_with_progress(
    source: Source,
    project: Project,
    names: list[str],
    *,
    sealed: bool,
) -> list[EnvRender]:
    # lazy: jinja2 loads only when _render_with_progress() runs (start-up)
    from gitops_config.pipeline.rendering import render

    if len(names) < 2 or not sys.stderr.isatty():
        return render(source, project, names, sealed=sealed, run=options.run())
    with click.progressbar(length=len(names), label='rendering', file=sys.stderr) as bar:
        return render(
            source,
            project,
            names,
            sealed=sealed,
            on_done=lambda _: bar.update(1),
            run=options.run(),
        )
