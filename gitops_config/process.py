"""The one subprocess wrapper."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_config.errors import GitopsConfigError
from gitops_config.redact import Secret


class ProcessError(GitopsConfigError):
    code = 'process-failed'


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


Arg = str | Secret


def _shown(argv: Sequence[Arg]) -> str:
    return ' '.join(str(a) for a in argv)  # a Secret prints as ****


def run(
    argv: Sequence[Arg],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> Completed:
    """Run argv; a Secret argument is revealed only at the moment of exec."""
    real = [str(a.reveal()) if isinstance(a, Secret) else a for a in argv]
    try:
        proc = subprocess.run(
            real,
            input=stdin,
            capture_output=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise ProcessError(
            f'{real[0]}: command not found',
            hint=f'install {real[0]} or put it on PATH',
        ) from None
    except subprocess.TimeoutExpired:
        raise ProcessError(f'{_shown(argv)}: timed out after {timeout}s') from None
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors='replace').strip().splitlines()
        last = err[-1] if err else ''
        raise ProcessError(f'{_shown(argv)} exited {proc.returncode}: {last}')
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def run_interactive(argv: Sequence[Arg]) -> int:
    """Run argv on the user's terminal (an editor): nothing captured; its exit code."""
    real = [str(a.reveal()) if isinstance(a, Secret) else a for a in argv]
    try:
        return subprocess.run(real, check=False).returncode
    except FileNotFoundError:
        raise ProcessError(
            f'{real[0]}: command not found', hint='set EDITOR to an editor installed here'
        ) from None


# What a supervisor passes on to the command it runs: what `kill PID`, process managers
# and CI runners send us. The terminal's own Ctrl-C (and Ctrl-\, and a hang-up) goes to
# the whole process group, the command included, so that one is not sent twice.
_FORWARDED = frozenset(
    {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2}
)
_SI_KERNEL = 0x80  # si_code of a signal the kernel (the terminal driver) sent


def run_forwarding(
    argv: Sequence[Arg],
    *,
    env: Mapping[str, str] | None = None,
    then: Callable[[], object] | None = None,
) -> int:
    """Run argv on our stdin, stdout and stderr, passing on the signals sent to us;
    its exit code, or 128+N when signal N ended it (as a shell reports it).

    THEN runs once the command has started, with the forwarded signals blocked in this
    thread, so that a thread it starts inherits that and never takes them.
    """
    real = [str(a.reveal()) if isinstance(a, Secret) else a for a in argv]
    main = threading.current_thread() is threading.main_thread()
    early: list[int] = []  # sent before the signals are blocked: origin unknown
    previous = (
        {s: signal.signal(s, lambda n, _: early.append(n)) for s in _FORWARDED} if main else {}
    )
    try:
        try:
            proc = subprocess.Popen(real, env=dict(env) if env is not None else None)
        except (FileNotFoundError, PermissionError) as exc:
            raise ProcessError(
                f'{real[0]}: cannot run it: {exc.strerror}',
                hint='name a program on PATH, or its path',
            ) from None
        _supervise(proc, early, then, watch=main and hasattr(signal, 'sigtimedwait'))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    code = proc.returncode
    return 128 - code if code < 0 else code


def _supervise(
    proc: subprocess.Popen[bytes],
    early: list[int],
    then: Callable[[], object] | None,
    *,
    watch: bool,
) -> None:
    if not watch:  # no sigtimedwait (macOS) or not the main thread: pass on all but
        # the terminal's signals, by the handlers
        for sig in _FORWARDED - {signal.SIGINT, signal.SIGQUIT}:
            if threading.current_thread() is threading.main_thread():
                signal.signal(sig, lambda n, _: proc.send_signal(n))
        if then is not None:
            then()
        proc.wait()
        return
    watched = _FORWARDED | {signal.SIGCHLD}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        if then is not None:
            then()
        while True:
            while early:
                proc.send_signal(early.pop(0))
            if proc.poll() is not None:
                break
            info = signal.sigtimedwait(watched, 0.5)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            if passes_on(info.si_code, info.si_pid, proc.pid):
                proc.send_signal(info.si_signo)
        while signal.sigtimedwait(watched, 0) is not None:
            pass  # nothing left to arrive once the mask is lifted
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def passes_on(code: int, sender: int, child: int) -> bool:
    """Whether a signal with si_code CODE from SENDER goes on to CHILD: not one the
    terminal sent to the whole group (CHILD has it), nor one CHILD sent us."""
    return code != _SI_KERNEL and sender != child
