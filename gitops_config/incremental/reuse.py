"""The one interface the pipeline calls for earlier work: Reuse.

A run holds one Reuse. It answers "the output of this template for these
values", "this layer, parsed", "what this environment's exact inputs rendered
to", "the files known clean under these rules", from what this run already did
and, with a store, from what earlier runs kept. Every answer is the one the pure
function (render.py, values.py) would give: the store changes timings only.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import render
from gitops_config import values as values_mod
from gitops_config.incremental import data
from gitops_config.incremental import renders
from gitops_config.incremental import snapshot as snapshots
from gitops_config.incremental.dependencies import Hasher
from gitops_config.incremental.packs import BYTECODE
from gitops_config.incremental.packs import News
from gitops_config.incremental.packs import Packs
from gitops_config.incremental.store import Store
from gitops_config.incremental.store import key
from gitops_config.incremental.verdicts import Verdicts
from gitops_config.limits import DEFAULT_LIMITS
from gitops_config.limits import Limits
from gitops_config.project import Project
from gitops_config.render import Prepared
from gitops_config.render import RenderedFile
from gitops_config.render import Template
from gitops_config.shard import Shard
from gitops_config.source import Source
from gitops_config.source import WorkTree
from gitops_config.values import Layer
from gitops_config.values import Values

if TYPE_CHECKING:
    from gitops_config.render import Compiled
    from gitops_config.sops.keys.ring import KeyRing

# How much of this run's own work is held in memory: enough for every environment of
# both sides of a diff; a long walk over history (history.py) starts afresh now and then.
_MAX_LAYERS = 512
_MAX_MERGED = 32
_MAX_PREPARED = 16
_MAX_LISTED = 8


class Reuse:
    """Earlier work, for one run: what it did itself, and (STORE) what earlier runs kept.
    Without a store nothing outlives the run."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self.packs = Packs(store)
        self._start()

    def _start(self) -> None:
        """What this process learns in the run, empty."""
        self._compiled: dict[tuple[str, str], Compiled] = {}
        # plaintext layers by (path, blob SHA): decrypted ones depend on the keys at hand
        self._layers: dict[tuple[str, str], Layer] = {}
        # (env, ids of its plaintext layers, merge rules) -> (the layers, their merge): a
        # diff and its validation merge the same layers several times; holding them keeps
        # the ids unique
        self._merged: dict[tuple[str, tuple[int, ...], str], tuple[tuple[Layer, ...], Values]] = {}
        # id(values) -> (values, prepared); holding the values keeps the id unique
        self._prepared: dict[int, tuple[Values, Prepared]] = {}
        # (id(source), folder) -> (source, its templates); likewise
        self._listed: dict[tuple[int, str], tuple[Source, list[Template]]] = {}
        # what this run learnt of each prepared environment, for as long as it lives
        self._learnt: weakref.WeakKeyDictionary[Prepared, _Learnt] = weakref.WeakKeyDictionary()

    @property
    def keeps(self) -> bool:
        """Whether answers outlive the run: there is a store, and it can be written."""
        return self.store is not None and self.store.enabled

    def __getstate__(self) -> dict[str, Any]:
        # to a worker process: the store's view, not this process's objects
        return {'store': self.store, 'packs': self.packs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start()

    # -- values --

    def layer(
        self, source: Source, path: str, *, sealed: bool = False, keys: KeyRing | None = None
    ) -> Layer:
        """The layer at PATH, parsed: a plaintext one once per run however many
        environments (and both sides of a diff) share it, and across runs by its blob
        SHA. A decrypted one is never kept: it depends on the keys at hand, and
        plaintext never goes to disk."""
        blob = source.blob_id(path)
        found = self._layers.get((path, blob))
        if found is not None:
            return found
        text = source.read(path)
        digest = key('layer', path, blob)
        kept = self.recall('layer', digest, data.YAML) if self.keeps else None
        if type(kept) is dict:
            layer = Layer(path, kept, text)
        else:
            layer = values_mod.parse_layer(text, path, sealed=sealed, keys=keys)
            if layer.encrypted:
                return layer
            self.remember('layer', digest, layer.data, data.YAML)
        if len(self._layers) >= _MAX_LAYERS:
            self._layers.clear()
        self._layers[(path, blob)] = layer
        return layer

    def merge(
        self,
        source: Source,
        project: Project,
        env: str,
        *,
        sealed: bool = False,
        keys: KeyRing | None = None,
        no_key_hint: str = values_mod.NO_KEY_HINT,
    ) -> Values:
        """ENV's values at SOURCE, its layers read through layer(): one Values object for
        the same plaintext layers, so that what the run rendered for them is rendered once
        (see values.merge for the rest)."""
        loaded = values_mod.load_layers(
            source,
            project,
            env,
            lambda s, p: self.layer(s, p, sealed=sealed, keys=keys),
            no_key_hint,
        )
        memo = (env, tuple(id(layer) for layer in loaded), repr(project.merge))
        found = self._merged.get(memo)
        if found is not None:
            return found[1]
        merged = values_mod.merge_loaded(env, project, loaded)
        if not any(layer.encrypted for layer in loaded):  # a decrypted one is never kept
            if len(self._merged) >= _MAX_MERGED:
                self._merged.clear()
            self._merged[memo] = (loaded, merged)
        return merged

    # -- rendering --

    def prepared(self, values: Values, limits: Limits = DEFAULT_LIMITS) -> Prepared:
        """What rendering VALUES needs: once per Values object (merging shares those),
        so what this run rendered for them is rendered once."""
        found = self._prepared.get(id(values))
        if found is not None and found[0] is values and found[1].limits == limits:
            found[1].budget.reset()  # a new rendering of the environment: its time anew
            return found[1]
        prepared = render.prepare(values, limits)
        if len(self._prepared) >= _MAX_PREPARED:
            self._prepared.clear()
        self._prepared[id(values)] = (values, prepared)
        return prepared

    def templates(self, source: Source, project: Project) -> list[Template]:
        """PROJECT's templates at SOURCE: listed once per commit (a working tree may
        change between two calls)."""
        memo = (id(source), project.templates or '')
        found = self._listed.get(memo)
        if found is None or found[0] is not source or isinstance(source, WorkTree):
            if len(self._listed) >= _MAX_LISTED:
                self._listed.clear()
            found = self._listed[memo] = (source, render.templates(source, project))
        return list(found[1])

    def compile(self, source_text: str, name: str) -> Compiled:
        """The template compiled: once per run, and with a store, from earlier runs'."""
        found = self._compiled.get((source_text, name))
        if found is None:
            found = (
                renders.compiled(self.packs, source_text, name)
                if self.keeps
                else (render.compile_template(source_text, name))
            )
            self._compiled[(source_text, name)] = found
        return found

    def _of(self, prepared: Prepared) -> _Learnt:
        found = self._learnt.get(prepared)
        if found is None:
            found = self._learnt[prepared] = _Learnt()
        return found

    def output(self, template: Template, prepared: Prepared) -> RenderedFile:
        """TEMPLATE's output for PREPARED: as this run rendered it, as a verifying trace
        kept it, or rendered now (and kept)."""
        learnt = self._of(prepared)
        memo = (template.path, template.blob) if template.blob else None
        done = learnt.rendered.get(memo) if memo is not None else None
        if done is not None:
            return done
        found = None
        if self.keeps and template.rel.endswith(render.TEMPLATE_SUFFIX):
            found = renders.kept(self.packs, template, prepared, learnt.hasher(prepared))
        if found is None:
            found, rec = render.render_traced(template, prepared, self.compile)
            if rec is not None and self.keeps:
                renders.keep(self.packs, template, prepared, learnt.hasher(prepared), found, rec)
        if memo is not None:
            learnt.rendered[memo] = found
        return found

    def vouched(
        self,
        template: Template,
        prepared: Prepared,
        output: str,
    ) -> RenderedFile | None:
        """TEMPLATE's output as kept, if its SHA-256 is OUTPUT: a snapshot of these exact
        inputs vouches for it, so its trace need not be verified. None: render it."""
        if not self.keeps or not template.rel.endswith(render.TEMPLATE_SUFFIX):
            return None
        learnt = self._of(prepared)
        memo = (template.path, template.blob) if template.blob else None
        done = learnt.rendered.get(memo) if memo is not None else None
        if done is not None:
            return done
        found = renders.kept(self.packs, template, prepared, learnt.hasher(prepared), output=output)
        if found is not None and memo is not None:
            learnt.rendered[memo] = found
        return found

    def learn(self, template: Template, prepared: Prepared, file: RenderedFile) -> None:
        """FILE is TEMPLATE's output for PREPARED (a worker rendered it)."""
        if template.blob:
            self._of(prepared).rendered[(template.path, template.blob)] = file

    # -- workers --

    def before_workers(self, envs: list[str]) -> None:
        """Read what workers will look up now, once, rather than in each of them."""
        self.packs.preload([BYTECODE, *envs])

    def in_worker(self) -> None:
        self.packs.in_worker()

    def news(self) -> News:
        """What a worker added to the packs: its parent keeps it."""
        return self.packs.take_news()

    def absorb(self, news: News) -> None:
        self.packs.absorb(news)

    # -- snapshots --

    def snapshot_key(
        self, env: str, inputs: Mapping[str, str], *, sealed: bool, shard: Shard | None
    ) -> str | None:
        """The key of ENV's snapshot with INPUTS; None: this run keeps no snapshots."""
        return snapshots.key(env, inputs, sealed=sealed, shard=shard) if self.keeps else None

    def snapshot(self, digest: str) -> snapshots.Snapshot | None:
        return (
            snapshots.load(self.store, digest) if self.store is not None and self.keeps else (None)
        )

    def has_snapshot(self, digest: str) -> bool:
        return self.store is not None and self.store.has('snapshot', digest)

    def save_snapshot(self, digest: str, found: snapshots.Snapshot) -> None:
        if self.store is not None and self.keeps:
            snapshots.save(self.store, digest, found)

    # -- checks --

    def verdicts(self, context: str | None) -> Verdicts:
        """The files known clean where CONTEXT (a key of everything else that decides a
        verdict) holds; None: none are (a rule reads the values)."""
        return Verdicts(self.store if self.keeps else None, context)

    # -- other results, kept as plain data --

    def recall(self, namespace: str, digest: str, kinds: data.Kinds = data.PLAIN) -> Any:
        """What remember() kept under DIGEST; None when nothing (or a damaged entry) is."""
        blob = self.store.get(namespace, digest) if self.store is not None else None
        if blob is None:
            return None
        try:
            return data.loads(blob, kinds)
        except data.Damaged:  # damaged or forged: a miss
            return None

    def remember(
        self, namespace: str, digest: str, value: object, kinds: data.Kinds = data.PLAIN
    ) -> None:
        """Keep VALUE, unless it holds anything but plain data of KINDS (a secret)."""
        if self.store is None or not self.keeps:
            return
        with contextlib.suppress(data.Refused):
            self.store.put(namespace, digest, data.dumps(value, kinds))

    def finish(self) -> None:
        """The run is over: write what it added to the packs."""
        self.packs.flush()


class _Learnt:
    """What a run learns of one prepared environment: what each template (path, blob)
    rendered to (a diff's head side and its validation render each file once between
    them), and the hashes of its values that kept outputs' traces are checked against."""

    __slots__ = ('_hasher', 'rendered')

    def __init__(self) -> None:
        self._hasher: Hasher | None = None
        self.rendered: dict[tuple[str, str], RenderedFile] = {}

    def hasher(self, prepared: Prepared) -> Hasher:
        """The hashes of PREPARED's values (this is what was learnt of it)."""
        if self._hasher is None:
            self._hasher = Hasher(prepared)
        return self._hasher
