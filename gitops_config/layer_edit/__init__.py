"""`set` and `unset`: edit one value layer in place, changing exactly what KEYPATH
names in the merged values, or refusing (issue 11.1).

KEYPATH resolves as `get` resolves it, in the merged values of every environment the
layer feeds; plan.py works out the least change to the layer; the edit is checked
against the project before it is written, and again after, re-read from disk, all
under the file's lock (issue 14.7). A file that no environment reads as a layer is
edited as plain YAML.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Literal

from gitops_config import constants as C
from gitops_config import edit_lock
from gitops_config import keypath
from gitops_config import project as project_mod
from gitops_config import revision
from gitops_config import values
from gitops_config.equality import same
from gitops_config.errors import FileMissingError
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import InvalidProjectError
from gitops_config.fsutil import atomic_write
from gitops_config.fsutil import read_file
from gitops_config.layer_edit import plan
from gitops_config.layer_edit.formats import LayerFormat
from gitops_config.layer_edit.formats import PlainYaml
from gitops_config.layer_edit.plan import MISSING
from gitops_config.layer_edit.plan import CannotEditError
from gitops_config.layer_edit.plan import Change
from gitops_config.layer_edit.snapshot import Snapshot
from gitops_config.layer_edit.target import IdStep
from gitops_config.layer_edit.target import Index
from gitops_config.layer_edit.target import Item
from gitops_config.layer_edit.target import Shadow
from gitops_config.layer_edit.target import Stack
from gitops_config.layer_edit.target import Target
from gitops_config.layer_edit.target import resolve
from gitops_config.layer_edit.target import shadow
from gitops_config.layer_edit.target import trace
from gitops_config.layer_edit.value import Mode
from gitops_config.layer_edit.value import typed
from gitops_config.layer_edit.verify import first_difference
from gitops_config.layer_edit.verify import value_at
from gitops_config.model import Location
from gitops_config.project import Project
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.source import WorkTree

__all__ = [
    'MISSING',
    'CannotEditError',
    'EditCheckError',
    'EnvResult',
    'Result',
    'set_value',
    'unset_value',
]


class EditCheckError(GitopsConfigError):
    """The file as written did not read back as planned; it was restored."""

    code = 'edit-check-failed'


@dataclass(frozen=True, slots=True)
class EnvResult:
    """What one environment's merged values say at KEYPATH after the edit."""

    env: str
    path: str  # KEYPATH
    state: Literal['changed', 'overridden', 'hidden']  # hidden: an ancestor is replaced
    by: Location | None = None  # the later layer that decides it, unless changed
    now: Any = MISSING  # the merged value now (MISSING: no longer set)
    origin: Location | None = None  # where `now` comes from


@dataclass(frozen=True, slots=True)
class Result:
    file: str
    key_path: str
    action: Literal['set', 'removed', 'deleted']  # deleted: a `!delete` was written
    value: Any
    envs: tuple[EnvResult, ...] = ()
    layer: bool = True  # False: no environment reads the file; edited as plain YAML
    in_project: bool = True


def set_value(
    file: Path,
    key_path: str,
    text: str,
    *,
    mode: Mode = 'auto',
    fmt: LayerFormat | None = None,
    keys: KeyRing | None = None,
) -> Result:
    """Set KEYPATH to VALUE (TEXT, typed as the value it replaces unless MODE says).
    KEYS open the encrypted layers (default: those the environment names now)."""
    steps = keypath.parse(key_path)
    with edit_lock.locked(file):
        return _Edit(file, fmt or PlainYaml(), key_path, keys or KeyRing()).set(steps, text, mode)


def unset_value(
    file: Path, key_path: str, *, fmt: LayerFormat | None = None, keys: KeyRing | None = None
) -> Result:
    """Remove the layer's own KEYPATH, or, where it comes from a layer below, `!delete` it.
    KEYS: as for set_value."""
    steps = keypath.parse(key_path)
    with edit_lock.locked(file):
        return _Edit(file, fmt or PlainYaml(), key_path, keys or KeyRing()).unset(steps)


class _Mismatch(Exception):
    def __init__(self, env: str, path: tuple[str | int, ...]) -> None:
        super().__init__(env, path)
        self.env = env
        self.path = keypath.format(path) or '(top level)'


# what an edit did in one environment, from its merged values after; None: not there
_Outcome = Callable[[Stack, Any, values.Values], EnvResult | None]


class _Edit:
    """One edit of FILE, read (under its lock) when made, its encrypted layers opened
    with KEYS."""

    def __init__(self, file: Path, fmt: LayerFormat, key_path: str, keys: KeyRing) -> None:
        self.file = file
        self.keys = keys
        self.key_path = key_path
        self.fmt = fmt
        self.where = str(file)
        try:
            self.original = read_file(file)  # never through a symlink the repository holds
        except FileNotFoundError:
            raise FileMissingError(f'{file}: no such file') from None
        except OSError as exc:
            raise FileMissingError(f'{file}: cannot read: {exc.strerror}') from None
        self.data = fmt.read(self.original, self.where, keys)
        self.project: Project | None = None
        self.stacks: list[Stack] = []
        self._open_project()

    def _open_project(self) -> None:
        try:
            root = revision.find_root(self.file.parent)
        except InvalidProjectError:
            return
        rel = Path(os.path.relpath(os.path.realpath(self.file), root))
        if rel.parts[0] == '..' or rel.as_posix() == C.PROJECT_FILE:
            return  # not in the project, or the project file itself: plain YAML
        self.rel = rel.as_posix()
        # the edited file as read under the lock, every other file as first read
        self.source = Snapshot(WorkTree(root)).with_file(self.rel, self.original)
        self.project = project_mod.load(self.source, root)
        for env in self.project.environments:
            if self.rel in env.layers:
                merged = values.merge(
                    self.source, self.project, env.name, sealed=True, keys=self.keys
                )
                self.stacks.append(Stack(merged, env.layers.index(self.rel)))

    # set

    def set(self, steps: tuple[keypath.Step, ...], text: str, mode: Mode) -> Result:
        key_path = self.key_path
        if not self.stacks:
            return self._set_plain(key_path, steps, text, mode)
        found = {s.env: resolve(s, steps, create=True) for s in self.stacks}
        visible = self._visible(key_path, found)
        stack, target = visible[0]
        value = typed(
            text, plan.current(stack, target), mode, missing=MISSING, reveal=self.fmt.reveal
        )
        change = self._one_change(key_path, [(s, plan.plan_set(s, t, value)) for s, t in visible])

        def outcome(
            stack: Stack,
            found: Target | Shadow,
            after: values.Values,
        ) -> EnvResult | None:
            if isinstance(found, Shadow):
                return self._unchanged(stack, after, found)
            skip = found.path[: found.held + 1]
            self._only_at(stack, after, skip)
            held, now = value_at(after.data, found.path)
            if held and same(value, now):
                return EnvResult(stack.env, self.key_path, 'changed', now=now)
            # a later layer decides it, and the edited one, as merged, says VALUE
            later = shadow(stack, found.ids)
            held, mine = self._through_layer(stack, after, found.ids)
            if later is None or not held or not same(value, mine):
                raise _Mismatch(stack.env, found.path)
            return EnvResult(
                stack.env,
                self.key_path,
                'hidden' if later.hides else 'overridden',
                by=later.location,
                now=now if held else MISSING,
            )

        envs = self._write(change, found, outcome)
        return Result(self.where, key_path, 'set', value, envs)

    def _set_plain(
        self, key_path: str, steps: tuple[keypath.Step, ...], text: str, mode: Mode
    ) -> Result:
        data = self.data if self.data is not None else {}
        where = f'{self.file}: '
        path, rest = keypath.resolve_prefix(data, steps, where=where)
        keys = [s for s in rest if isinstance(s, str)]
        if len(keys) != len(rest):
            keypath.resolve(data, steps, where=where)  # raises what `get` would
        old = MISSING if rest else keypath.get(data, path)
        value = typed(text, old, mode, missing=MISSING, reveal=self.fmt.reveal)
        nested = value
        for key in reversed(keys[1:]):
            nested = {key: nested}
        change = Change((*path, *keys[:1]), nested)
        self._commit(self.fmt.apply(self.original, change, self.where, self.keys))
        return Result(
            self.where, key_path, 'set', value, layer=False, in_project=self.project is not None
        )

    # unset

    def unset(self, steps: tuple[keypath.Step, ...]) -> Result:
        key_path = self.key_path
        if not self.stacks:
            path = keypath.resolve(self.data or {}, steps, where=f'{self.file}: ')
            self._commit(
                self.fmt.apply(self.original, Change(path, plan.REMOVE), self.where, self.keys)
            )
            return Result(
                self.where,
                key_path,
                'removed',
                MISSING,
                layer=False,
                in_project=self.project is not None,
            )
        found: dict[str, Target | Shadow | None] = {}
        error: keypath.KeyPathError | None = None
        for stack in self.stacks:
            try:
                found[stack.env] = resolve(stack, steps, create=False)
            except keypath.KeyPathError as exc:
                found[stack.env], error = None, error or exc
        if error is not None and not any(isinstance(f, Target) for f in found.values()):
            raise error
        visible = self._visible(key_path, found)
        change = self._one_change(key_path, [(s, plan.plan_unset(s, t)) for s, t in visible])

        def outcome(
            stack: Stack,
            found: Target | Shadow | None,
            after: values.Values,
        ) -> EnvResult | None:
            if not isinstance(found, Target):
                return self._unchanged(stack, after, found)
            self._only_at(stack, after, found.path)
            # by identity: a deleted item's index names the next item now
            path, depth, now = trace(after.data, found.ids)
            held = depth == len(found.ids) and not isinstance(found.ids[-1], Index)
            later = shadow(stack, found.ids) if held and change.deletes else None
            if (
                held
                and change.deletes
                and (later is None or self._through_layer(stack, after, found.ids)[0])
            ):
                raise _Mismatch(stack.env, found.path)  # it is back, and not from a later layer
            return EnvResult(
                stack.env,
                self.key_path,
                'changed' if later is None else 'overridden',
                by=later.location if later else None,
                now=now if held else MISSING,
                origin=after.provenance[path].location if held else None,
            )

        envs = self._write(change, found, outcome)
        return Result(
            self.where, key_path, 'deleted' if change.deletes else 'removed', MISSING, envs
        )

    # shared

    def _visible(self, key_path: str, found: dict[str, Any]) -> list[tuple[Stack, Target]]:
        """The environments where the layer's value shows at KEYPATH, which must all
        name the same node; refused when there is none."""
        visible = [(s, t) for s in self.stacks if isinstance(t := found[s.env], Target)]
        if not visible:
            hidden = [
                f'{env} from {f.location}' for env, f in found.items() if isinstance(f, Shadow)
            ]
            raise CannotEditError(
                f'{self.rel}: a later layer replaces {key_path} (or what holds it) in every '
                f'environment that reads this file: {", ".join(hidden)}',
                hint='edit that file instead',
            )
        (first_stack, first), *others = visible
        for stack, target in others:
            if target.ids != first.ids:
                raise CannotEditError(
                    f'{key_path} names different things in {first_stack.env} ({first.shown}) '
                    f'and {stack.env} ({target.shown}), which both read {self.rel}',
                    hint='name the item by its key field, e.g. [model_info.id=...]',
                )
        return visible

    def _one_change(self, key_path: str, changes: list[tuple[Stack, Change]]) -> Change:
        (first_stack, change), *others = changes
        for stack, other in others:
            if other.path != change.path or not same(other.value, change.value):
                raise CannotEditError(
                    f'{key_path}: {first_stack.env} and {stack.env} merge different values '
                    f'below {self.rel}, so no one change to it gives both the same result',
                    hint='set it in the layer of each environment instead',
                )
        return change

    def _only_at(
        self, stack: Stack, after: values.Values, skip: tuple[str | int, ...] | None
    ) -> None:
        diff = first_difference(stack.values.data, after.data, skip)
        if diff is not None:
            raise _Mismatch(stack.env, diff)

    def _through_layer(
        self,
        stack: Stack,
        after: values.Values,
        ids: tuple[IdStep, ...],
    ) -> tuple[bool, Any]:
        """Whether the layers up to the edited one, merged as AFTER read them, hold the
        node IDS names, and that node: what later layers may only override."""
        through = values.merge_layers(after.loaded[: stack.at + 1], stack.rules)
        _, depth, node = trace(through, ids)
        return depth == len(ids), node

    def _unchanged(
        self,
        stack: Stack,
        after: values.Values,
        found: Shadow | None,
    ) -> EnvResult | None:
        self._only_at(stack, after, None)
        if found is None:
            return None
        return EnvResult(stack.env, self.key_path, 'hidden', by=found.location)

    def _merged_with(self, data: bytes) -> dict[str, values.Values]:
        assert self.project is not None
        source = self.source.with_file(self.rel, data)
        return {
            s.env: values.merge(source, self.project, s.env, sealed=True, keys=self.keys)
            for s in self.stacks
        }

    def _write(
        self,
        change: Change,
        found: dict[str, Any],
        outcome: _Outcome,
    ) -> tuple[EnvResult, ...]:
        """Check CHANGE in memory, write it, and check it again as read back from disk;
        what OUTCOME says for each environment is the result."""
        new = self.fmt.apply(self.original, change, self.where, self.keys)

        def check(data: bytes) -> tuple[EnvResult, ...]:
            after = self._merged_with(data)
            results = (outcome(s, found[s.env], after[s.env]) for s in self.stacks)
            return tuple(r for r in results if r is not None)

        try:
            check(new)
        except _Mismatch as exc:
            keyed = [
                step
                for t in found.values()
                if isinstance(t, Target)
                for step in t.ids
                if isinstance(step, Item)
            ]
            raise CannotEditError(
                f'{self.rel}: no change to this layer sets only what was asked: in '
                f'{exc.env} it would also change {exc.path}',
                hint=f'layers match list items by {keyed[0].field}, which this file would '
                'encrypt: leave it unencrypted in .sops.yaml, or set the value in a '
                'plain layer'
                if keyed and self.fmt.encrypted
                else 'edit the whole value, or the layer that sets it',
            ) from None
        except values.LayerError as exc:
            raise CannotEditError(
                f'{self.rel}: after this edit, {exc.one_line()}',
                location=exc.location,
                hint='change that layer first',
            ) from None
        self._commit(new)
        try:
            return check(read_file(self.file))
        except (_Mismatch, GitopsConfigError) as exc:
            self._commit(self.original)
            shown = f'{exc.env} changed at {exc.path}' if isinstance(exc, _Mismatch) else str(exc)
            raise EditCheckError(
                f'{self.rel}: read back after the edit, {shown}; the file was restored',
                hint='this is a bug in gitops-config: please report it',
            ) from None

    def _commit(self, data: bytes) -> None:
        atomic_write(self.file, data)
