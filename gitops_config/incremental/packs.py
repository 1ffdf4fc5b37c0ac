"""Rendered outputs kept across runs: one index and one log per environment, not a
file per output. (Compiled templates are kept the same way: BYTECODE.)

render.py keeps each template's output with the trace that verifies it (keyed by
the template and the environment, checked against the values on reuse). Creating
a file costs more here than rendering a small template does, so an environment's
entries live together:
- the log: payloads, appended one run's worth at a time;
- the index: template path -> (render digest, where its payload is in the log,
  its SHA-256), one entry per template (the last rendered version of it).
A run reads the index, and only the payloads it uses; at its end (Packs.flush)
it appends what it added and writes the index again. So a pull request that
renders twenty templates reads and writes twenty payloads, not the project.

The index is plain data (data.py). A payload is checked when read against
the digest its slot holds, a SHA-256 of the payload and its render digest (so a
payload cannot stand in for another's), and for compiled templates an HMAC under
the key that Store.code_key keeps outside the cache folder: a compiled template
that we did not write is never run, and without the key none is kept. A damaged
or forged entry is a miss. A log's name in the index is used only when it is a
name we give logs, so an index cannot point reads, writes or removals elsewhere. A
worker process adds to its own copy; workers.py hands what it added (and which
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
from typing import Any

from gitops_config.incremental import data
from gitops_config.incremental.store import READ_FLAGS
from gitops_config.incremental.store import Store
from gitops_config.incremental.store import key

NAMESPACE = 'render-pack'
BYTECODE = '(bytecode)'  # the pack of compiled templates, shared by every environment
MAX_ENTRIES = 50_000
SLACK = 1 << 20  # dead bytes a log may hold beyond twice its live ones
# Where a payload is: (render digest, offset, length, its checksum: see _checksum)
Slot = tuple[str, int, int, bytes]
_LOG_NAME = re.compile(r'[0-9a-f]{64}\.log-[0-9]+-[0-9a-f]{8}')
Kept = tuple[str, bytes]  # the render digest (template, its text, env), the payload
News = list[tuple[str, dict[str, Kept], set[str]]]  # env, added, used


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

    def __getstate__(self) -> dict[str, Any]:
        # to a worker process: a file descriptor means nothing there
        return {**self.__dict__, 'handle': None, 'size': 0}


def _name(env: str) -> str:
    return key(NAMESPACE, env)


def _size(folder: str, log: str) -> int | None:
    try:
        return os.stat(os.path.join(folder, log)).st_size if log else None
    except OSError:
        return None


def _stamp(index: str) -> tuple[int, int] | None:
    try:
        st = os.stat(index)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Packs:
    """The packs of one store, as this process sees them: read on first use, added to
    during the run, written by flush()."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self._packs: dict[str, _Pack] = {}
        self._stale: list[str] = []  # logs a compaction replaced: removed after the flush

    def location(self, env: str) -> str:
        """Where ENV's index is (or would be) in the cache folder."""
        assert self.store is not None
        return self.store.path(NAMESPACE, _name(env))

    def _read_index(self, env: str) -> tuple[str, dict[str, Slot]]:
        assert self.store is not None
        blob = self.store.get(NAMESPACE, _name(env))
        if blob is None:
            return '', {}
        try:
            log, rows = data.loads(blob)
            if type(log) is not str or not _LOG_NAME.fullmatch(log) or type(rows) is not list:
                return '', {}
            slots = {}
            for template, digest, offset, length, checksum in rows:
                if (
                    type(template) is not str
                    or type(digest) is not str
                    or type(offset) is not int
                    or type(length) is not int
                    or type(checksum) is not bytes
                    or offset < 0
                    or length < 0
                ):
                    return '', {}
                slots[template] = (digest, offset, length, checksum)
        except (data.Damaged, TypeError, ValueError):  # damaged or forged: empty
            return '', {}
        return log, slots

    def _pack(self, env: str) -> _Pack | None:
        if self.store is None or not self.store.enabled:
            return None
        found = self._packs.get(env)
        if found is None:
            stamp = _stamp(self.location(env))
            log, slots = self._read_index(env) if stamp else ('', {})
            found = self._packs[env] = _Pack(log, slots, stamp)
        return found

    def preload(self, envs: list[str]) -> None:
        """Read ENVS' indexes (and the key for compiled templates) now, once, rather
        than in each worker."""
        for env in envs:
            self._pack(env)
        if self.store is not None:
            self.store.code_key()

    def get(self, env: str, template: str, digest: str) -> bytes | None:
        """What TEMPLATE's last render for ENV kept, if it is that of DIGEST."""
        pack = self._pack(env)
        if pack is None:
            return None
        added = pack.added.get(template) or pack.inherited.get(template)
        if added is not None:
            return added[1] if added[0] == digest else None
        slot = pack.slots.get(template)
        if slot is None or slot[0] != digest:
            return None
        payload = self._payload(env, pack, slot)
        if payload is not None:
            pack.used.add(template)
        return payload

    def _payload(self, env: str, pack: _Pack, slot: Slot) -> bytes | None:
        digest, offset, length, checksum = slot
        try:
            if pack.handle is None:
                handle = os.open(
                    os.path.join(os.path.dirname(self.location(env)), pack.log), READ_FLAGS
                )
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
        expected = self._checksum(env, digest, payload)
        return payload if expected is not None and hmac.compare_digest(expected, checksum) else None

    def _checksum(self, env: str, digest: str, payload: bytes) -> bytes | None:
        """What a slot holds to vouch for PAYLOAD as DIGEST's: for compiled templates,
        which are code, an HMAC under a key outside the cache folder (None: there is
        none)."""
        if env == BYTECODE:
            code_key = self.store.code_key() if self.store is not None else None
            return hmac.digest(code_key, digest.encode() + payload, 'sha256') if code_key else None
        return hashlib.sha256(digest.encode() + payload).digest()

    def put(self, env: str, template: str, digest: str, payload: bytes) -> None:
        pack = self._pack(env)
        if pack is not None and (
            env != BYTECODE or (self.store is not None and self.store.code_key() is not None)
        ):
            pack.added[template] = (digest, payload)

    def in_worker(self) -> None:
        """In a worker process: report only its own news; its parent writes what it had
        (and what the parent added but has not written yet stays readable)."""
        for pack in self._packs.values():
            pack.inherited = {**pack.inherited, **pack.added}
            pack.added, pack.used = {}, set()

    def take_news(self) -> News:
        """What this process added and used since it started or last said (a worker's
        report)."""
        news = [
            (env, pack.added, pack.used)
            for env, pack in self._packs.items()
            if pack.added or pack.used
        ]
        for pack in self._packs.values():
            pack.added, pack.used = {}, set()
        return news

    def absorb(self, news: News) -> None:
        """Take a worker's NEWS as this process's own."""
        for env, added, used in news:
            pack = self._pack(env)
            if pack is not None:
                pack.added.update(added)
                pack.used.update(used)

    def flush(self) -> None:
        """Write every pack this process added to: at the end of a run."""
        store = self.store
        for env, pack in self._packs.items():
            if pack.added and store is not None and store.enabled:
                try:
                    self._write(store, env, pack)
                except OSError as exc:
                    store.failed(exc)
            if pack.handle is not None:
                with contextlib.suppress(OSError):
                    os.close(pack.handle)
                pack.handle = None
        while self._stale:
            with contextlib.suppress(OSError):
                os.unlink(self._stale.pop())

    def _write(self, store: Store, env: str, pack: _Pack) -> None:
        index = self.location(env)
        folder = os.path.dirname(index)
        if _stamp(index) != pack.stamp:  # written meanwhile: keep its entries too
            log, slots = self._read_index(env)
            if log == pack.log:
                pack.slots = {**pack.slots, **slots}
            elif log:  # another run rewrote the log: its index is the one to extend
                pack.log, pack.slots = log, slots
        live = sum(slot[2] for slot in pack.slots.values() if slot[0])
        size = _size(folder, pack.log)
        if not pack.log or size is None or size > 3 * live + SLACK:
            self._compact(folder, env, pack)
        store.folder(folder, again=True)
        blob = b''.join(payload for _, payload in pack.added.values())
        fd = os.open(
            os.path.join(folder, pack.log),
            os.O_WRONLY
            | os.O_APPEND
            | os.O_CREAT
            | (os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)),
            0o644,
        )
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f'{pack.log} is not a file')
            os.write(fd, blob)  # one append: other processes' appends never land inside it
            offset = os.lseek(fd, 0, os.SEEK_CUR) - len(blob)
        finally:
            os.close(fd)
        fresh: dict[str, Slot] = {}
        for template, (digest, payload) in pack.added.items():
            checksum = self._checksum(env, digest, payload)
            if checksum is not None:
                fresh[template] = (digest, offset, len(payload), checksum)
            offset += len(payload)
        kept = {t: s for t, s in pack.slots.items() if t not in pack.used and t not in fresh}
        recent = {t: pack.slots[t] for t in sorted(pack.used) if t in pack.slots and t not in fresh}
        slots = {**kept, **recent, **fresh}
        for template in list(slots)[: max(0, len(slots) - MAX_ENTRIES)]:
            del slots[template]
        rows = [[template, *slot] for template, slot in slots.items()]
        store.put(NAMESPACE, _name(env), data.dumps([pack.log, rows]))
        pack.slots, pack.added, pack.used = slots, {}, set()
        pack.stamp = _stamp(index)

    def _compact(self, folder: str, env: str, pack: _Pack) -> None:
        """Start a new log holding only the live payloads (of the old log, those this
        process can still read back); the old one goes once the new index is written."""
        old = pack.log
        keep = {t: s for t, s in pack.slots.items() if t not in pack.added}
        payloads = {t: p for t, s in keep.items() if (p := self._payload(env, pack, s)) is not None}
        pack.log = f'{os.path.basename(self.location(env))}.log-{os.getpid()}-{os.urandom(4).hex()}'
        pack.slots = {}
        pack.added = {**{t: (keep[t][0], p) for t, p in payloads.items()}, **pack.added}
        if pack.handle is not None:
            os.close(pack.handle)
            pack.handle = None
        if old:
            self._stale.append(os.path.join(folder, old))
