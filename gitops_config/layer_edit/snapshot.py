"""The project as one edit read it: each file read once, so the merged values before
and after the edit differ by the edited file alone, whatever else changes on disk."""

from __future__ import annotations

from gitops_config.git import blob_sha
from gitops_config.source import Source


class Snapshot:
    """A Source that reads each file of BASE once, with some files' bytes replaced."""

    def __init__(self, base: Source, read: dict[str, bytes] | None = None) -> None:
        self.base = base
        self.label = base.label
        self.root = base.root
        self.commit = None  # BASE with some files read once, others replaced
        self._read = read if read is not None else {}

    def read(self, path: str) -> bytes:
        data = self._read.get(path)
        if data is None:
            data = self._read[path] = self.base.read(path)
        return data

    def exists(self, path: str) -> bool:
        return path in self._read or self.base.exists(path)

    def files(self, under: str = '') -> list[str]:
        return self.base.files(under)

    def blob_id(self, path: str) -> str:
        return blob_sha(self.read(path))

    def find_upwards(self, name: str) -> tuple[str, bytes] | None:
        return self.base.find_upwards(name)

    def with_file(self, path: str, data: bytes) -> Snapshot:
        """This snapshot, with PATH holding DATA."""
        return Snapshot(self.base, {**self._read, path: data})
