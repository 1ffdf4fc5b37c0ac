"""A real git repository in tmp_path, committed to from a dict of files."""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git('init', '-q', '-b', 'main')

    def git(self, *args: str, input: str | None = None) -> str:
        return subprocess.run(
            ['git', *args],
            cwd=self.path,
            check=True,
            capture_output=True,
            text=True,
            input=input,
        ).stdout

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(
        self, files: dict[str, str | bytes | None] | None = None, message: str = 'change'
    ) -> str:
        """Write FILES (None deletes), commit everything, return the commit SHA."""
        if files:
            self.write(files)
        self.git('add', '-A')
        self.git('commit', '-q', '--allow-empty', '-m', message)
        return self.git('rev-parse', 'HEAD').strip()
