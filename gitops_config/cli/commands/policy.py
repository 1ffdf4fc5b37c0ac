"""`gitops-config policy`: list rules and run the PASS/FAIL examples rule files carry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import read_file
from gitops_config.policy import load
from gitops_config.policy.docs import markdown
from gitops_config.policy.rules import load_file
from gitops_config.project import open_project
from gitops_config.report.ansi import style

if TYPE_CHECKING:
    from gitops_config.policy.rules import Rule


@click.group('policy')
def policy() -> None:
    """Work with policy rule files (data with CEL expressions, never code)."""


def _rules(paths: tuple[str, ...], builtin: bool) -> list[Rule]:
    if paths:
        found: list[Rule] = []
        for name in paths:
            path = Path(name)
            files = sorted(path.rglob('*.y*ml')) if path.is_dir() else [path]
            for file in files:
                found.extend(load_file(read_file(file), file.as_posix()))
        return found
    if builtin:
        return [r for name in load.packs() for r in load.load_pack(name)]
    try:
        source, project = open_project(Path.cwd())
    except GitopsConfigError:
        return [r for name in load.packs() for r in load.load_pack(name)]
    return list(load.load_rules(source, project.raw, where=project.location('policies')))


@policy.command('test')
@click.option('--builtin', is_flag=True, help='Test every built-in pack.')
@click.argument('paths', nargs=-1, type=click.Path(exists=True))
def test(*, builtin: bool, paths: tuple[str, ...]) -> int:
    """Run the examples of each rule: PASS ones must pass, FAIL ones must fail.

    PATHS are rule files or folders; default: the rules the project in the
    current folder enables (or the built-in packs outside a project).
    """
    # lazy: CEL loads only when test() runs (start-up)
    from gitops_config.policy.verify import make_test_engine
    from gitops_config.policy.verify import verify

    rules = _rules(paths, builtin)
    results = verify(make_test_engine(), rules)
    color = options.app().color
    failed = 0
    for r in results:
        mark = style('PASS', fg='green', use=color) if r.ok else style('FAIL', fg='red', use=color)
        failed += not r.ok
        click.echo(f'{mark} {r.location} {r.rule} ({r.expect} example): {r.detail}')
    untested = [r.id for r in rules if not r.examples]
    for rule_id in untested:
        click.echo(f'{style("WARN", fg="yellow", use=color)} {rule_id}: no examples')
    click.echo(f'{len(results)} example(s) in {len(rules)} rule(s), {failed} failure(s)')
    return exit_codes.FINDINGS if failed else exit_codes.OK


@policy.command('list')
@click.option('--builtin', is_flag=True, help='List every built-in pack.')
@click.argument('paths', nargs=-1, type=click.Path(exists=True))
def list_(*, builtin: bool, paths: tuple[str, ...]) -> int:
    """List the rules in force: id, severity, scope, and where each is defined."""
    for rule in _rules(paths, builtin):
        click.echo(f'{rule.id:<36} {rule.severity.value:<8} {rule.scope:<13} {rule.location}')
    return exit_codes.OK


@policy.command('docs')
@click.option('--builtin', is_flag=True, help='Document every built-in pack.')
@click.argument('paths', nargs=-1, type=click.Path(exists=True))
def docs(*, builtin: bool, paths: tuple[str, ...]) -> int:
    """Print Markdown documenting each rule with its examples."""
    grouped: dict[str, list[Rule]] = {}
    for rule in _rules(paths, builtin):
        grouped.setdefault(rule.pack or str(rule.location.path), []).append(rule)
    click.echo(markdown(grouped), nl=False)
    return exit_codes.OK
