"""The per-file edit lock (issue 14.7): one holder at a time, kept out of the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitops_config import edit_lock


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / 'run'
    folder.mkdir(mode=0o700)
    monkeypatch.setenv('XDG_RUNTIME_DIR', str(folder))
    return folder


def test_a_second_edit_waits_then_says_who_holds_the_file(tmp_path: Path) -> None:
    file = tmp_path / 'repo' / 'values.yaml'
    file.parent.mkdir()
    file.write_text('a: 1\n')
    (tmp_path / 'link').symlink_to(file.parent)
    with edit_lock.locked(file), pytest.raises(edit_lock.LockError) as caught:
        # the same file by another name, through a symlinked folder
        _lock(tmp_path / 'link' / 'values.yaml')
    assert 'another edit of this file has held its lock' in caught.value.message
    _lock(file)  # released
    assert sorted(p.name for p in file.parent.iterdir()) == ['values.yaml']


def test_the_lock_folder_must_be_private(runtime_dir: Path, tmp_path: Path) -> None:
    folder = runtime_dir / f'gitops-config-locks-{os.getuid()}'
    folder.mkdir(mode=0o700)
    folder.chmod(0o777)  # anyone could plant a symlink in it
    with pytest.raises(edit_lock.LockError, match='not a private folder'):
        _lock(tmp_path / 'x.yaml')


def _lock(file: Path) -> None:
    with edit_lock.locked(file, timeout=0.05):
        pass
