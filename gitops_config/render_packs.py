"""Rendered outputs kept across runs: one cache entry per environment, not per file.
(Compiled templates are kept the same way, in a pack of their own: BYTECODE.)

render.py keeps each template's output with the trace that verifies it (keyed by
the template and the environment, checked against the values on reuse). Creating
a file costs more here than rendering a small template does, so the entries of an
environment live in one pack: a run reads it once, and writes it once, at its end
(cache.finish), with what it added. A pack holds one entry per template: the
last rendered version of it, so it is as large as the project, however long it is
used.

A forked worker adds to its own copy; workers.py hands what it added (and which
entries it used) back to the parent, which writes. When two processes write one
pack at once, the last one wins and the other's entries are missed later:
rendered again, never wrong. The least recently used entries go first once a pack
holds more than MAX_ENTRIES (templates that are long gone).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from dataclasses import field

from gitops_config import cache

NAMESPACE = 'render-pack'
BYTECODE = '(bytecode)'  # the pack of compiled templates, shared by every environment
MAX_ENTRIES = 50_000
Kept = tuple[str, bytes]  # the render digest (template, its text, env), the payload


@dataclass
class _Pack:
    entries: dict[str, Kept]  # template path -> its entry, least recently used first
    stamp: tuple[int, int] | None  # the file's (mtime, size) when read
    added: dict[str, Kept] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)


# (cache folder, environment) -> its pack, as this process sees it
_PACKS: dict[tuple[object, str], _Pack] = cache.memo()

News = list[tuple[str, dict[str, 'Kept'], set[str]]]  # env, added, used


def _name(env: str) -> str:
    return cache.key(NAMESPACE, env)


def location(env: str) -> str:
    """Where ENV's pack is (or would be) in the cache folder."""
    return cache.default().path(NAMESPACE, _name(env))


def _stamp(store: cache.Cache, env: str) -> tuple[int, int] | None:
    try:
        st = os.stat(store.path(NAMESPACE, _name(env)))
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _read(store: cache.Cache, env: str) -> dict[str, Kept]:
    blob = store.get(NAMESPACE, _name(env))
    if blob is None:
        return {}
    try:
        entries = pickle.loads(blob)
    except Exception:  # a damaged or foreign pack is empty, never an error
        return {}
    return entries if isinstance(entries, dict) else {}


def _pack(env: str) -> _Pack | None:
    store = cache.default()
    if not store.enabled:
        return None
    memo = (store.directory, env)
    found = _PACKS.get(memo)
    if found is None:
        stamp = _stamp(store, env)
        found = _PACKS[memo] = _Pack(_read(store, env) if stamp else {}, stamp)
    return found


def preload(envs: list[str]) -> None:
    """Read ENVS' packs now, so that forked workers inherit them."""
    for env in envs:
        _pack(env)


def get(env: str, template: str, digest: str) -> bytes | None:
    """What TEMPLATE's last render for ENV kept, if it is that of DIGEST."""
    pack = _pack(env)
    if pack is None:
        return None
    found = pack.added.get(template) or pack.entries.get(template)
    if found is None or found[0] != digest:
        return None
    pack.used.add(template)
    return found[1]


def put(env: str, template: str, digest: str, payload: bytes) -> None:
    pack = _pack(env)
    if pack is not None:
        pack.added[template] = (digest, payload)


def take_news() -> News:
    """What this process added and used since it started (a worker's report)."""
    news = [(env, pack.added, pack.used) for (_, env), pack in _PACKS.items()
            if pack.added or pack.used]
    for pack in _PACKS.values():
        pack.added, pack.used = {}, set()
    return news


def absorb(news: News) -> None:
    """Take a worker's NEWS as this process's own."""
    for env, added, used in news:
        pack = _pack(env)
        if pack is not None:
            pack.added.update(added)
            pack.used.update(used)


def flush() -> None:
    """Write every pack this process added to; the cache calls it at the end of a run."""
    store = cache.default()
    for (directory, env), pack in list(_PACKS.items()):
        if not pack.added or directory != store.directory:
            continue
        entries = pack.entries
        if _stamp(store, env) != pack.stamp:  # written meanwhile: keep its entries too
            entries = {**entries, **_read(store, env)}
        kept = {t: e for t, e in entries.items() if t not in pack.used and t not in pack.added}
        recent = {t: entries[t] for t in sorted(pack.used) if t in entries and t not in pack.added}
        merged = {**kept, **recent, **pack.added}
        for template in list(merged)[:max(0, len(merged) - MAX_ENTRIES)]:
            del merged[template]
        store.put(NAMESPACE, _name(env), pickle.dumps(merged, protocol=pickle.HIGHEST_PROTOCOL))
        pack.entries, pack.added, pack.used = merged, {}, set()
        pack.stamp = _stamp(store, env)


def forget_in_child() -> None:
    """A forked worker reports only its own news: its parent writes what it had."""
    for pack in _PACKS.values():
        pack.entries = {**pack.entries, **pack.added}
        pack.added, pack.used = {}, set()


cache.at_finish(flush)
