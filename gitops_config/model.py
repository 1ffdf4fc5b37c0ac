"""Records shared by every layer: locations, findings, changes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field

# Where a node is in a YAML or JSON document: mapping keys and list indices, from the top.
NodePath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a file; line and column are 1-based."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.column is None:
            return f'{self.path}:{self.line}'
        return f'{self.path}:{self.line}:{self.column}'


class Severity(enum.Enum):
    ERROR = 'error'
    WARNING = 'warning'
    # not checked (a sealed secret's schema rules): said, never counted as passed or failed
    SKIPPED = 'skipped'


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by a schema or a policy."""

    rule: str
    severity: Severity
    message: str
    location: Location
    env: str | None = None
    # The input the user must edit (a value layer or template line), when it
    # differs from `location` (a rendered file).
    origin: Location | None = None
    hint: str | None = None


class ChangeKind(enum.Enum):
    ADDED = 'added'
    REMOVED = 'removed'
    CHANGED = 'changed'
    MOVED = 'moved'
    RENAMED = 'renamed'  # a list item whose identifying field changed
    # Ciphertext changed but no key to compare plaintexts: shown, never counted.
    RESEALED = 'resealed'


@dataclass(frozen=True, slots=True)
class Change:
    """One semantic difference between two versions of a rendered file."""

    env: str
    file: str
    path: str  # KEYPATH syntax: a.b[name=x].c
    kind: ChangeKind
    old: object = None
    new: object = None
    secret: bool = False
    detail: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)
    # which document of a multi-document file: 'Kind/namespace/name', '#2'
    document: str | None = None
