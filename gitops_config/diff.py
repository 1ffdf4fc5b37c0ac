"""The semantic diff engine: two sets of YAML documents -> model.Change records.

Pure and dependency-free. Equal subtrees are skipped early: first by identity
(`is`: unchanged inputs often share objects), then by `==` (C speed). Python's
`==` says `1 == True == 1.0`, so a non-strict pass may miss a change that
only swaps such types; `diff_documents` re-runs strictly whenever the fast
pass found nothing, and callers skip byte-identical files before diffing.

List items are matched by identity (a configured field, else the first of
`name`, `model_name`, `id` that every item has, uniquely), so a changed item
shows field-level changes, a moved one shows as moved, and one whose
identifying field changed shows as renamed. Multi-document files are matched
by Kubernetes kind/namespace/name, then identity, then position.

Secret leaves (redact.Secret, redact.SealedSecret) never leave this module as
values: they become `Masked`, carrying at most a keyed fingerprint.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import pickle
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_config import keypath
from gitops_config.equality import same
from gitops_config.equality import same_scalar
from gitops_config.keypath import Select
from gitops_config.masking import Masked as Masked  # diff.Masked: what changes carry
from gitops_config.masking import holds_secret
from gitops_config.masking import mask_pair
from gitops_config.masking import mask_value
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret

DEFAULT_IDENTITY = ('name', 'model_name', 'id')
Steps = tuple[str | int | Select, ...]


@dataclass(frozen=True, slots=True)
class IdentityRule:
    path: str  # KEYPATH glob of a list
    key: str  # the field identifying its items


@dataclass(frozen=True, slots=True)
class Options:
    identity: tuple[IdentityRule, ...] = ()
    default_keys: tuple[str, ...] = DEFAULT_IDENTITY
    key: bytes | None = None  # fingerprint key; None: no fingerprints
    strict: bool = False  # compare types exactly everywhere (no `==` shortcut)
    # Parses a multi-line string that holds YAML (a ConfigMap's data entry) so
    # that it diffs key by key; returns None when the text is not a collection.
    embedded: Callable[[str], Any] | None = None
    # A list of distinct scalars whose items only changed places is one MOVED
    # change ("order changed") instead of a change at every index.
    reorders: bool = True
    # The project's extra regexes of key names that hold secrets (secrets.key_patterns)
    secret_keys: tuple[str, ...] = ()


def is_secret(value: object) -> bool:
    return isinstance(value, (Secret, SealedSecret))


def mask(
    value: Any, key: bytes | None, *, name: object = None, patterns: tuple[str, ...] = ()
) -> Any:
    """VALUE with every secret in it Masked: masking.mask_value, the one masking pass."""
    return mask_value(value, key, name=name, patterns=patterns)


@functools.lru_cache(maxsize=512)
def _pattern(text: str) -> tuple[str | int | Select, ...]:
    return keypath.parse(text)


def match_steps(pattern: str, steps: Steps) -> bool:
    """Whether a change path matches a KEYPATH glob; a rule on a path covers its subtree.

    `*` is one key, `[*]` one item (by index or identity), `**` any depth;
    `[field=value]` matches an identity step or, given by index, nothing.
    """
    return bool(_reached(pattern, steps))  # as a prefix, a rule covers the whole subtree


def _reached(pattern: str, steps: Steps) -> set[int]:
    """Every position of STEPS that PATTERN can end at, one pass per pattern step: a
    pattern of many `**` (a hostile ignore rule) cannot take exponential time."""
    reached = {0}
    for p in _pattern(pattern):
        if p == '**':
            reached = set(range(min(reached), len(steps) + 1))
        else:
            reached = {j + 1 for j in reached if j < len(steps) and _step_matches(p, steps[j])}
        if not reached:
            break
    return reached


def _step_matches(p: str | int | Select, s: str | int | Select) -> bool:
    if p == '*':
        return isinstance(s, str)
    if p == '[*]':
        return isinstance(s, (int, Select))
    return p == s


def document_id(doc: Any, index: int) -> str:
    """How a document of a multi-document file is named and matched."""
    if isinstance(doc, dict):
        meta = doc.get('metadata')
        kind = doc.get('kind')
        if isinstance(kind, str) and isinstance(meta, dict) and isinstance(meta.get('name'), str):
            ns = meta.get('namespace')
            return (
                f'{kind}/{ns}/{meta["name"]}' if isinstance(ns, str) else (f'{kind}/{meta["name"]}')
            )
        for key in DEFAULT_IDENTITY:
            value = doc.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return f'{key}={value}'
    return f'#{index}'


class _Walker:
    def __init__(self, env: str, file: str, document: str | None, options: Options) -> None:
        self.env = env
        self.file = file
        self.document = document
        self.options = options
        self.out: list[Change] = []

    def emit(
        self,
        steps: Steps,
        kind: ChangeKind,
        old: Any = None,
        new: Any = None,
        *,
        detail: str | None = None,
    ) -> None:
        name = next((s for s in reversed(steps) if isinstance(s, str)), None)
        shown_old, shown_new, secret = mask_pair(
            old, new, self.options.key, name=name, patterns=self.options.secret_keys
        )
        self.out.append(
            Change(
                self.env,
                self.file,
                keypath.format(steps),
                kind,
                shown_old,
                shown_new,
                secret,
                detail,
                document=self.document,
            )
        )

    def walk(self, a: Any, b: Any, steps: Steps) -> None:
        if a is b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            if not self.options.strict and a == b:
                return
            for k, v in a.items():
                if k in b:
                    w = b[k]
                    if v is not w:
                        self.walk(v, w, (*steps, k))
                else:
                    self.emit((*steps, k), ChangeKind.REMOVED, old=v)
            for k, w in b.items():
                if k not in a:
                    self.emit((*steps, k), ChangeKind.ADDED, new=w)
            return
        if isinstance(a, list) and isinstance(b, list):
            if not self.options.strict and a == b:
                return
            self.walk_list(a, b, steps)
            return
        if isinstance(a, (Secret, SealedSecret)) or isinstance(b, (Secret, SealedSecret)):
            self.walk_secret(a, b, steps)
            return
        if type(a) is type(b) and same_scalar(a, b):
            return
        if (
            self.options.embedded is not None
            and isinstance(a, str)
            and isinstance(b, str)
            and ('\n' in a and '\n' in b)
        ):
            inner_a, inner_b = self.options.embedded(a), self.options.embedded(b)
            if inner_a is not None and inner_b is not None:
                self.walk(inner_a, inner_b, steps)
                return
        self.emit(steps, ChangeKind.CHANGED, a, b)

    def walk_secret(self, a: Any, b: Any, steps: Steps) -> None:
        if isinstance(a, Secret) and isinstance(b, Secret):
            if a != b:
                self.emit(steps, ChangeKind.CHANGED, a, b)
        elif is_secret(a) and is_secret(b):
            if a != b:
                self.emit(
                    steps,
                    ChangeKind.RESEALED,
                    a,
                    b,
                    detail='re-encrypted; plaintext not compared (no key)',
                )
        else:
            # a secret became plain (or the reverse): mask both sides anyway
            self.emit(
                steps,
                ChangeKind.CHANGED,
                _as_secret(a),
                _as_secret(b),
                detail='secret became plain' if is_secret(a) else 'became a secret',
            )

    def walk_list(self, a: list[Any], b: list[Any], steps: Steps) -> None:
        key = self.identity_key(a, b, steps)
        if key is None and self.options.reorders and _same_items(a, b):
            self.emit(steps, ChangeKind.MOVED, a, b, detail='order changed')
            return
        if key is None:
            for i in range(min(len(a), len(b))):
                if a[i] is not b[i]:
                    self.walk(a[i], b[i], (*steps, i))
            for i in range(len(b), len(a)):
                self.emit((*steps, i), ChangeKind.REMOVED, old=a[i])
            for i in range(len(a), len(b)):
                self.emit((*steps, i), ChangeKind.ADDED, new=b[i])
            return
        old = {_ident_text(_field(item, key)): (i, item) for i, item in enumerate(a)}
        new = {_ident_text(_field(item, key)): (i, item) for i, item in enumerate(b)}
        gone = [k for k in old if k not in new]
        came = [k for k in new if k not in old]
        renamed = _pair_renames(gone, came, old, new, key)
        for ident, (_i, item) in old.items():
            if ident in new:
                self.walk(item, new[ident][1], (*steps, Select(key, ident)))
        for was, now in renamed:
            self.emit(
                (*steps, Select(key, was)), ChangeKind.RENAMED, was, now, detail=f'{key} changed'
            )
            rest_a = _without(old[was][1], key)
            rest_b = _without(new[now][1], key)
            self.walk(rest_a, rest_b, (*steps, Select(key, now)))
        paired_old = {w for w, _ in renamed}
        paired_new = {n for _, n in renamed}
        for ident in gone:
            if ident not in paired_old:
                self.emit((*steps, Select(key, ident)), ChangeKind.REMOVED, old=old[ident][1])
        for ident in came:
            if ident not in paired_new:
                self.emit((*steps, Select(key, ident)), ChangeKind.ADDED, new=new[ident][1])
        self.moves(list(old), list(new), new, key, steps, old)

    def moves(
        self,
        order_a: list[str],
        order_b: list[str],
        new: dict[str, tuple[int, Any]],
        key: str,
        steps: Steps,
        old: dict[str, tuple[int, Any]],
    ) -> None:
        common_a = [k for k in order_a if k in new]
        common_b = [k for k in order_b if k in old]
        if common_a == common_b:
            return
        matcher = difflib.SequenceMatcher(None, common_a, common_b, autojunk=False)
        stayed: set[str] = set()
        for block in matcher.get_matching_blocks():
            stayed.update(common_a[block.a : block.a + block.size])
        for ident in common_b:
            if ident not in stayed:
                self.emit(
                    (*steps, Select(key, ident)),
                    ChangeKind.MOVED,
                    old[ident][0],
                    new[ident][0],
                    detail=f'position {old[ident][0]} -> {new[ident][0]}',
                )

    def identity_key(self, a: list[Any], b: list[Any], steps: Steps) -> str | None:
        for rule in self.options.identity:
            if len(steps) in _reached(rule.path, steps):
                return rule.key if _keyed(a, b, rule.key) else None
        for key in self.options.default_keys:
            if _keyed(a, b, key):
                return key
        return None


def _keyed(a: list[Any], b: list[Any], key: str) -> bool:
    """Whether every item of both lists is a mapping with a unique scalar KEY."""
    if not a and not b:
        return False
    for items in (a, b):
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, dict):
                return False
            value = _field(item, key)
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                return False
            text = _ident_text(value)
            if text in seen:
                return False
            seen.add(text)
    return True


def _same_items(a: list[Any], b: list[Any]) -> bool:
    """Whether A and B hold the same distinct scalars (of the same types), in any order."""
    if len(a) != len(b) or not a:
        return False
    try:
        left = {(type(x), x) for x in a}
        right = {(type(x), x) for x in b}
    except TypeError:
        return False  # unhashable: mappings or lists inside
    return (
        len(left) == len(a)
        and left == right
        and not any(isinstance(x, (Secret, SealedSecret)) for x in a)
    )


def _field(item: dict[str, Any], key: str) -> Any:
    """ITEM's identifying field; a dotted KEY (model_info.id) reaches into mappings."""
    value: Any = item.get(key)
    if value is None and '.' in key:
        value = keypath.field_of(item, key)
    return value


def _without(item: dict[str, Any], key: str) -> dict[str, Any]:
    """ITEM minus its identifying field (a dotted KEY removes only the innermost)."""
    if key in item or '.' not in key:
        return {k: v for k, v in item.items() if k != key}
    head, rest = key.split('.', 1)
    inner = item.get(head)
    if not isinstance(inner, dict):
        return dict(item)
    return {**item, head: _without(inner, rest)}


def _ident_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _pair_renames(
    gone: list[str],
    came: list[str],
    old: dict[str, tuple[int, Any]],
    new: dict[str, tuple[int, Any]],
    key: str,
) -> list[tuple[str, str]]:
    """Removed and added items that are the same item with a new identity.

    Paired when at least half of their other fields (and at least one) are equal;
    the best match wins, ties broken by list order.
    """
    pairs: list[tuple[str, str]] = []
    free = list(came)
    for was in gone:
        item = old[was][1]
        best, best_score = None, 0.0
        for now in free:
            score = _similarity(item, new[now][1], key)
            if score > best_score:
                best, best_score = now, score
        if best is not None and best_score >= 0.5:
            pairs.append((was, best))
            free.remove(best)
    return pairs


def _similarity(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
    a, b = _without(a, key), _without(b, key)
    fields = set(a) | set(b)
    if not fields:
        return 0.0
    equal = sum(1 for f in fields if f in a and f in b and same(a[f], b[f]))
    return equal / len(fields)


def _same_bytes(a: Any, b: Any) -> bool:
    """A C-speed strict equality check: pickles differ for 1, True and 1.0.

    Only ever compared in memory; False just means "walk and see".
    """
    try:
        return pickle.dumps(a, protocol=5) == pickle.dumps(b, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return False


def _as_secret(value: Any) -> Any:
    """A plain value standing beside a secret is shown masked too: it may be the old secret."""
    if value is None or is_secret(value):
        return value
    return Secret(value)


def diff_values(
    old: Any,
    new: Any,
    *,
    env: str = '',
    file: str = '',
    document: str | None = None,
    options: Options = Options(),
) -> list[Change]:
    """The changes between two documents (or any two YAML-shaped values)."""
    walker = _Walker(env, file, document, options)
    walker.walk(old, new, ())
    if not walker.out and not options.strict and not _same_bytes(old, new) and (not same(old, new)):
        walker = _Walker(env, file, document, _strict(options))
        walker.walk(old, new, ())
    return walker.out


@functools.lru_cache(maxsize=8)
def _strict(options: Options) -> Options:
    return dataclasses.replace(options, strict=True)


def diff_documents(
    old: Sequence[Any] | None,
    new: Sequence[Any] | None,
    *,
    env: str = '',
    file: str = '',
    options: Options = Options(),
) -> list[Change]:
    """The changes between two versions of one file, each a list of documents.

    None for a side means the file does not exist there. A single-document
    file's changes carry `document=None`.
    """
    if old is None and new is None:
        return []
    if old is None or new is None:
        docs = list(new if new is not None else old or ())
        value = docs[0] if len(docs) == 1 else docs
        shown = mask(value, options.key, patterns=options.secret_keys)
        secret = holds_secret(value, patterns=options.secret_keys)
        if old is None:
            return [Change(env, file, '', ChangeKind.ADDED, None, shown, secret, 'file added')]
        return [Change(env, file, '', ChangeKind.REMOVED, shown, None, secret, 'file removed')]
    if len(old) <= 1 and len(new) <= 1:
        a = old[0] if old else None
        b = new[0] if new else None
        return diff_values(a, b, env=env, file=file, options=options)
    return _diff_multi(list(old), list(new), env, file, options)


def _diff_multi(
    old: list[Any],
    new: list[Any],
    env: str,
    file: str,
    options: Options,
) -> list[Change]:
    ids_a = [document_id(d, i) for i, d in enumerate(old)]
    ids_b = [document_id(d, i) for i, d in enumerate(new)]
    if len(set(ids_a)) != len(ids_a) or len(set(ids_b)) != len(ids_b):
        ids_a = [f'#{i}' for i in range(len(old))]
        ids_b = [f'#{i}' for i in range(len(new))]
    by_b = dict(zip(ids_b, new, strict=True))
    by_a = dict(zip(ids_a, old, strict=True))
    out: list[Change] = []
    for ident, doc in by_a.items():
        if ident in by_b:
            out += diff_values(
                doc, by_b[ident], env=env, file=file, document=ident, options=options
            )
        else:
            out.append(
                Change(
                    env,
                    file,
                    '',
                    ChangeKind.REMOVED,
                    mask(doc, options.key, patterns=options.secret_keys),
                    None,
                    holds_secret(doc, patterns=options.secret_keys),
                    'document removed',
                    document=ident,
                )
            )
    for ident, doc in by_b.items():
        if ident not in by_a:
            out.append(
                Change(
                    env,
                    file,
                    '',
                    ChangeKind.ADDED,
                    None,
                    mask(doc, options.key, patterns=options.secret_keys),
                    holds_secret(doc, patterns=options.secret_keys),
                    'document added',
                    document=ident,
                )
            )
    return out
