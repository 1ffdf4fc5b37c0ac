"""What rendering may cost: time per template and per environment, memory per template.

A template from a pull request must not hang CI or exhaust its memory: a
nested `range(99999)` loop, or a string doubled in a loop, runs until a
limit stops it. The limits come from `limits:` in the project file; a review
of two revisions applies the lower of each (compare.projects), so a pull
request cannot raise its own.

Time is a wall-clock timer (SIGALRM) in whichever process renders, so a
`--jobs 1` run is held as well as a forked worker; memory is the address
space the process may add while a template renders (RLIMIT_AS), so an
allocation past it is a MemoryError, not the OOM killer.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    template_seconds: float = 10.0  # one template, rendered and parsed, for one environment
    environment_seconds: float = 120.0  # every template of one environment, summed
    memory_mb: int = 1024  # what one template may add to its process's memory

    @classmethod
    def from_project(cls, raw: Mapping[str, Any]) -> Limits:
        """The `limits:` section of a project file (already checked by its schema)."""
        section = raw.get('limits') or {}
        default = cls()
        return cls(
            float(section.get('template_seconds', default.template_seconds)),
            float(section.get('environment_seconds', default.environment_seconds)),
            int(section.get('memory_mb', default.memory_mb)),
        )

    def stricter(self, other: Limits) -> Limits:
        """Each limit at the lower of SELF's and OTHER's."""
        return Limits(
            min(self.template_seconds, other.template_seconds),
            min(self.environment_seconds, other.environment_seconds),
            min(self.memory_mb, other.memory_mb),
        )


DEFAULT_LIMITS = Limits()


class Exceeded(BaseException):
    """Raised into a render whose time is up. A BaseException, like KeyboardInterrupt:
    no `except Exception` of Jinja2 or of a filter can swallow it."""

    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.which = which  # 'template' or 'environment'


class Budget:
    """The render time one environment has spent, in every process that renders it."""

    def __init__(self) -> None:
        self._spent = 0.0
        self._shared: Any = None  # a multiprocessing Value, once share() was called

    def share(self, start_method: str = 'fork') -> None:
        """Keep the count in shared memory, for the processes started (by START_METHOD)
        after this."""
        if self._shared is None:
            self._shared = multiprocessing.get_context(start_method).Value('d', self._spent)

    @property
    def spent(self) -> float:
        return float(self._shared.value) if self._shared is not None else self._spent

    def reset(self) -> None:
        if self._shared is not None:
            self._shared.value = 0.0
        self._spent = 0.0

    def add(self, seconds: float) -> None:
        if self._shared is None:
            self._spent += seconds
            return
        with self._shared.get_lock():
            self._shared.value += seconds


class Guard:
    """A context manager that runs its body within one template's limits and what is
    left of its environment's time: raises Exceeded when time is up, MemoryError past
    the memory limit. (A class, not a generator: it wraps every template rendered.)"""

    __slots__ = (
        '_armed',
        '_budget',
        '_memory',
        '_previous',
        '_restore',
        '_seconds',
        '_start',
        '_which',
    )

    def __init__(self, limits: Limits, budget: Budget) -> None:
        left = limits.environment_seconds - budget.spent
        if left <= 0:
            raise Exceeded('environment')
        self._which = 'template' if limits.template_seconds <= left else 'environment'
        self._seconds = min(limits.template_seconds, left)
        self._memory = limits.memory_mb * MIB
        self._budget = budget
        self._armed = False
        self._previous: Any = None
        self._restore: tuple[int, int] | None = None
        self._start = 0.0

    def __enter__(self) -> None:
        self._restore = _cap_memory(self._memory)
        self._start = time.monotonic()
        # signals arrive in the main thread only (and Windows has no SIGALRM)
        if _ALARMS and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGALRM, self._expire)
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self._seconds)

    def __exit__(self, *exc: object) -> None:
        if self._armed:
            self._armed = False  # a late alarm now finds no one to raise in
            signal.setitimer(signal.ITIMER_REAL, 0)
            # None: a handler not installed from Python, which cannot be put back
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)
        if self._restore is not None:
            # not at the top: Windows has no resource module (see _cap_memory)
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._restore)
        self._budget.add(time.monotonic() - self._start)

    def _expire(self, signum: int, frame: Any) -> None:
        if self._armed:
            raise Exceeded(self._which)


def _cap_memory(extra: int) -> tuple[int, int] | None:
    """Let this process grow by at most EXTRA bytes from now; the limits to restore
    afterwards, or None where nothing was changed."""
    try:
        # not at the top: Windows has no resource module
        import resource
    except ImportError:  # pragma: no cover - Windows has no rlimits
        return None
    used = _address_space()
    if used is None:  # no /proc: macOS, which does not enforce RLIMIT_AS anyway
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:
        return None  # a stricter limit is already in place
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return (soft, hard)


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux)."""
    try:
        fd = os.open('/proc/self/statm', os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(fd, 64).split()[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(fd)


_ALARMS = hasattr(signal, 'setitimer')
_PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096
