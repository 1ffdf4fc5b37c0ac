"""Files known to have nothing to report: each content is checked once.

Per environment, one cache entry maps each file checked clean (no schema
error, no document-rule hit) to the digest of that content, under a key made
of everything else that decides it: the rules, .sops.yaml and key patterns,
the schema files and the settings. A file whose content is unchanged is then
neither parsed nor checked again. Only "clean" is kept: a finding is always
computed anew, so its line and origin are current. A file that holds a secret
is never recorded (no hash of a plaintext goes to disk).
"""

from __future__ import annotations

from collections.abc import Iterable

from gitops_config.incremental import data
from gitops_config.incremental.store import Store
from gitops_config.incremental.store import key

Verdict = tuple[str, bool]  # (content digest, structured: it has documents)
LAYERS = ''  # the "environment" of value layers, which are checked once for all


class Verdicts:
    def __init__(self, store: Store | None, context: str | None) -> None:
        """CONTEXT: a key of everything but the file that decides a verdict; None
        turns verdicts off (a rule reads the values); so does STORE None (no cache)."""
        self._store = store
        self._context = context if store is not None and store.enabled else None
        self._known: dict[str, dict[str, Verdict]] = {}
        self._offered: dict[str, dict[str, Verdict]] = {}

    def _key(self, env: str) -> str:
        assert self._context is not None
        return key('verdicts', self._context, env)

    def _clean(self, env: str) -> dict[str, Verdict]:
        found = self._known.get(env)
        if found is None:
            found = {}
            assert self._store is not None
            blob = self._store.get('verdicts', self._key(env))
            if blob is not None:
                found = _decoded(blob)
            self._known[env] = found
        return found

    def known(self, env: str, path: str, digest: str) -> Verdict | None:
        """PATH's verdict, when its content (DIGEST) was found clean before."""
        verdict = self.clean(env).get(path)
        return verdict if verdict is not None and verdict[0] == digest else None

    def clean(self, env: str) -> dict[str, Verdict]:
        """Path -> verdict of every file of ENV found clean before (for a loop over
        thousands of files, where a call per file shows)."""
        return self._clean(env) if self._context is not None else {}

    def offer(self, env: str, path: str, digest: str, *, structured: bool) -> None:
        """PATH (with content DIGEST) was checked: clean unless settle() hears otherwise."""
        if self._context is not None:
            self._offered.setdefault(env, {})[path] = (digest, structured)

    def settle(self, dirty: Iterable[tuple[str, str]]) -> None:
        """Keep what was offered, but for the (env, path) pairs with a finding."""
        bad = set(dirty)
        for env, offered in self._offered.items():
            known = self._clean(env)
            merged = {**known, **offered}
            for path in offered:
                if (env, path) in bad:
                    del merged[path]
            if merged != known:
                rows = [
                    [path, digest, structured]
                    for path, (digest, structured) in sorted(merged.items())
                ]
                assert self._store is not None
                self._store.put('verdicts', self._key(env), data.dumps(rows))
        self._offered.clear()


def _decoded(blob: bytes) -> dict[str, Verdict]:
    """The verdicts an entry holds; none when it is damaged or forged."""
    try:
        found = {path: (digest, structured) for path, digest, structured in data.loads(blob)}
    except (data.Damaged, TypeError, ValueError):
        return {}
    if all(type(p) is str and type(d) is str and type(s) is bool for p, (d, s) in found.items()):
        return found
    return {}
