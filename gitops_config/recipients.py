"""Who can read each encrypted file: part of the state, reviewed like any change.

A SOPS file names who can open it (age recipients, PGP fingerprints, KMS keys)
in its metadata. `.sops.yaml` says who should: its first creation rule whose
path_regex matches the file or, for an environment's rendered output, the
environment's own `recipients:`. A file whose recipients differ from that is
stale (`render --check`, `secrets status`); a change of recipients between two
revisions is a change a reviewer must see (`diff`, the PR comment).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitops_config import constants as C
from gitops_config import sops
from gitops_config.errors import GitopsConfigError
from gitops_config.project import Project
from gitops_config.sops import rules
from gitops_config.source import Source

if TYPE_CHECKING:
    from gitops_config.sops.rules import CreationRule


# Key kinds a .sops.yaml names only in part (a vault's address, not the key's version):
# the file's full names cannot be compared with them.
_PARTIAL = frozenset({'azure_kv', 'hc_vault'})


@dataclass(frozen=True, slots=True, order=True)
class RecipientChange:
    """Who was added to and removed from the readers of one file."""

    path: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f'{self.path}: {self.summary()}'

    def summary(self) -> str:
        return ' '.join([f'+ {r}' for r in self.added] + [f'- {r}' for r in self.removed])


def of_file(text: bytes, path: str) -> tuple[str, ...] | None:
    """The recipients named in TEXT's sops metadata, sorted; None: not encrypted."""
    if not sops.is_encrypted(text):
        return None
    try:
        return tuple(sorted(set(sops.recipients(text, path))))
    except GitopsConfigError:
        return None  # a damaged file: the checks that open it say what is wrong


@functools.lru_cache(maxsize=16)
def _rules(text: bytes) -> list[tuple[str, CreationRule]]:
    return list(rules.rules_from_text(text, C.SOPS_CONFIG_FILE))


def expected(source: Source, project: Project, path: str) -> tuple[str, ...] | None:
    """Who should be able to read PATH now, sorted; None when nothing says (no rule).

    PATH is relative to the project root, read from SOURCE's .sops.yaml (the nearest at
    or above the project, as render encrypts by it): the revision's own rules, not the
    working tree's."""
    for env in project.environments:
        if env.recipients and path.startswith(project.output_dir(env.name) + '/'):
            return tuple(sorted(set(env.recipients)))
    found = source.find_upwards(C.SOPS_CONFIG_FILE)
    if found is None:
        return None

    below, text = found
    rule = rules.matching(_rules(text), below + path)
    if rule is None or any(k.kind in _PARTIAL for g in rule.key_groups for k in g):
        return None
    return tuple(sorted(set(rule.recipients()))) or None


def compared(
    path: str, old: tuple[str, ...] | None, new: tuple[str, ...] | None
) -> RecipientChange | None:
    """What changed from OLD to NEW readers of PATH; None: nothing (or not comparable)."""
    if old is None or new is None or old == new:
        return None
    return RecipientChange(
        path, tuple(r for r in new if r not in old), tuple(r for r in old if r not in new)
    )


def stale(source: Source, project: Project, path: str) -> RecipientChange | None:
    """How PATH's recipients must change to be what .sops.yaml says now (added: named
    by the rules, missing from the file); None when they agree or nothing says."""
    if not source.exists(path):
        return None
    return compared(path, of_file(source.read(path), path), expected(source, project, path))
