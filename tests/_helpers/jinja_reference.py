"""Plain Jinja2, configured as gitops-config renders: what templates must see."""

from __future__ import annotations

import functools

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gitops_config import render as render_mod
from gitops_config.sandbox.filters import OURS


def reference(loader: jinja2.BaseLoader | None = None) -> ImmutableSandboxedEnvironment:
    """Jinja2's immutable sandbox with the tool's options: its Undefined, its own filters,
    and filters and tests that fail on an undefined name (render.py), none of its hooks."""
    env = ImmutableSandboxedEnvironment(
        undefined=render_mod._undefined(),
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        loader=loader,
    )
    env.filters.update(OURS)
    env.filters.pop('random', None)
    for table in (env.filters, env.tests):
        for name, func in table.items():
            if name not in render_mod._SEE_UNDEFINED:
                table[name] = render_mod._refusing_undefined(func)
    env.globals.pop('lipsum', None)
    return env


@functools.lru_cache(maxsize=1024)
def compiled(source: str) -> jinja2.Template:
    """SOURCE compiled by reference(), once."""
    return _shared().from_string(source)


@functools.cache
def _shared() -> ImmutableSandboxedEnvironment:
    return reference()
