"""Throwaway age keys, and which key files the tool sees."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest


def new_age_key(path: Path) -> str:
    """A fresh age identity written to PATH; returns its recipient."""
    ident = pyrage.x25519.Identity.generate()
    path.write_text(f'{ident}\n')
    return str(ident.to_public())


def use_keys(monkeypatch: pytest.MonkeyPatch, key_file: Path | str | None) -> None:
    """Make KEY_FILE the only age keys at hand (None: no keys), forgetting those read."""

    if key_file is None:
        monkeypatch.delenv('SOPS_AGE_KEY_FILE', raising=False)
    else:
        monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(key_file))
