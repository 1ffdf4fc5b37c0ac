"""Jinja2's immutable sandbox, as gitops-config renders templates in it.

Templates see the plain values Jinja2 would give them. Every use of a value
goes through a hook (environment.py, codegen.py) that records what the
template read (for reuse of its output, trace.py) and follows every secret
through what it computes (taint.py); where a secret would become plain text
in a way that cannot be followed, or an operation would build more than a cap
allows (limits.py), the render stops with one line naming the operation.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from jinja2 import StrictUndefined
from jinja2 import Undefined

from gitops_config.sandbox.environment import Sandbox
from gitops_config.sandbox.filters import install
from gitops_config.sandbox.flow import State
from gitops_config.sandbox.flow import current
from gitops_config.sandbox.flow import rendering
from gitops_config.sandbox.limits import TemplateLimit

__all__ = [
    'Sandbox',
    'State',
    'TemplateLimit',
    'code_version',
    'current',
    'environment',
    'install',
    'rendering',
]


def environment(undefined: type[Undefined] = StrictUndefined) -> Sandbox:
    """A new sandbox with our filters, every filter and test wrapped (filters.py)."""
    env = Sandbox(undefined)
    install(env)
    return env


@functools.cache
def code_version() -> str:
    """What compiled templates depend on beyond Jinja2 and Python: the code generator and
    the environment's options it reads (intercepted operators, finalize). Part of the
    key of compiled code kept across runs: code compiled without a hook never runs."""
    digest = hashlib.sha256()
    for name in ('codegen.py', 'environment.py'):
        digest.update(Path(__file__).with_name(name).read_bytes())
    return digest.hexdigest()
