"""The worker processes: results as with one job, errors where they belong, quiet on Ctrl-C."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitops_config import workers
from gitops_config.policy.engine import Engine
from gitops_config.policy.rules import Rule
from gitops_config.policy.rules import load_file
from gitops_config.policy.runner import Target
from gitops_config.policy.runner import make_engine
from gitops_config.policy.runner import run_documents
from gitops_config.policy.secrets import creation_rules

PROJECT = """\
version: 1
environments:
  - {name: dev, layers: [values/common.yaml]}
  - {name: prod, layers: [values/common.yaml]}
templates: templates
output: rendered/{env}
"""
# 150 templates x 2 environments: over the threshold where rendering goes parallel,
# and long enough (seconds) to be interrupted half-way
SLOW = '{% for i in range(n) %}{% for j in range(40) %}{{ i * j }}{% endfor %}{% endfor %}\n'


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f'/proc/{pid}/task/{pid}/children').read_text().split()]
    except OSError:
        return []


def test_ctrl_c_during_a_parallel_render_says_interrupted_and_nothing_else(
    tmp_path: Path,
) -> None:
    (tmp_path / 'gitops-config.yaml').write_text(PROJECT)
    (tmp_path / 'values').mkdir()
    (tmp_path / 'values/common.yaml').write_text('n: 3000\n')
    (tmp_path / 'templates').mkdir()
    for i in range(150):
        (tmp_path / f'templates/t{i}.txt.j2').write_text(SLOW)
    env = {**os.environ, 'GITOPS_CONFIG_NO_CACHE': '1'}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'gitops_config', 'render', '--jobs', '2'],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(workers) >= 2, 'the render never went parallel'
    # Ctrl-C in a terminal signals the whole process group at once; the workers are
    # signalled first here, so that a worker that would die of it has time to say so
    for pid in workers:
        os.kill(pid, signal.SIGINT)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode() == 'interrupted\n'
    assert not any(Path(f'/proc/{pid}').exists() for pid in workers)


def _squares(start: int, stop: int) -> list[int]:
    return [i * i for i in range(start, stop)]


def test_slices_on_workers_come_back_in_order() -> None:
    total = workers.PARALLEL_THRESHOLD * 3 + 7
    assert workers.in_slices(_squares, total, jobs=2) == _squares(0, total)


def _fails(start: int, stop: int) -> list[int]:
    raise ValueError(f'no good at {start}')


def test_an_error_in_a_worker_is_raised_in_the_parent() -> None:
    with pytest.raises(ValueError, match='no good at'):
        workers.in_slices(_fails, workers.PARALLEL_THRESHOLD, jobs=2)


def _dies(start: int, stop: int) -> list[int]:
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return []


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with pytest.raises(workers.WorkerDiedError, match='worker process ended'):
        workers.in_slices(_dies, workers.PARALLEL_THRESHOLD, jobs=2)


def _unpicklable(start: int, stop: int) -> list[object]:
    return [lambda: start]


def test_a_result_that_cannot_come_back_is_an_error_not_a_hang() -> None:
    with pytest.raises(workers.WorkerDiedError):
        workers.in_slices(_unpicklable, workers.PARALLEL_THRESHOLD, jobs=2)


RULES = """\
rules:
  - id: t/replicas
    message: too few replicas
    match: {environments: [prod]}
    expr: 'doc.replicas >= 2'
  - id: t/plaintext
    message: a plaintext secret
    expr: plaintext_secrets(doc)
  - id: t/sops
    message: must be encrypted
    expr: sops_unencrypted(doc, file)
"""


def _hits(
    engine: Engine, rules: list[Rule], targets: list[Target], start: int, stop: int
) -> list[tuple[Any, ...]]:
    found = run_documents(engine, rules, targets[start:stop])
    return [(h.rule.id, h.message, h.env, h.file, h.path) for h in found]


def test_spawned_workers_evaluate_document_rules_as_one_process_does() -> None:
    """The engine goes to a spawned worker as what it was made of (its compiled rules do
    not pickle), host functions and their settings included, and finds the same."""
    rules = load_file(RULES, 'policies/t.yaml')
    engine = make_engine(
        sops_rules=creation_rules('creation_rules:\n  - path_regex: secret\n'),
        key_patterns=('^custom$',),
    )
    for rule in rules:
        engine.compile(rule)  # as a check does, before any evaluation
    targets = [
        Target(
            'rendered',
            f'out/{"secret" if i % 3 == 0 else "plain"}{i}.yaml',
            f'f{i}.yaml',
            {'replicas': i % 4, 'custom': 'v', 'password': 'hunter2-hunter2'},
            'prod' if i % 2 else 'dev',
        )
        for i in range(workers.PARALLEL_THRESHOLD)
    ]
    work = functools.partial(_hits, engine, rules, targets)
    alone = work(0, len(targets))
    assert {hit[0] for hit in alone} == {'t/replicas', 't/plaintext', 't/sops'}
    assert ('custom',) in {hit[4] for hit in alone}  # the project's key patterns went too
    assert workers.in_slices(work, len(targets), jobs=2, method='spawn') == alone
