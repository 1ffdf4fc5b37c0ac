"""One edit of a file at a time: `set`, `unset` and the `secrets` commands that rewrite a
file hold its lock from reading it to writing it (issue 14.7), so two edits started
together both land instead of the later write dropping the earlier one.

The lock files live in a private per-user folder, named by a hash of the edited file's
real path, and never beside the file:
- beside it they would show in `git status`, and could get committed; removing them
  after use is unsafe (a process waiting on the old inode and one creating a new file
  would both think they hold the lock), and filelock leaves them for that reason;
- the repository is hostile input: a committed symlink where the lock file goes would
  have us open (and truncate) whatever it points at; a folder only we can write holds
  nothing planted;
- `.git/` is missing in a plain folder, and shared by every worktree of a clone.
The real path names the same lock whether the file is reached relatively, absolutely or
through a symlinked folder. Two users editing one checkout at once are not serialised.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock
from filelock import Timeout

from gitops_config.errors import GitopsConfigError

# Long enough for a queue of scripted edits; an open `secrets edit` holds its lock
# until the editor closes, and a second edit then says so instead of waiting forever.
WAIT_SECONDS = 60.0


class LockError(GitopsConfigError):
    code = 'edit-locked'


@contextlib.contextmanager
def locked(file: Path, *, timeout: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold FILE's edit lock for the block; wait up to TIMEOUT seconds for it."""
    lock = FileLock(str(_lock_path(file)), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise LockError(
            f'{file}: another edit of this file has held its lock for {timeout:.0f} s',
            hint='wait for it to finish (an open `secrets edit`?), then run the command again',
        ) from None
    try:
        yield
    finally:
        lock.release()


def _lock_path(file: Path) -> Path:
    real = os.path.realpath(file)
    return _folder() / (hashlib.sha256(real.encode()).hexdigest()[:32] + '.lock')


def _folder() -> Path:
    """$XDG_RUNTIME_DIR/gitops-config-locks (per user, made for this), or a 0700 folder
    of ours in the temp folder."""
    runtime = os.environ.get('XDG_RUNTIME_DIR')
    base = Path(runtime) if runtime and os.path.isdir(runtime) else Path(tempfile.gettempdir())
    folder = base / f'gitops-config-locks-{os.getuid()}'
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise LockError(
            f'{folder}: not a private folder of this user, so it cannot hold edit locks',
            hint='remove it; gitops-config makes it again',
        )
    return folder
