"""Work on every core, in shards, and from the on-disk cache: same results either way."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import generate
from gitops_config import project as project_mod
from gitops_config import render as render_mod
from gitops_config import revision
from gitops_config import workers
from gitops_config.incremental import packs as packs_mod
from gitops_config.incremental.store import ENV_DIR
from gitops_config.incremental.store import MARKER
from gitops_config.incremental.store import Store
from gitops_config.incremental.store import key
from gitops_config.pipeline import comparison
from gitops_config.pipeline import rendering
from gitops_config.run import Run
from gitops_config.shard import Shard
from gitops_config.shard import parse
from gitops_config.source import WorkTree
from tests.conftest import RunCli


@pytest.fixture
def big(tmp_path: Path) -> Path:
    root = tmp_path / 'big'
    generate(root, services=90)  # 270 (template, env) pairs: above the parallel threshold
    return root


def _files(
    root: Path, *, shard: Shard | None = None, **kwargs: object
) -> list[tuple[str, str, bytes]]:
    """ROOT rendered in one run of the environment (its cache, if one is set), SHARD's
    share of it."""
    source = WorkTree(root)
    run = Run.from_environment(shard=shard)
    renders = rendering.render(source, project_mod.load(source, root), run=run, **kwargs)  # type: ignore[arg-type]
    run.finish()
    return [(r.env, f.path, f.content) for r in renders for f in r.files]


def test_parallel_render_is_identical_to_one_job(big: Path) -> None:
    assert workers.PARALLEL_THRESHOLD <= 270
    assert _files(big, jobs=2) == _files(big, jobs=1)


def _commit(root: Path, message: str) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ['git', *args], cwd=root, check=True, capture_output=True, text=True
        ).stdout.strip()

    if not (root / '.git').exists():
        git('init', '-q', '-b', 'main')
    git('add', '-A')
    git('-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-qm', message)
    return git('rev-parse', 'HEAD')


def test_a_parallel_diff_is_identical_to_one_job(
    big: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base = _commit(big, 'base')
    common = big / 'values/common.yaml'
    common.write_text(common.read_text().replace('tag: "1.', 'tag: "2.', 30))
    template = big / 'templates/svc-00003.yaml.j2'
    template.write_text(template.read_text() + 'extra: true\n')
    head = _commit(big, 'head')
    reviews = []
    # each cold, then the parallel one again from the snapshots and outputs it kept
    for jobs, folder in ((1, 'one'), (2, 'two'), (2, 'two')):
        monkeypatch.setenv(ENV_DIR, str(tmp_path / folder))
        run = Run.from_environment()
        old, new = revision.open_pair(big, base, head)
        review = comparison.compare(old, new, key=b'k' * 32, jobs=jobs, run=run)
        reviews.append(
            [
                (e.env, [(c.file, c.path, repr(c.old), repr(c.new)) for c in e.changes])
                for e in review.envs
            ]
        )
        run.finish()
    assert reviews[0] == reviews[1] == reviews[2]
    assert sum(len(changes) for _, changes in reviews[0]) >= 30 * 3


def test_shards_together_are_the_whole(big: Path) -> None:
    whole = _files(big, jobs=1)
    parts = [f for i in (1, 2, 3) for f in _files(big, jobs=1, shard=Shard(i, 3))]
    assert sorted(parts) == sorted(whole)
    assert len(_files(big, jobs=1, shard=Shard(1, 3))) == len(whole) // 3


@pytest.mark.parametrize('spec', ['3/2', '0/4', 'x', '1/0'])
def test_bad_shard_is_a_usage_error(spec: str, run_cli: RunCli, big: Path) -> None:
    result = run_cli('render', '--shard', spec, cwd=big)
    assert result.exit_code == 2
    assert 'Invalid value for' in result.stderr


def test_shard_render_leaves_other_shards_files(run_cli: RunCli, big: Path) -> None:
    assert run_cli('render', '--shard', '1/2', cwd=big).exit_code == 0
    assert run_cli('render', '--shard', '2/2', cwd=big).exit_code == 0
    assert len(list((big / 'rendered/prod').iterdir())) == 90
    assert parse('2/4') == Shard(2, 4)


class _Counted:
    """Counts what Jinja compiles and what render_template renders."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.compiled = self.rendered = 0
        env = render_mod._environment()
        real_compile, real_render = env.compile, render_mod.render_template

        def compile_(*args: Any, **kwargs: Any) -> Any:
            self.compiled += 1
            return real_compile(*args, **kwargs)

        def render(*args: Any) -> str:
            self.rendered += 1
            return real_render(*args)

        monkeypatch.setattr(env, 'compile', compile_)
        monkeypatch.setattr(render_mod, 'render_template', render)


def test_outputs_and_compiled_templates_are_kept_in_one_pack_per_environment(
    big: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _files(big, jobs=1)
    files = [p.name for p in (fresh_cache / 'render-pack').rglob('*') if p.is_file()]
    # an index and a log for each environment and for the compiled templates
    assert len([f for f in files if '.log-' not in f]) == 4
    assert len([f for f in files if '.log-' in f]) == 4
    counted = _Counted(monkeypatch)
    assert _files(big, jobs=1) == first
    assert (counted.rendered, counted.compiled) == (0, 0)
    # a value every template reads: each renders again, from its kept compiled code
    common = big / 'values/common.yaml'
    common.write_text(common.read_text().replace('tag: "1.0.0"', 'tag: "1.0.1"'))
    assert len(_files(big, jobs=1)) == len(first)
    assert counted.rendered > 0
    assert counted.compiled == 0


def test_a_parallel_run_keeps_what_its_workers_rendered(
    big: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _files(big, jobs=2)
    counted = _Counted(monkeypatch)
    assert _files(big, jobs=1) == first
    assert (counted.rendered, counted.compiled) == (0, 0)


def test_corrupt_entries_are_recomputed_not_trusted(big: Path, fresh_cache: Path) -> None:
    first = _files(big, jobs=1)
    packs = [p for p in (fresh_cache / 'render-pack').rglob('*') if p.is_file()]
    for entry in packs:
        entry.write_bytes(entry.read_bytes()[:40])  # truncated
    run = Run.from_environment()
    source = WorkTree(big)
    again = rendering.render(source, project_mod.load(source, big), jobs=1, run=run)
    assert [(r.env, f.path, f.content) for r in again for f in r.files] == first
    indexes = [p for p in packs if '.log-' not in p.name]
    assert not any(p.exists() for p in indexes)  # removed, then written anew at the end
    run.finish()
    assert all(p.exists() for p in indexes)
    assert _files(big, jobs=1) == first
    store = Store(fresh_cache)
    digest = key('x')
    store.put('t', digest, b'payload')
    path = fresh_cache / 't' / digest[:2] / digest
    path.write_bytes(path.read_bytes()[:-1] + b'X')  # flipped byte
    assert store.get('t', digest) is None
    assert not path.exists()


def _logs(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / 'render-pack').rglob('*.log-*') if p.is_file())


def test_a_damaged_payload_is_rendered_again(
    big: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _files(big, jobs=1)
    for log in _logs(fresh_cache):
        data = bytearray(log.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one payload of each log no longer matches its SHA-256
        log.write_bytes(bytes(data))
    counted = _Counted(monkeypatch)
    assert _files(big, jobs=1) == first
    assert counted.rendered >= 1


def test_a_log_of_mostly_replaced_payloads_is_rewritten(
    big: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packs_mod, 'SLACK', 0)
    common = big / 'values/common.yaml'
    sizes = []
    for run in range(6):  # each run renders every template again, appending to the logs
        common.write_text(re.sub(r'replicas: \d+', f'replicas: {run + 1}', common.read_text()))
        assert _files(big, jobs=1)
        logs = _logs(fresh_cache)
        assert len(logs) == 4  # the replaced logs are gone
        sizes.append(sum(p.stat().st_size for p in logs))
    assert max(sizes) <= 3 * min(sizes)
    counted = _Counted(monkeypatch)
    assert _files(big, jobs=1)
    assert (counted.rendered, counted.compiled) == (0, 0)  # all there after rewriting


def test_unwritable_cache_warns_once_and_goes_on(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A path below a regular file cannot be created, even by root (CI runs as root,
    # which ignores a read-only mode).
    (tmp_path / 'not-a-dir').write_text('')
    monkeypatch.setenv(ENV_DIR, str(tmp_path / 'not-a-dir' / 'cache'))
    with caplog.at_level('WARNING'):
        files = _files(big, jobs=1)
    assert len(files) == 270
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert warnings[0].startswith('cache disabled: cannot write')


def test_cache_clear_and_info(run_cli: RunCli, fresh_cache: Path, big: Path) -> None:
    assert run_cli('render', cwd=big).exit_code == 0
    assert run_cli('cache', 'info').stdout.startswith(str(fresh_cache))
    assert run_cli('cache', 'clear').exit_code == 0
    # the marker that says the folder is ours stays: nothing else
    assert [p.name for p in fresh_cache.rglob('*')] == [MARKER]


def test_no_cache_writes_nothing(run_cli: RunCli, fresh_cache: Path, big: Path) -> None:
    assert run_cli('--no-cache', 'render', cwd=big).exit_code == 0
    assert not fresh_cache.exists()
