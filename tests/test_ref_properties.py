"""`--ref C` answers what a checkout of C answers, over generated projects.

Each example commits one generated project, then another over it, and renders the
first commit two ways: `render --ref C` from the repository, and plain `render` in a
clone checked out at C. Every byte written must be the same (decrypted, so that the
random IVs of fresh ciphertext do not differ).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings

from gitops_config.run import ENV_OFF
from tests._helpers.git_repo import GitRepo
from tests._helpers.keys import new_age_key
from tests._helpers.keys import use_keys
from tests.conftest import RunCli
from tests.test_drift_properties import _write
from tests.test_drift_properties import projects


@pytest.fixture(scope='module')
def recipient(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    key_file = tmp_path_factory.mktemp('age') / 'key.txt'
    return new_age_key(key_file), key_file


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob('*') if p.is_file()}


@settings(
    max_examples=12,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(old=projects(), new=projects())
def test_render_ref_writes_what_a_checkout_of_that_commit_writes(
    old: dict[str, Any],
    new: dict[str, Any],
    recipient: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    public, key_file = recipient
    use_keys(monkeypatch, key_file)
    monkeypatch.setenv(ENV_OFF, '1')
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        monkeypatch.chdir(where)  # -C changes directory; monkeypatch restores it
        repo = GitRepo(where / 'repo')
        _write(repo.path, old, public)
        first = repo.commit(message='old')
        _write(repo.path, new, public)
        repo.commit(message='new')
        checkout = where / 'checkout'
        subprocess.run(['git', 'clone', '-q', str(repo.path), str(checkout)], check=True)
        subprocess.run(['git', '-C', str(checkout), 'checkout', '-q', first], check=True)
        cli = RunCli()
        by_ref = cli(
            'render', '--ref', first, '--decrypt', '--out', str(where / 'a'), cwd=repo.path
        )
        by_checkout = cli('render', '--decrypt', '--out', str(where / 'b'), cwd=checkout)
        assert by_ref.exit_code == 0, by_ref.output
        assert by_checkout.exit_code == 0, by_checkout.output
        written = _files(where / 'b')
        assert written  # every project renders something
        assert _files(where / 'a') == written
