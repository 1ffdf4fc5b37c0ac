"""Rendered outputs kept across runs: one index and one log per environment, not a
file per output. (Compiled templates are kept the same way: BYTECODE.)

render.py keeps each template's output with the trace that verifies it (keyed by
the template and the environment, checked against the values on reuse). Creating
a file costs more here than rendering a small template does, so an environment's
entries live together:
- the log: payloads, appended one run's worth at a time;
- the index: template path -> (render digest, where its payload is in the log,
  its SHA-256), one entry per template (the last rendered version of it).
A run reads the index, and only the payloads it uses; at its end (cache.finish)
it appends what it added and writes the index again. So a pull request that
renders twenty templates reads and writes twenty payloads, not the project.

The index is plain data (cache_data.py). A payload is checked when read against
the digest its slot holds, a SHA-256 of the payload and its render digest (so a
payload cannot stand in for another's), and for compiled templates an HMAC under
the key that cache.code_key keeps outside the cache folder: a compiled template
that we did not write is never run, and without the key none is kept. A damaged
or forged entry is a miss. A log's name in the index is used only when it is a
name we give logs, so an index cannot point reads, writes or removals elsewhere. A
forked worker adds to its own copy; workers.py hands what it added (and which
entries it used) back to the parent, which writes. Appends from several
processes never overlap (O_APPEND); of two indexes written at once the last
wins, and the other run's entries are rendered again later, never wrong. The
log is rewritten with only the live payloads when it is mostly dead, and the
least recently used entries go once an index holds more than MAX_ENTRIES.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import stat
from dataclasses import dataclass
from dataclasses import field

from gitops_config import cache
from gitops_config import cache_data

NAMESPACE = 'render-pack'
BYTECODE = '(bytecode)'  # the pack of compiled templates, shared by every environment
MAX_ENTRIES = 50_000
SLACK = 1 << 20  # dead bytes a log may hold beyond twice its live ones
# Where a payload is: (render digest, offset, length, its checksum: see _checksum)
Slot = tuple[str, int, int, bytes]
_LOG_NAME = re.compile(r'[0-9a-f]{64}\.log-[0-9]+-[0-9a-f]{8}')
Kept = tuple[str, bytes]  # the render digest (template, its text, env), the payload


@dataclass
class _Pack:
    log: str  # the log's file name, beside the index
    slots: dict[str, Slot]  # template path -> its slot, least recently used first
    stamp: tuple[int, int] | None  # the index file's (mtime, size) when read
    added: dict[str, Kept] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    handle: int | None = None  # the log, opened for reading on first use
    size: int = 0  # the log's size when opened: no slot reaches past it
    inherited: dict[str, Kept] = field(default_factory=dict)  # a worker's: its parent's adds


# (cache folder, environment) -> its pack, as this process sees it
_PACKS: dict[tuple[object, str], _Pack] = cache.memo()

News = list[tuple[str, dict[str, Kept], set[str]]]  # env, added, used


def _name(env: str) -> str:
    return cache.key(NAMESPACE, env)


def location(env: str) -> str:
    """Where ENV's index is (or would be) in the cache folder."""
    return cache.default().path(NAMESPACE, _name(env))


def _stamp(index: str) -> tuple[int, int] | None:
    try:
        st = os.stat(index)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _read_index(store: cache.Cache, env: str) -> tuple[str, dict[str, Slot]]:
    blob = store.get(NAMESPACE, _name(env))
    if blob is None:
        return '', {}
    try:
        log, rows = cache_data.loads(blob)
        if type(log) is not str or not _LOG_NAME.fullmatch(log) or type(rows) is not list:
            return '', {}
        slots = {}
        for template, digest, offset, length, checksum in rows:
            if (type(template) is not str or type(digest) is not str or type(offset) is not int
                    or type(length) is not int or type(checksum) is not bytes
                    or offset < 0 or length < 0):
                return '', {}
            slots[template] = (digest, offset, length, checksum)
    except (cache_data.Damaged, TypeError, ValueError):  # damaged or forged: empty
        return '', {}
    return log, slots


def _pack(env: str) -> _Pack | None:
    store = cache.default()
    if not store.enabled:
        return None
    memo = (store.directory, env)
    found = _PACKS.get(memo)
    if found is None:
        stamp = _stamp(location(env))
        log, slots = _read_index(store, env) if stamp else ('', {})
        found = _PACKS[memo] = _Pack(log, slots, stamp)
    return found


def preload(envs: list[str]) -> None:
    """Read ENVS' indexes now, so that forked workers inherit them."""
    for env in envs:
        _pack(env)


def get(env: str, template: str, digest: str) -> bytes | None:
    """What TEMPLATE's last render for ENV kept, if it is that of DIGEST."""
    pack = _pack(env)
    if pack is None:
        return None
    added = pack.added.get(template) or pack.inherited.get(template)
    if added is not None:
        return added[1] if added[0] == digest else None
    slot = pack.slots.get(template)
    if slot is None or slot[0] != digest:
        return None
    payload = _payload(env, pack, slot)
    if payload is not None:
        pack.used.add(template)
    return payload


def _payload(env: str, pack: _Pack, slot: Slot) -> bytes | None:
    digest, offset, length, checksum = slot
    try:
        if pack.handle is None:
            handle = os.open(os.path.join(os.path.dirname(location(env)), pack.log),
                             cache.READ_FLAGS)
            st = os.fstat(handle)
            if not stat.S_ISREG(st.st_mode):
                os.close(handle)
                return None
            pack.handle, pack.size = handle, st.st_size
        if offset + length > pack.size:
            return None  # not in the log as it was: forged, or the log was cut short
        payload = os.pread(pack.handle, length, offset)
    except OSError:  # the log was pruned or rewritten meanwhile: a miss
        return None
    expected = _checksum(env, digest, payload)
    return payload if expected is not None and hmac.compare_digest(expected, checksum) else None


def _checksum(env: str, digest: str, payload: bytes) -> bytes | None:
    """What a slot holds to vouch for PAYLOAD as DIGEST's: for compiled templates, which
    are code, an HMAC under a key outside the cache folder (None: there is none)."""
    if env == BYTECODE:
        key = cache.code_key()
        return hmac.digest(key, digest.encode() + payload, 'sha256') if key else None
    return hashlib.sha256(digest.encode() + payload).digest()


def put(env: str, template: str, digest: str, payload: bytes) -> None:
    pack = _pack(env)
    if pack is not None and (env != BYTECODE or cache.code_key() is not None):
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


def forget_in_child() -> None:
    """A forked worker reports only its own news: its parent writes what it had
    (and what the parent added but has not written yet stays readable)."""
    for pack in _PACKS.values():
        pack.inherited = {**pack.inherited, **pack.added}
        pack.added, pack.used = {}, set()


def flush() -> None:
    """Write every pack this process added to; the cache calls it at the end of a run."""
    store = cache.default()
    for (directory, env), pack in list(_PACKS.items()):
        if pack.added and directory == store.directory:
            try:
                _write(store, env, pack)
            except OSError as exc:
                store.failed(exc)
        if pack.handle is not None:
            with contextlib.suppress(OSError):
                os.close(pack.handle)
            pack.handle = None


def _write(store: cache.Cache, env: str, pack: _Pack) -> None:
    index = location(env)
    folder = os.path.dirname(index)
    if _stamp(index) != pack.stamp:  # written meanwhile: keep its entries too
        log, slots = _read_index(store, env)
        if log == pack.log:
            pack.slots = {**pack.slots, **slots}
        elif log:  # another run rewrote the log: its index is the one to extend
            pack.log, pack.slots = log, slots
    live = sum(slot[2] for slot in pack.slots.values() if slot[0])
    size = _size(folder, pack.log)
    if not pack.log or size is None or size > 3 * live + SLACK:
        _compact(folder, env, pack)
    store.folder(folder, again=True)
    blob = b''.join(payload for _, payload in pack.added.values())
    fd = os.open(os.path.join(folder, pack.log), os.O_WRONLY | os.O_APPEND | os.O_CREAT | (
        os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)), 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f'{pack.log} is not a file')
        os.write(fd, blob)  # one append: other processes' appends never land inside it
        offset = os.lseek(fd, 0, os.SEEK_CUR) - len(blob)
    finally:
        os.close(fd)
    fresh: dict[str, Slot] = {}
    for template, (digest, payload) in pack.added.items():
        checksum = _checksum(env, digest, payload)
        if checksum is not None:
            fresh[template] = (digest, offset, len(payload), checksum)
        offset += len(payload)
    kept = {t: s for t, s in pack.slots.items() if t not in pack.used and t not in fresh}
    recent = {t: pack.slots[t] for t in sorted(pack.used) if t in pack.slots and t not in fresh}
    slots = {**kept, **recent, **fresh}
    for template in list(slots)[:max(0, len(slots) - MAX_ENTRIES)]:
        del slots[template]
    rows = [[template, *slot] for template, slot in slots.items()]
    store.put(NAMESPACE, _name(env), cache_data.dumps([pack.log, rows]))
    pack.slots, pack.added, pack.used = slots, {}, set()
    pack.stamp = _stamp(index)


def _size(folder: str, log: str) -> int | None:
    try:
        return os.stat(os.path.join(folder, log)).st_size if log else None
    except OSError:
        return None


def _compact(folder: str, env: str, pack: _Pack) -> None:
    """Start a new log holding only the live payloads (of the old log, those this
    process can still read back); the old one goes once the new index is written."""
    old = pack.log
    keep = {t: s for t, s in pack.slots.items() if t not in pack.added}
    payloads = {t: p for t, s in keep.items() if (p := _payload(env, pack, s)) is not None}
    pack.log = f'{os.path.basename(location(env))}.log-{os.getpid()}-{os.urandom(4).hex()}'
    pack.slots = {}
    pack.added = {**{t: (keep[t][0], p) for t, p in payloads.items()}, **pack.added}
    if pack.handle is not None:
        os.close(pack.handle)
        pack.handle = None
    if old:
        _STALE.append(os.path.join(folder, old))


# Logs replaced by a compaction: removed at the end of the flush that wrote the index.
_STALE: list[str] = []


def _remove_stale() -> None:
    while _STALE:
        with contextlib.suppress(OSError):
            os.unlink(_STALE.pop())


cache.at_finish(flush)
cache.at_finish(_remove_stale)
