"""The tree snapshot that hostile tests rely on sees every kind of change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._helpers.tree_snapshot import differences
from tests._helpers.tree_snapshot import snapshot
from tests._helpers.tree_snapshot import untouched


def _relink(root: Path) -> None:
    (root / 'link').unlink()
    os.symlink('top.txt', root / 'link')


def _tree(root: Path) -> Path:
    (root / 'a' / 'b').mkdir(parents=True)
    (root / 'a' / 'b' / 'f.txt').write_bytes(b'one')
    (root / 'top.txt').write_bytes(b'top')
    (root / 'top.txt').chmod(0o644)
    (root / 'a' / 'b').chmod(0o755)
    os.symlink('a/b/f.txt', root / 'link')
    os.mkfifo(root / 'pipe')
    return root


@pytest.mark.parametrize(
    ('change', 'expected'),
    [
        (lambda r: (r / 'a' / 'b' / 'f.txt').write_bytes(b'two'), '~ a/b/f.txt: content changed'),
        (lambda r: (r / 'top.txt').chmod(0o600), '~ top.txt: mode 644 -> 600'),
        (lambda r: (r / 'new').write_bytes(b''), '+ new (file)'),
        (lambda r: (r / 'a' / 'b' / 'f.txt').unlink(), '- a/b/f.txt (file)'),
        (_relink, '~ link: content changed'),
        (lambda r: ((r / 'top.txt').unlink(), (r / 'top.txt').mkdir()), '~ top.txt: file -> dir'),
        (lambda r: (r / 'a' / 'b').chmod(0o700), '~ a/b: mode 755 -> 700'),
    ],
)
def test_every_change_is_seen(tmp_path: Path, change: object, expected: str) -> None:
    root = _tree(tmp_path / 't')
    before = snapshot(root)
    change(root)  # type: ignore[operator]
    changed = differences(before, snapshot(root))
    assert len(changed) == 1
    assert changed[0].startswith(expected)


def test_symlinks_are_recorded_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / 'outside'
    outside.mkdir()
    root = tmp_path / 't'
    root.mkdir()
    os.symlink(outside, root / 'escape')
    before = snapshot(root)
    (outside / 'x').write_bytes(b'x')
    assert differences(before, snapshot(root)) == []


def test_untouched_fails_outside_what_is_allowed(tmp_path: Path) -> None:
    root = _tree(tmp_path / 't')
    with untouched(root, allow=[root / 'a']):
        (root / 'a' / 'b' / 'f.txt').write_bytes(b'allowed')
    with pytest.raises(AssertionError, match=r'\+ a2 \(dir\)'), untouched(root, allow=[root / 'a']):
        (root / 'a2').mkdir()
