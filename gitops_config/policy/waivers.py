"""Scoped waivers: one rule, narrowed to an environment, a file or a key path, until a date.

A waiver always carries a reason and an expiry; once expired it stops
waiving and becomes an error itself, so exceptions cannot outlive their
reason unnoticed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitops_config import keypath
from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.policy.load import unknown_rule
from gitops_config.policy.match import glob_match

Locate = Callable[..., Location]


class WaiverError(GitopsConfigError):
    code = 'invalid-waiver'


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    reason: str
    expires: dt.date
    location: Location
    env: str | None = None
    file: str | None = None  # glob over the finding's file
    path: str | None = None  # KEYPATH glob over the finding's key path

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def covers(
        self, rule: str, env: str | None, files: Collection[str], path: tuple[str | int, ...] | None
    ) -> bool:
        if rule != self.rule or (self.env is not None and env != self.env):
            return False
        if self.file is not None and not any(glob_match(self.file, f) for f in files):
            return False
        if self.path is not None:
            return path is not None and keypath.match_glob(self.path, path)
        return True


def parse(raw: Mapping[str, Any], locate: Locate, known: Collection[str]) -> list[Waiver]:
    """The waivers under `policies.waivers` of the project file RAW."""
    section = raw.get('policies') or {}
    items = section.get('waivers') or [] if isinstance(section, dict) else []
    waivers = []
    for i, item in enumerate(items):
        where = locate('policies', 'waivers', i)
        rule = item.get('rule')
        if rule not in known:
            raise unknown_rule(str(rule), sorted(known), where, what='a waiver names')
        expires = item.get('expires')
        try:
            date = dt.date.fromisoformat(str(expires))
        except ValueError:
            raise WaiverError(
                f'waiver for {rule}: expires {expires!r} is not a date',
                location=locate('policies', 'waivers', i, 'expires'),
                hint='write it as YYYY-MM-DD, e.g. 2026-12-31',
            ) from None
        path = item.get('path')
        if path is not None:
            try:
                keypath.parse(path)
            except GitopsConfigError as exc:
                raise WaiverError(
                    f'waiver for {rule}: {exc.message}',
                    location=locate('policies', 'waivers', i, 'path'),
                    hint=exc.hint,
                ) from None
        waivers.append(
            Waiver(
                rule,
                str(item.get('reason', '')),
                date,
                where,
                item.get('env'),
                item.get('file'),
                path,
            )
        )
    return waivers
