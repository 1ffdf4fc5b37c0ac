"""One revision validated: schemas and policies over what it renders, Findings at
file:line.

This is what the CLI, the hooks and the Action call. Value layers are checked
once each (raw, as written); rendered files once per environment, and a
finding in a rendered file also names the layer or template line that
produced the node, because that is what the user must edit.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection
from collections.abc import Sequence
from typing import Any

from gitops_config import run as run_mod
from gitops_config import sops
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.incremental.verdicts import LAYERS
from gitops_config.locate import Doc
from gitops_config.locate import Positions
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.model import Severity
from gitops_config.pipeline import rendering
from gitops_config.pipeline.checker import Checker
from gitops_config.pipeline.findings import finish
from gitops_config.pipeline.layer_checks import check_layer
from gitops_config.pipeline.policy_checks import Base
from gitops_config.pipeline.policy_checks import run_policies
from gitops_config.pipeline.rendered_checks import check_rendered
from gitops_config.pipeline.rendering import EnvRender
from gitops_config.pipeline.results import CheckResult
from gitops_config.policy.runner import Target
from gitops_config.policy.runner import run_documents
from gitops_config.project import Project
from gitops_config.run import Run
from gitops_config.source import Source


def validate(
    source: Source,
    project: Project,
    envs: Sequence[str],
    *,
    base: Base = None,
    sealed: bool = False,
    strict: bool = False,
    require_schema: bool = False,
    layers: Collection[str] | None = None,
    jobs: int | None = None,
    run: Run | None = None,
) -> CheckResult:
    """ENVS of SOURCE rendered (a sharded RUN's share of their templates), then checked; see
    check() for the rest."""
    run = run if run is not None else run_mod.plain()
    renders = (
        rendering.render(source, project, envs, sealed=sealed, jobs=jobs, reuse=True, run=run)
        if envs
        else []
    )
    return check(
        source,
        project,
        renders,
        base=base,
        strict=strict,
        require_schema=require_schema,
        layers=layers,
        jobs=jobs,
        run=run,
    )


def check(
    source: Source,
    project: Project,
    renders: Sequence[EnvRender],
    *,
    base: Base = None,
    strict: bool = False,
    require_schema: bool = False,
    layers: Collection[str] | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    jobs: int | None = None,
    run: Run | None = None,
) -> CheckResult:
    """Schemas and policies over RENDERS (and their value layers) read from SOURCE,
    documents evaluated on JOBS processes (default: the run's, else one per core), in
    RUN (default: one without a store).

    BASE, the same environments rendered at the PR's base, turns on change
    rules; as a function, it is called only when a change rule is in force (and
    may answer None: no base to compare with). LAYERS limits which value layers
    are checked (default: every layer of every rendered environment).
    """
    run = run if run is not None else run_mod.plain()
    checker = Checker(
        source, project, require_schema=require_schema, only_packs=None, run=run, now=now
    )
    targets: list[Target] = []
    wanted = layers if layers is not None else [layer for r in renders for layer in r.values.layers]
    for path in dict.fromkeys(wanted):
        check_layer(checker, path, targets)
    for render in renders:
        check_rendered(checker, render, targets)
        checker.values[render.env] = render.values
    hits = run_policies(
        checker, targets, renders, base, jobs=jobs if jobs is not None else run.jobs
    )
    checker.verdicts.settle(
        [(f.env or LAYERS, f.location.path) for f in checker.findings]
        + [(h.env or LAYERS, h.file or '') for h in hits]
    )
    return finish(checker, hits, strict=strict, today=today)


def base_renders(
    source: Source,
    project: Project,
    envs: Sequence[str],
    *,
    run: Run | None = None,
) -> list[EnvRender] | None:
    """ENVS as rendered at a change's base SOURCE, for change rules: sealed (a rule sees
    a secret as '<secret>' either way), and only those the base has. None when the
    base does not render: there is nothing to compare with (a review reports that)."""
    known = [e for e in envs if e in project.env_names()]
    try:
        return (
            rendering.render(source, project, known, sealed=True, reuse=True, run=run)
            if known
            else []
        )
    except GitopsConfigError:
        return None


def scan_secrets(
    source: Source,
    project: Project | None,
    files: Sequence[str],
    *,
    today: dt.date | None = None,
    run: Run | None = None,
) -> CheckResult:
    """The plaintext-secret guard alone, over FILES as written (no render): the hook's.

    A YAML or JSON file goes through the secrets rules (a file below an
    environment's output folder counts as rendered output); any other text
    file is scanned line by line for credentials.
    """
    proj = project if project is not None else Project.empty(source.root)
    checker = Checker(
        source,
        proj,
        require_schema=False,
        only_packs=('secrets',),
        run=run if run is not None else run_mod.plain(),
    )
    outputs = [proj.output_dir(e) + '/' for e in proj.env_names()]
    targets: list[Target] = []
    for path in files:
        text = source.read(path)
        checker.checked.append(path)
        if path.endswith(('.yaml', '.yml', '.json')):
            try:
                located = yaml_io.load_all_located(text, path)
            except GitopsConfigError:
                located = []
            if located:
                kind = 'rendered' if path.startswith(tuple(outputs)) else 'layer'
                checker.docs[(None, path)] = Doc(
                    path, [d for d, _ in located], functools.partial(_located_positions, located)
                )
                targets += [
                    Target(kind, path, path, d, None, None, i) for i, (d, _) in enumerate(located)
                ]
                if not path.endswith('.json'):
                    checker.scan_text(path, text, comments=True)
                continue
        checker.scan_text(path, text, comments=False)
        if (
            not path.startswith(tuple(outputs))
            and checker.covered(path)
            and not sops.is_encrypted(text)
        ):
            checker.findings.append(
                Finding(
                    'secrets/sops-coverage',
                    Severity.ERROR,
                    'a .sops.yaml creation rule covers this file, but it is not encrypted',
                    Location(path, 1, 1),
                    hint='run `gitops-config secrets encrypt` on it',
                )
            )
    hits = run_documents(checker.engine, checker.rules, targets)
    return finish(checker, hits, strict=False, today=today)


def _located_positions(
    located: list[tuple[Any, dict[NodePath, tuple[int, int]]]],
) -> Positions:
    return [positions for _, positions in located]
