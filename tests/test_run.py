"""One run per command: what a command depends on beyond its arguments is made at the
CLI boundary and handed down, and nothing of it stays in the process afterwards."""

from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import gitops_config
from gitops_config import layer_edit
from gitops_config import outputs
from gitops_config import promote
from gitops_config import sops
from gitops_config import workers
from gitops_config.errors import GitopsConfigError
from gitops_config.git import Repo
from gitops_config.incremental.reuse import Reuse
from gitops_config.incremental.store import Store
from gitops_config.layer_edit.formats import Sops
from gitops_config.pipeline import fingerprint_key
from gitops_config.pipeline import rendering
from gitops_config.project import open_project
from gitops_config.render import Template
from gitops_config.render import prepare
from gitops_config.run import ENV_OFF
from gitops_config.run import Run
from gitops_config.sops import ops as sops_ops
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.source import WorkTree
from gitops_config.values import Values
from tests._helpers.git_repo import GitRepo
from tests._helpers.keys import new_age_key
from tests._helpers.projects import BASIC
from tests.conftest import RunCli


def _modules() -> list[ModuleType]:
    names = [
        m.name
        for m in pkgutil.walk_packages(gitops_config.__path__, 'gitops_config.')
        if not m.name.endswith('__main__')
    ]  # which would run the tool
    return [importlib.import_module(name) for name in sorted(names)]


def _state(modules: list[ModuleType]) -> dict[str, Any]:
    """Every module global: what it is bound to, and what a container holds."""
    found: dict[str, Any] = {}
    for module in modules:
        for name, value in vars(module).items():
            held: Any = None
            if isinstance(value, dict):
                held = [(k, id(v)) for k, v in value.items()]
            elif isinstance(value, (list, set, bytearray)):
                held = sorted(map(id, value))
            found[f'{module.__name__}.{name}'] = (id(value), held)
    return found


def test_no_module_global_changes_across_two_commands(
    git_repo: GitRepo, fresh_cache: Path, run_cli: RunCli
) -> None:
    # a filter that memoises (to_yaml), so that a memo kept in a module global shows
    git_repo.commit({**BASIC, 'templates/image.yaml.j2': '{{ app.image | to_yaml }}\n'}, 'base')
    head = git_repo.commit({'values/prod.yaml': 'app:\n  replicas: 4\n'}, 'head')
    modules = _modules()
    before = _state(modules)
    assert run_cli('render', cwd=git_repo.path).exit_code == 0
    after_one = _state(modules)
    assert (
        run_cli('--no-cache', 'diff', 'HEAD~1', head, '--validate', cwd=git_repo.path).exit_code
        == 0
    )
    changed = [k for k, v in _state(modules).items() if before.get(k) != v]
    changed += [k for k, v in after_one.items() if before.get(k) != v]
    assert changed == []


def test_a_repository_is_let_go_once_its_command_is_done(git_repo: GitRepo) -> None:
    """What a Repo remembers (resolved refs, trees) is its own: no cache on the class
    keeps it, and its cat-file process, alive for the rest of the process."""
    git_repo.commit(BASIC, 'base')
    repo = Repo(git_repo.path)
    assert repo.tree(repo.resolve('HEAD')) is repo.tree(repo.resolve('HEAD'))
    gone = weakref.ref(repo)
    del repo
    gc.collect()
    assert gone() is None


_LET_GO = """
import gc, sys, warnings
from pathlib import Path
from gitops_config.git import Repo  # first: the layout that freed the pipes first
from gitops_config.revision import located_at
warnings.simplefilter('error')
seen = []
sys.unraisablehook = lambda u: seen.append(repr(u.exc_value))
for i in range(30):
    found = located_at(Path(sys.argv[1]))
    found.commit(found.repo.resolve('HEAD')).read('gitops-config.yaml')  # starts cat-file
    del found
    if i % 3 == 0:
        gc.collect()
gc.collect()
print(seen)
"""


def test_a_repository_let_go_ends_its_git_processes_without_a_warning(git_repo: GitRepo) -> None:
    """The cycle collector frees a Repo at a time nobody chooses: its cat-file process is
    ended in order then, not left to the finalisers of its pipes, whose warnings fail
    whichever test happens to be running. The order the collector frees things in
    depends on the process's memory layout: in a process of its own, importing as the
    script does, it is the order that freed the pipes first before the fix."""
    git_repo.commit(BASIC, 'base')
    done = subprocess.run(
        [sys.executable, '-c', _LET_GO, str(git_repo.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == '[]'


def test_no_cache_is_a_run_without_a_store_not_an_environment_variable(
    git_repo: GitRepo, fresh_cache: Path, run_cli: RunCli
) -> None:
    git_repo.commit(BASIC, 'base')
    assert run_cli('--no-cache', 'render', cwd=git_repo.path).exit_code == 0
    assert not fresh_cache.exists()
    assert ENV_OFF not in os.environ
    assert run_cli('render', cwd=git_repo.path).exit_code == 0  # the next one caches
    assert (fresh_cache / 'render-pack').is_dir()


def test_each_command_counts_to_its_own_clock(
    git_repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.commit(BASIC, 'base')
    seen = []
    for now in ('2026-01-01T00:00:00Z', '2027-06-30T12:00:00Z'):
        monkeypatch.setenv('GITOPS_CONFIG_NOW', now)
        result = run_cli('secrets', 'age', '-f', 'json', cwd=git_repo.path)
        assert result.exit_code == 0, result.output
        seen.append(json.loads(result.stdout)['now'])
    assert seen == ['2026-01-01T00:00:00+00:00', '2027-06-30T12:00:00+00:00']


def test_spawned_workers_render_what_one_job_renders(tmp_path: Path) -> None:
    """Workers are handed all they need: under `spawn` they inherit nothing, and render
    (and keep, for the parent to write) exactly what one process does."""
    templates = [
        Template.of(
            f'templates/t{i}.yaml.j2',
            f't{i}.yaml.j2',
            f'n: {{{{ n + {i} }}}}\nname: {{{{ app.name }}}}\n'.encode(),
            blob=f'{i:040x}',
        )
        for i in range(workers.PARALLEL_THRESHOLD // 2)
    ]
    values = [Values(env, {'n': n, 'app': {'name': env}}) for env, n in (('dev', 1), ('prod', 2))]
    alone = workers.render_all(templates, [prepare(v) for v in values], Reuse(), jobs=1)
    kept = Reuse(Store(tmp_path / 'cache'))
    spawned = workers.render_all(
        templates, [prepare(v) for v in values], kept, jobs=2, method='spawn'
    )
    assert [[(f.path, f.content) for f in row] for row in spawned] == [
        [(f.path, f.content) for f in row] for row in alone
    ]
    kept.finish()  # what the workers rendered, kept by the parent
    assert len(list((tmp_path / 'cache/render-pack').rglob('*.log-*'))) == 2


# Keys: a command's work opens secrets with its run's keys, never with whatever the
# process environment holds when a function happens to be called. Each test below has
# the age key in the run's environment only (os.environ names none), and fails if any
# step reads os.environ instead.

SECRET_PROJECT = """\
version: 1
environments:
  - name: dev
    layers: [values/common.yaml, values/dev.yaml, secrets/dev.enc.yaml]
  - name: prod
    layers: [values/common.yaml, values/prod.yaml, secrets/prod.enc.yaml]
templates: templates
output: rendered/{env}
promotion:
  promotable: [app]
"""


@pytest.fixture
def keyed(git_repo: GitRepo, tmp_path: Path) -> tuple[GitRepo, Run, Run]:
    """A project whose secret layers open with a key named only by the first run's
    environment (the second run's has none), committed with dev rendered."""
    key_file = tmp_path / 'run.agekey'
    recipient = new_age_key(key_file)
    assert not any(name.startswith('SOPS_') for name in os.environ)
    files: dict[str, str | bytes | None] = {
        'gitops-config.yaml': SECRET_PROJECT,
        '.sops.yaml': f'creation_rules:\n  - path_regex: .*\n    age: {recipient}\n',
        'values/common.yaml': 'app:\n  image: v1\n',
        'values/dev.yaml': 'app:\n  image: v2\n',
        'values/prod.yaml': 'app:\n  image: v1\n',
        'templates/app.yaml.j2': 'image: {{ app.image }}\ntoken: {{ app.token }}\n',
    }
    for env in ('dev', 'prod'):  # the same plaintext, each encrypted on its own
        files[f'secrets/{env}.enc.yaml'] = sops.encrypt_text(
            'app:\n  token: s3cret\n', f'secrets/{env}.enc.yaml', age=[recipient]
        )
    git_repo.commit(files, 'init')
    with_key = Run.from_environment({**os.environ, 'SOPS_AGE_KEY_FILE': str(key_file)}, cache=False)
    return git_repo, with_key, Run.from_environment(cache=False)


def test_set_opens_an_encrypted_layer_with_the_runs_keys(
    keyed: tuple[GitRepo, Run, Run],
) -> None:
    repo, run, _ = keyed
    layer = repo.path / 'secrets/dev.enc.yaml'
    layer_edit.set_value(layer, 'app.token', 'n3w', fmt=Sops(), keys=run.keys)
    assert b'token: n3w' in sops.decrypt_file(layer, ring=run.keys)
    layer_edit.unset_value(repo.path / 'values/dev.yaml', 'app.image', keys=run.keys)
    with pytest.raises(GitopsConfigError, match='no available key'):
        layer_edit.set_value(layer, 'app.token', 'x', fmt=Sops(), keys=keyed[2].keys)


def test_promote_compares_secrets_with_the_runs_keys(keyed: tuple[GitRepo, Run, Run]) -> None:
    repo, run, keyless = keyed
    source, project = open_project(repo.path)
    # opened, dev's and prod's tokens are equal: nothing to say about them
    assert promote.plan(source, project, 'dev', 'prod', run).skipped == ()
    # sealed, only their (different) ciphertexts are seen
    assert [s.key for s in promote.plan(source, project, 'dev', 'prod', keyless).skipped] == [
        'app.token'
    ]


def test_rendered_output_is_checked_and_kept_with_the_runs_keys(
    keyed: tuple[GitRepo, Run, Run],
) -> None:
    repo, run, _ = keyed
    source, project = open_project(repo.path)
    [render] = rendering.render(source, project, ['dev'], run=run)
    out = repo.path / 'rendered/dev'
    outputs.write(project, source, render, out, run=run)
    written = (out / 'app.yaml').read_bytes()
    assert sops.is_encrypted(written)
    # the same plaintext for the same readers: left byte for byte, and up to date
    outputs.write(project, source, render, out, run=run)
    assert (out / 'app.yaml').read_bytes() == written
    assert outputs.check(project, WorkTree(repo.path), render, run=run) == []


# What else a command reads from its environment is the run's too.


def test_the_fingerprint_key_is_the_runs() -> None:
    assert 'GITOPS_CONFIG_FINGERPRINT_KEY' not in os.environ
    run = Run.from_environment({**os.environ, 'GITOPS_CONFIG_FINGERPRINT_KEY': 'k'}, cache=False)
    assert fingerprint_key.fingerprint_key(run) == b'k'
    assert fingerprint_key.fingerprint_key(Run.from_environment(cache=False)) is None


def test_sops_config_and_editor_are_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / 'run.agekey'
    recipient = new_age_key(key_file)
    rules_file = tmp_path / 'elsewhere/rules.yaml'
    rules_file.parent.mkdir()
    rules_file.write_text(f'creation_rules:\n  - age: {recipient}\n')
    monkeypatch.setenv('EDITOR', 'false')  # the process's editor fails
    ring = KeyRing(
        {
            **os.environ,
            'SOPS_CONFIG': str(rules_file),
            'SOPS_AGE_KEY_FILE': str(key_file),
            'EDITOR': 'true',
        }
    )
    folder = tmp_path / 'no-rules-here'
    folder.mkdir()
    target = folder / 'x.yaml'
    target.write_bytes(sops.encrypt_text('a: 1\n', str(target), ring=ring))
    assert sops.recipients(target.read_bytes(), str(target)) == [recipient]
    assert sops_ops.edit_file(target, ring=ring) is False  # the run's editor: no change


def test_the_home_folder_is_the_runs(tmp_path: Path) -> None:
    home = tmp_path / 'home-of-the-run'
    assert os.environ['HOME'] != str(home)
    (home / '.config/sops/age').mkdir(parents=True)
    new_age_key(home / '.config/sops/age/keys.txt')
    assert len(KeyRing({'HOME': str(home)}).age_identities()) == 1
    store = Run.from_environment({'HOME': str(home)}).store
    assert store is not None
    assert store.directory == home / '.cache/gitops-config'
    assert store.key_file == home / '.config/gitops-config/cache-key'


def test_jobs_and_shard_options_go_into_the_commands_run(
    git_repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.commit(BASIC, 'base')
    seen: list[tuple[int | None, str | None]] = []
    render = rendering.render

    def spy(*args: Any, run: Run, **kwargs: Any) -> list[rendering.EnvRender]:
        seen.append((run.jobs, None if run.shard is None else str(run.shard)))
        return render(*args, run=run, **kwargs)

    monkeypatch.setattr(rendering, 'render', spy)
    result = run_cli('render', '--jobs', '3', '--shard', '2/2', cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    assert run_cli('render', cwd=git_repo.path).exit_code == 0
    assert seen == [(3, '2/2'), (None, None)]
