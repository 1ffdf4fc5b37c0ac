"""How old each secret is: when its ciphertext last changed, and in which commit.

Read from git history without decrypting anything: a secret's ciphertext changes when
its value does (set, edit) and when the file gets a new data key (rotate), and stays
byte for byte otherwise (sops and gitops-config keep untouched ciphertexts). Walking a
file's versions from the newest back, a secret's age is the oldest version that still
holds the ciphertext it holds now. Without history (no git, an untracked file) the
file's `sops.lastmodified` stands in: when it was last encrypted.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import git
from gitops_config import keypath
from gitops_config import sops
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.model import NodePath
from gitops_config.revision import prefix_of
from gitops_config.sops import format as fmt
from gitops_config.sops.errors import NotEncryptedError
from gitops_config.sops.tree import Branch
from gitops_config.source import GitTree
from gitops_config.source import IndexTree
from gitops_config.source import Source
from gitops_config.source import WorkTree

if TYPE_CHECKING:
    from gitops_config.sops.sopsfile import SopsFile

# how a date was found
GIT = 'git'  # the commit that wrote the ciphertext
SHALLOW = 'shallow'  # the oldest commit of a shallow clone: at least this old
UNCOMMITTED = 'uncommitted'  # changed in the working tree (or index): its lastmodified
LASTMODIFIED = 'lastmodified'  # no git history: the file's sops.lastmodified

_ENC = 'ENC[AES256_GCM,'


@dataclass(frozen=True, slots=True)
class SecretAge:
    file: str  # as the source names it
    index: int  # the document, in a multi-document file
    path: NodePath  # the key path inside that document
    line: int | None
    column: int | None
    changed: datetime
    commit: str | None  # None for UNCOMMITTED and LASTMODIFIED
    how: str

    def days(self, now: datetime) -> int:
        """Whole days from CHANGED to NOW (never negative)."""
        return max(0, (now - self.changed).days)

    def keypath(self) -> str:
        return keypath.format(self.path)

    def view(self, now: datetime) -> dict[str, Any]:
        """As a policy rule and `secrets age --format json` see it."""
        return {
            'file': self.file,
            'line': self.line,
            'path': self.keypath(),
            'keys': list(self.path),
            'changed': self.changed.isoformat(),
            'commit': self.commit or '',
            'age_days': self.days(now),
            'source': self.how,
        }


def ages(source: Source, files: Sequence[str], *, now: datetime) -> list[SecretAge]:
    """Every encrypted leaf of FILES (as SOURCE has them), oldest change first."""
    found: list[SecretAge] = []
    place = _git_place(source)
    for file in files:
        found += _file_ages(source, file, place, now)
    return sorted(found, key=lambda a: (a.changed, a.file, a.index, keypath.format(a.path)))


def _file_ages(
    source: Source,
    file: str,
    place: _Place | None,
    now: datetime,
) -> list[SecretAge]:
    data = source.read(file)
    current = _leaves(data, file)
    if current is None:
        raise NotEncryptedError(
            f'{file}: sops metadata not found', hint='only an encrypted file holds secrets to date'
        )
    history: list[git.FileVersion] = []
    if place is not None:
        try:
            history = place.repo.file_history(place.rev, place.prefix + file)
        except git.GitError:
            history = []  # no commit yet
    since: dict[NodePath, git.FileVersion | None] = dict.fromkeys(current)
    running = set(current)
    seen: dict[str, dict[NodePath, str]] = {}
    for version in history:
        if not running:
            break
        older = _version_leaves(place, version, file, seen)
        for leaf in list(running):
            if older.get(leaf) == current[leaf]:
                since[leaf] = version
            else:
                running.discard(leaf)
    fallback = _lastmodified(data, file, now)
    positions = _positions(data, file)
    out = []
    for leaf, wrote in since.items():
        if wrote is None:
            changed, commit, how = fallback, None, UNCOMMITTED if history else LASTMODIFIED
        else:
            changed = datetime.fromisoformat(wrote.commit.date)
            commit = wrote.commit.sha
            cut = place is not None and place.repo.shallow and wrote is history[-1]
            how = SHALLOW if cut and leaf in running else GIT
        index, path = leaf[0], leaf[1:]
        assert isinstance(index, int)
        line, column = positions.get(leaf, (None, None))
        out.append(SecretAge(file, index, path, line, column, changed, commit, how))
    return out


@dataclass(frozen=True, slots=True)
class _Place:
    repo: Any  # gitops_config.git.Repo
    rev: str
    prefix: str  # the source's folder in the repository


def _git_place(source: Source) -> _Place | None:
    """Where SOURCE's history is: its repository, the commit to walk back from, and the
    project folder in it; None outside git."""
    if isinstance(source, GitTree):
        return _Place(source.repo, source.commit, prefix_of(source.repo.root, source.root))
    if isinstance(source, IndexTree):
        return _Place(source.repo, 'HEAD', prefix_of(source.repo.root, source.root))
    if isinstance(source, WorkTree):
        try:
            repo = git.Repo(source.root)
        except git.GitError:
            return None
        return _Place(repo, 'HEAD', prefix_of(repo.root, source.root))
    return None


def _version_leaves(
    place: _Place | None, version: Any, file: str, seen: dict[str, dict[NodePath, str]]
) -> dict[NodePath, str]:
    if place is None or version.blob is None:
        return {}
    leaves = seen.get(version.blob)
    if leaves is None:
        leaves = seen[version.blob] = _leaves(place.repo.read_blob(version.blob), file) or {}
    return leaves


def _leaves(data: bytes, file: str) -> dict[NodePath, str] | None:
    """(document index, *key path) -> ciphertext of every encrypted value; None for a
    file that is not encrypted (or not readable as one)."""
    if not sops.is_encrypted(data):
        return None
    try:
        parsed = _parse(data, file)
    except GitopsConfigError:
        return None
    found: dict[NodePath, str] = {}
    for index, doc in enumerate(parsed.docs):
        _collect(doc, (index,), found)
    return found


def _collect(node: Any, at: NodePath, found: dict[NodePath, str]) -> None:
    if isinstance(node, Branch):
        for key, value in node:
            if isinstance(key, str):
                _collect(value, (*at, key), found)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _collect(value, (*at, i), found)
    elif isinstance(node, str) and node.startswith(_ENC) and not node.endswith(',type:comment]'):
        found[at] = node


def _parse(data: bytes, file: str) -> SopsFile:
    # lazy: the sops file reader (its stores) loads only when a layer is encrypted
    from gitops_config.sops import sopsfile

    return sopsfile.parse(data, file)


def _lastmodified(data: bytes, file: str, now: datetime) -> datetime:
    try:
        when, _ = fmt.parse_rfc3339(_parse(data, file).meta.lastmodified)
    except (ValueError, GitopsConfigError):
        return now
    return when


def _positions(data: bytes, file: str) -> dict[NodePath, tuple[int, int]]:
    """Where each value is, by (document index, *key path): YAML and JSON by their
    parser's marks, dotenv by its `KEY=` line; other formats have none."""
    if posixpath.splitext(file)[1] in ('.yaml', '.yml', '.json'):
        try:
            located = yaml_io.load_all_located(data, file)
        except GitopsConfigError:
            return {}
        return {
            (i, *path): where
            for i, (_, positions) in enumerate(located)
            for path, where in positions.items()
        }
    if file.endswith('.env'):
        lines = data.decode('utf-8', 'replace').split('\n')
        return {
            (0, line.split('=', 1)[0]): (n, 1)
            for n, line in enumerate(lines, 1)
            if '=' in line and not line.startswith('#')
        }
    return {}
