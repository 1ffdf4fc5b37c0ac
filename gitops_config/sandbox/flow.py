"""What one render reads and which of its values come from a secret.

Every hook of the sandbox (environment.py) and every filter, test and call
goes through here: `scan` records the values a template uses as a whole
(trace.py) and says how much of a secret they hold; `apply` runs an operation
and taints what it computes from a secret (taint.py).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Undefined
from jinja2.utils import Namespace

from gitops_config import trace
from gitops_config.sandbox.limits import TemplateLimit
from gitops_config.taint import NONE
from gitops_config.taint import SEALED
from gitops_config.taint import TAINTED
from gitops_config.taint import Held
from gitops_config.taint import SecretFlow
from gitops_config.taint import Tainted
from gitops_config.taint import derive
from gitops_config.yaml_io import Tagged

PLAIN = frozenset({str, int, float, bool, type(None)})
_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))
# Values that hold nothing of the data: Jinja's own runtime objects, functions.
_OPAQUE = (
    'Macro',
    'LoopContext',
    'Cycler',
    'Joiner',
    'BlockReference',
    'TemplateReference',
    'TemplateModule',
    'Context',
    'Markup',
)


@dataclass(slots=True)
class State:
    """One render in progress."""

    rec: trace.Recorder
    index: trace.Index
    secrets: bool  # the values hold a secret: taint is followed (else only reads are)


_STATE: ContextVar[State | None] = ContextVar('gitops_config_render', default=None)


def current() -> State | None:
    return _STATE.get()


@contextmanager
def rendering(state: State) -> Iterator[None]:
    token = _STATE.set(state)
    try:
        yield
    finally:
        _STATE.reset(token)


def scan(st: State, value: Any) -> int:
    """How much of a secret VALUE holds (taint.NONE, OPEN, SEALED); a container of
    the values it holds is recorded as read whole."""
    kind = type(value)
    if kind in PLAIN:
        return NONE
    if kind in TAINTED:
        return int(value.level)
    if kind is dict or kind is list or kind is tuple:
        key = id(value)
        paths = st.index.paths.get(key)
        if paths is not None:
            st.rec.whole.update(paths)
            return st.index.levels.get(key, NONE)
        level = NONE
        for item in value.items() if kind is dict else value:
            level |= scan(st, item)
        return level
    if kind is Held:
        return int(value.level)
    if (
        isinstance(value, (str, Undefined, Tagged, range))
        or value is ...
        or (callable(value) and (not hasattr(value, '__self__')))
    ):
        return NONE
    if kind in _VIEWS:
        return scan(st, gc.get_referents(value)[0])  # the dict it shows
    if kind is Namespace:
        return scan(st, object.__getattribute__(value, '_Namespace__attrs'))
    if isinstance(value, (set, frozenset)):
        return scan(st, tuple(value))
    if isinstance(value, (int, float)):
        return NONE
    if hasattr(value, '__self__'):  # a method: what it is bound to is what it reads
        owner = value.__self__
        return NONE if type(owner).__name__ == 'module' else scan(st, owner)
    if type(value).__name__ in _OPAQUE or isinstance(value, Iterator):
        return NONE  # an iterator a filter made: the data it came from was recorded then
    st.rec.whole.add(trace.EVERYTHING)  # cannot tell what it holds: depends on everything
    return NONE


def scan_all(st: State, values: Iterable[Any]) -> int:
    level = NONE
    for value in values:
        if type(value) not in PLAIN:
            level |= scan(st, value)
    return level


def is_tainted(value: Any) -> bool:
    """Whether VALUE itself was computed from a secret (not merely holds one)."""
    return type(value) in TAINTED


def apply(
    st: State,
    what: str,
    run: Callable[[], Any],
    inputs: list[Any],
    *,
    moves: bool = False,
    level: int | None = None,
) -> Any:
    """RUN (an operation named WHAT on INPUTS). Computed from a secret, its result is
    tainted; MOVES: it only moves its inputs' items around (a list, dictsort, first),
    so that items it is handed keep their own marks. LEVEL: INPUTS' scan, if done."""
    if level is None:
        level = scan_all(st, inputs)
    if not level or not st.secrets:
        return run()
    out = guarded(what, run)
    if moves and not any(type(x) in TAINTED for x in inputs):
        return Held(out, level) if isinstance(out, Iterator) else out
    if isinstance(out, Undefined):
        raise SecretFlow(f'{what}: a secret decides whether there is a value')
    try:
        return derive(out, level, inputs)
    except SecretFlow as exc:
        raise SecretFlow(f'{what} on a secret-derived value {exc}') from None


def guarded(what: str, run: Callable[[], Any]) -> Any:
    """RUN, an operation named WHAT on secret-derived values: an error it raises could
    quote the value it choked on, so only its kind is told."""
    try:
        return run()
    except (SecretFlow, TemplateLimit, MemoryError, RecursionError):
        raise  # they quote no value, and have errors of their own
    except Exception as exc:
        raise SecretFlow(
            f'{what} failed on a secret-derived value ({type(exc).__name__})',
        ) from None


def text(st: State | None, value: Any) -> Any:
    """VALUE as `{{ }}` or `~` prints it: tainted text when it holds a secret."""
    kind = type(value)
    if kind is str or kind is Tainted or st is None:
        return value
    level = scan(st, value) if kind not in PLAIN else NONE
    if level and st.secrets:
        return Tainted(str(value), sealed=level == SEALED)
    return value
