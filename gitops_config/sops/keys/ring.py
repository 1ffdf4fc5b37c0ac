"""The private keys one run may use: read from its environment once, when first needed.

A command makes one KeyRing at the CLI boundary and hands it down; a library call
that is given none makes its own from the environment as it is then. Nothing about
keys is remembered between rings: a second command in the same process, with other
variables set, sees exactly its own keys.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops_config.errors import GitopsConfigError
from gitops_config.sops.errors import KeySourceError
from gitops_config.sops.keys import age


class KeyRing:
    """Where a run's keys come from (a copy of the environment it was made with), and
    what it found there: age identities, loaded on first use, and what each group of
    cloud keys unwrapped to (or why it failed), asked once per run: a layer is opened
    by every environment, by both sides of a diff and for its fingerprints, and without
    credentials each try can take a key service's seconds of retries."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        self._age: tuple[tuple[Any, ...], tuple[str, ...]] | None = None
        # (the keys as sops.keys.cloud freezes them, version, path) -> data or error
        self.unwrapped: dict[tuple[object, ...], bytes | KeySourceError] = {}

    def age_identities(self) -> tuple[Any, ...]:
        """Every age identity sops would load with this environment."""
        return self._loaded()[0]

    def age_errors(self) -> tuple[str, ...]:
        """Why a source of identities gave none (a bad line, a missing file): sops goes
        on with the other sources and reports these only when no key opens the file."""
        return self._loaded()[1]

    def gpg(self) -> str:
        return self.environ.get('SOPS_GPG_EXEC') or 'gpg'

    def _loaded(self) -> tuple[tuple[Any, ...], tuple[str, ...]]:
        if self._age is None:
            self._age = _load_age(self.environ)
        return self._age


def _load_age(environ: Mapping[str, str]) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    # As sops loads them: every source that is set, each on its own; one that fails
    # gives no identity and an error, and the others still count.
    found: list[Any] = []
    errors: list[str] = []

    def load(origin: str, read: Callable[[], str], *, fields: bool = False) -> None:
        try:
            found.extend(age.parse_identities(read(), origin, fields=fields))
        except GitopsConfigError as exc:
            errors.append(exc.message)

    key, key_file = environ.get('SOPS_AGE_KEY'), environ.get('SOPS_AGE_KEY_FILE')
    key_cmd = environ.get('SOPS_AGE_KEY_CMD')
    if key is not None:
        load('SOPS_AGE_KEY', lambda: key, fields=True)
    if key_file is not None:
        load(key_file, lambda: age.read_keys(Path(key_file), 'SOPS_AGE_KEY_FILE'))
    if key_cmd is not None:
        load('SOPS_AGE_KEY_CMD', lambda: age.run_key_command(key_cmd, environ))
    default = age.keys_file_path(environ)
    if default.is_file():
        load(str(default), lambda: age.read_keys(default, str(default)))
    return tuple(found), tuple(errors)
