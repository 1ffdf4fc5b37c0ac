"""The one set of ignore and normalisation rules, from the project file's `diff.ignore`.

Diff, the PR comment, drift reports and exit codes all filter through the same
`Ignores`, so a difference is ignored everywhere or nowhere. Every rule names
a reason, shown beside what it hid. Rules apply in order and the first that
covers a change decides; a rule with `compare: true` keeps what it covers
(an exception to a later rule, or to drift's built-in Kubernetes rules).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitops_config import keypath
from gitops_config.diff import Steps
from gitops_config.diff import match_steps
from gitops_config.masking import Masked
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.regex import wildcard


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    path: str  # KEYPATH glob; covers the subtree below it
    reason: str
    env: str | None = None  # glob
    file: str | None = None  # glob over the rendered file's path
    normalize: str | None = None
    compare: bool = False  # keep what it covers: an exception, not an ignore

    def covers(self, change: Change) -> bool:
        if self.env is not None and not wildcard(self.env).search(change.env):
            return False
        if self.file is not None and not wildcard(self.file).search(change.file):
            return False
        if self.path not in ('**', '*') and not match_steps(self.path, _steps(change.path)):
            return False
        return self.normalize is None or _equal_after(self.normalize, change)


@dataclass(frozen=True, slots=True)
class Ignored:
    change: Change
    rule: IgnoreRule


@dataclass(frozen=True, slots=True)
class Ignores:
    rules: tuple[IgnoreRule, ...] = ()

    @classmethod
    def from_project(cls, raw: Mapping[str, Any]) -> Ignores:
        section = raw.get('diff') or {}
        rules = tuple(
            IgnoreRule(
                path=item['path'],
                reason=item['reason'],
                env=item.get('env'),
                file=item.get('file'),
                normalize=item.get('normalize'),
                compare=bool(item.get('compare', False)),
            )
            for item in section.get('ignore', ())
        )
        return cls(rules)

    def rule_for(self, change: Change) -> IgnoreRule | None:
        for rule in self.rules:
            if rule.covers(change):
                return rule
        return None

    def split(self, changes: Iterable[Change]) -> tuple[list[Change], list[Ignored]]:
        kept: list[Change] = []
        ignored: list[Ignored] = []
        for change in changes:
            rule = self.rule_for(change) if self.rules else None
            if rule is None or rule.compare:
                kept.append(change)
            else:
                ignored.append(Ignored(change, rule))
        return kept, ignored


@functools.lru_cache(maxsize=4096)
def _steps(path: str) -> Steps:
    if not path:
        return ()
    try:
        return keypath.parse(path)
    except keypath.KeyPathError:
        return (path,)  # a key we formatted but cannot parse back: match it literally


def _equal_after(how: str, change: Change) -> bool:
    if change.kind is ChangeKind.MOVED:
        return how == 'order'
    old, new = change.old, change.new
    if isinstance(old, Masked) or isinstance(new, Masked):
        return old == new  # same fingerprint; a secret's text is never normalised
    if how == 'order':
        return False
    if old is None or new is None:
        return False
    a, b = _scalar_text(old), _scalar_text(new)
    if how == 'trim':
        a, b = a.strip(), b.strip()
    elif how == 'case':
        a, b = a.casefold(), b.casefold()
    return a == b


def _scalar_text(value: object) -> str:
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    return str(value)
