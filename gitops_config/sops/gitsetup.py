"""Git drivers: textconv shows decrypted diffs, merge merges decrypted trees."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from gitops_config import git
from gitops_config.fsutil import atomic_write as write_atomic
from gitops_config.fsutil import read_file

DRIVER = 'sops'
DEFAULT_PATTERNS = ('*.enc.yaml', '*.enc.yml', '*.enc.json', '*.enc.env')


def _program() -> str:
    found = shutil.which('gitops-config')
    return found if found is not None else f'{sys.executable} -m gitops_config'


def attributes_lines(patterns: tuple[str, ...] = DEFAULT_PATTERNS) -> list[str]:
    return [f'{p} diff={DRIVER} merge={DRIVER}' for p in patterns]


def install(repo: Path) -> list[tuple[str, str]]:
    """Write the driver settings into the repository's git config."""
    program = _program()
    settings = [
        (f'diff.{DRIVER}.textconv', f'{program} secrets textconv'),
        (f'diff.{DRIVER}.cachetextconv', 'false'),
        (f'merge.{DRIVER}.name', 'gitops-config: merge decrypted SOPS trees'),
        (f'merge.{DRIVER}.driver', f'{program} secrets merge-driver %O %A %B %P'),
    ]
    for key, value in settings:
        git.set_config(repo, key, value)
    return settings


def write_attributes(repo: Path, lines: list[str]) -> bool:
    """Append the missing lines to .gitattributes; False when all were there."""
    path = repo / '.gitattributes'
    try:
        text = read_file(path).decode()  # never through a symlink the repository holds
    except FileNotFoundError:
        text = ''
    missing = [line for line in lines if line not in text.splitlines()]
    if not missing:
        return False
    if text and not text.endswith('\n'):
        text += '\n'
    write_atomic(path, (text + '\n'.join(missing) + '\n').encode())
    return True


def repo_root(start: Path) -> Path:
    return git.work_tree(start)
