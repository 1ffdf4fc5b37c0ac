"""`secrets exec-env` and `exec-file`: run a command with a file's decrypted values.

As sops's commands of the same names: exec-env puts the top-level scalars of the file
into the command's environment (a nested value is an error); exec-file hands the command
the path of the decrypted file, which exists only while it runs. The plaintext goes to
the command and nowhere else: through the environment, or a FIFO (or with `fifo=False`
a 0600 file) in a private 0700 folder outside the working tree, in memory (/dev/shm)
where the system has one, removed when the command ends. Signals sent to us pass on to
the command, and its exit code comes back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from gitops_config import process
from gitops_config.errors import UsageError
from gitops_config.sops import format as fmt
from gitops_config.sops.errors import SopsError
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import Value

PLACEHOLDER = '{}'
_MEMORY = Path('/dev/shm')  # a tmpfs on Linux: a file there never reaches a disk


def environment_of(doc: Branch, path: Path) -> dict[str, str]:
    """The variables sops's exec-env makes of a decrypted document: one per top-level
    key, its value as sops turns a scalar into text."""
    found: dict[str, str] = {}
    for key, value in doc:
        if isinstance(key, Comment):
            continue
        if not isinstance(key, str):
            raise SopsError(f'{path}: exec-env takes string keys only')
        if isinstance(value, (Branch, list)):
            raise SopsError(
                f'{path}: {key}: exec-env cannot put a nested value in the '
                'environment (only top-level strings, numbers and booleans)',
                hint='use exec-file, or keep the variables in a flat file',
            )
        if '=' in key or '\0' in key or not key:
            raise SopsError(f'{path}: {key!r} cannot be an environment variable name')
        text = env_text(value)
        if '\0' in text:  # the key names the value; the value is never shown
            raise SopsError(
                f'{path}: {key}: the value holds a NUL byte, which no environment variable can'
            )
        found[key] = text
    return found


def env_text(value: Value) -> str:
    """A scalar as sops writes it into the environment (Go's formatting): floats as
    strconv 'G' with a `.0` on whole numbers, times as RFC 3339 to the second, and a
    null as `<nil>`, as sops does."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value is None:
        return '<nil>'
    if isinstance(value, float):
        text = fmt.format_float_g(value)
        if 'Inf' not in text and 'NaN' not in text:
            text = text.upper()
        return text + '.0' if text.lstrip('-').isdigit() else text
    if isinstance(value, Timestamp):
        when, _ = fmt.parse_rfc3339(value.text)
        return fmt.format_time(when)
    if isinstance(value, bytes):
        return value.decode('utf-8', 'surrogateescape')
    return str(value)


def exec_env(
    path: Path, argv: Sequence[str], *, pristine: bool = False, ring: KeyRing | None = None
) -> int:
    # lazy: filelock loads only when exec_env() runs (start-up)
    from gitops_config.sops import ops

    opened = ops.open_file(path, ring=ring)
    doc = opened.plain[0] if opened.plain else Branch()
    variables = environment_of(doc, path)
    env = {} if pristine else dict(os.environ)
    env.update(variables)
    return process.run_forwarding(argv, env=env)


def exec_file(
    path: Path,
    argv: Sequence[str],
    *,
    fifo: bool = True,
    filename: str | None = None,
    ring: KeyRing | None = None,
) -> int:
    # lazy: filelock loads only when exec_file() runs (start-up)
    from gitops_config.sops import ops

    name = filename if filename is not None else path.name
    if name in ('', '.', '..') or '/' in name or '\0' in name:
        raise UsageError(f'--filename {name!r}: give a plain file name, not a path')
    if not any(PLACEHOLDER in arg for arg in argv):
        raise UsageError(
            f'the command names no {PLACEHOLDER}: put it where the path of '
            'the decrypted file goes, as in `-- kubectl apply -f {}`'
        )
    opened = ops.open_file(path, ring=ring)
    plain = opened.file.store.emit(opened.plain)
    folder = tempfile.mkdtemp(prefix='gitops-config-exec-', dir=_private_base())  # 0700
    try:
        target = os.path.join(folder, name)
        command = [arg.replace(PLACEHOLDER, target) for arg in argv]
        if not fifo:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'wb') as out:
                out.write(plain)
            return process.run_forwarding(command)
        os.mkfifo(target, 0o600)
        feeder = threading.Thread(target=_feed, args=(target, plain), daemon=True)
        try:
            return process.run_forwarding(command, then=feeder.start)
        finally:
            _release(target, feeder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _private_base() -> str | None:
    """/dev/shm where it is a writable folder (a file there stays in memory), else the
    system's temporary folder."""
    if _MEMORY.is_dir() and os.access(_MEMORY, os.W_OK | os.X_OK):
        return str(_MEMORY)
    return None


def _feed(fifo: str, data: bytes) -> None:
    """Write DATA into FIFO once the command opens it (the open waits for a reader)."""
    try:
        fd = os.open(fifo, os.O_WRONLY)
    except OSError:
        return
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        pass  # the command closed it before reading everything
    finally:
        os.close(fd)


def _release(fifo: str, feeder: threading.Thread) -> None:
    """A command that never opened the FIFO leaves the feeder waiting in open():
    open it ourselves, then close, so that the feeder ends (without the data going
    anywhere)."""
    if not feeder.is_alive():
        return
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        feeder.join(timeout=0.2)
    finally:
        os.close(fd)
    feeder.join(timeout=5)
