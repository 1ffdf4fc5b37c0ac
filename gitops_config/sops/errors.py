"""The errors the sops engine raises; each names the file it was working on."""

from __future__ import annotations

from gitops_config.errors import GitopsConfigError


class SopsError(GitopsConfigError):
    code = 'sops-error'


class SopsFormatError(SopsError):
    """The file is not what sops would write (bad ENC[...], bad metadata)."""

    code = 'sops-format'


class MacMismatchError(SopsError):
    code = 'sops-mac-mismatch'


class KeyUnavailableError(SopsError):
    """The keys at hand do not open the file: a caller may read it sealed instead."""

    code = 'sops-key-unavailable'


class NoKeyError(KeyUnavailableError):
    """No available key opens the file's data key."""

    code = 'sops-no-key'


class NotEncryptedError(SopsError):
    code = 'sops-not-encrypted'


class AlreadyEncryptedError(SopsError):
    code = 'sops-already-encrypted'


class RulesError(SopsError):
    """.sops.yaml is unreadable or names no rule for the file."""

    code = 'sops-rules'


class KeySourceError(KeyUnavailableError):
    """A key source (identity file, gpg, sops binary) failed."""

    code = 'sops-key-source'
