"""One run: what a command's work depends on beyond its arguments.

The CLI boundary makes one Run per command from the environment and hands it
down: the cache store (or none: --no-cache), how many processes render, which
share of the work is this one's (--shard), the private keys at hand, and the
time ages and expiry dates count to. Nothing in
the package keeps anything between runs in memory; two commands in one process
see exactly their own environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING

from gitops_config import clock
from gitops_config.incremental.store import Store
from gitops_config.incremental.store import default_dir
from gitops_config.incremental.store import key_path
from gitops_config.sops.keys.ring import KeyRing

if TYPE_CHECKING:
    from gitops_config.incremental.reuse import Reuse
    from gitops_config.shard import Shard

ENV_OFF = 'GITOPS_CONFIG_NO_CACHE'


@dataclass
class Run:
    """STORE: the on-disk cache (None: nothing outlives the run). JOBS: processes that
    render (None: one per core). SHARD: the share of the templates this run renders
    (None: all). KEYS: the private keys. NOW: the run's time."""

    store: Store | None = None
    jobs: int | None = None
    shard: Shard | None = None
    keys: KeyRing = field(default_factory=KeyRing)
    now: datetime = field(default_factory=clock.now)
    _reuse: Reuse | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        cache: bool = True,
        jobs: int | None = None,
        shard: Shard | None = None,
    ) -> Run:
        """The run ENVIRON (default: this process's) describes: the cache folder it names
        unless CACHE is off or GITOPS_CONFIG_NO_CACHE=1, its keys, its clock."""
        environ = dict(os.environ if environ is None else environ)
        off = not cache or environ.get(ENV_OFF, '') not in ('', '0')
        store = None if off else Store(default_dir(environ), key_file=key_path(environ))
        return cls(store, jobs, shard, KeyRing(environ), clock.now(environ))

    @property
    def reuse(self) -> Reuse:
        """The run's earlier work (incremental/): made on first use, since it brings the
        rendering stack, which a command that renders nothing need not load."""
        if self._reuse is None:
            # lazy: jinja2 loads only when reuse() runs (start-up)
            from gitops_config.incremental.reuse import Reuse

            self._reuse = Reuse(self.store)
        return self._reuse

    def finish(self) -> None:
        """The run is over: write what it kept for later runs."""
        if self._reuse is not None:
            self._reuse.finish()


def plain() -> Run:
    """A run for a library call given none: the keys and clock of the environment as it
    is now, and no store."""
    return Run.from_environment(cache=False)
