from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from hypothesis import settings

from gitops_config.cli.main import cli
from tests._helpers.git_repo import GitRepo
from tests._helpers.github import FakeGitHub
from tests._helpers.projects import BASIC

# No per-example deadline anywhere: CI machines are loaded, and a property fails for
# what it finds, never for how long one example took (benchmarks time things).
settings.register_profile('gitops-config', deadline=None)
settings.load_profile('gitops-config')


@pytest.fixture(autouse=True)
def sealed_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the developer's HOME, git config, keys or colours."""
    home = tmp_path_factory.mktemp('home')
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.setenv('XDG_CONFIG_HOME', str(home / '.config'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(home / '.cache'))
    monkeypatch.setenv('GIT_CONFIG_NOSYSTEM', '1')
    for name in ('AUTHOR', 'COMMITTER'):
        monkeypatch.setenv(f'GIT_{name}_NAME', 'Test User')
        monkeypatch.setenv(f'GIT_{name}_EMAIL', 'test@example.com')
    for var in list(os.environ):
        if var.startswith(('SOPS_', 'GITHUB_')) or var in ('GNUPGHOME', 'NO_COLOR', 'EDITOR'):
            monkeypatch.delenv(var)


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / 'repo')


@pytest.fixture
def project(git_repo: GitRepo) -> GitRepo:
    """A small two-environment config repository, committed."""
    git_repo.commit(BASIC, 'initial')
    return git_repo


class RunCli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
    ) -> Result:
        argv = list(args)
        if cwd is not None:
            argv = ['-C', str(cwd), *argv]
        return self.runner.invoke(cli, argv, input=input, catch_exceptions=False)


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunCli:
    """Invoke the CLI in-process; -C changes directory, which monkeypatch restores."""
    monkeypatch.chdir(tmp_path)
    return RunCli()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A fake GitHub API on 127.0.0.1, stopped after the test."""
    fake = FakeGitHub()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    """`gitops-config` on PATH, running this checkout (as pip install would)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    script = bin_dir / 'gitops-config'
    checkout = Path(__file__).resolve().parents[1]
    script.write_text(
        f'#!/bin/sh\nPYTHONPATH={checkout} exec {sys.executable} -m gitops_config "$@"\n'
    )
    script.chmod(0o755)
    return bin_dir


@pytest.fixture
def cache_outside(
    sealed_environment: None,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """For tests that prove the repository and HOME are left byte-identical: the cache
    (a folder the tool owns, and writes on every run) outside the trees they compare,
    and the tool's own key in the home folder made beforehand, as on any machine where
    it ran once."""
    from gitops_config.incremental.store import ENV_DIR
    from gitops_config.run import Run

    monkeypatch.setenv(ENV_DIR, str(tmp_path_factory.mktemp('cache')))
    store = Run.from_environment().store
    assert store is not None
    store.code_key()


@pytest.fixture
def age_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new age identity in SOPS_AGE_KEY_FILE; its recipient."""
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    key_file = tmp_path / 'age.txt'
    key_file.write_text(f'{ident}\n')
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(key_file))
    return str(ident.to_public())


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty on-disk cache, which every run made from the environment uses."""
    from gitops_config.incremental.store import ENV_DIR
    from gitops_config.run import ENV_OFF

    directory = tmp_path / 'cache'
    monkeypatch.setenv(ENV_DIR, str(directory))
    monkeypatch.delenv(ENV_OFF, raising=False)
    return directory
