"""age master keys through pyrage, with identities from everywhere sops looks."""

from __future__ import annotations

import getpass
import os
import shlex
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import process
from gitops_config.sops.errors import KeySourceError
from gitops_config.sops.errors import SopsError
from gitops_config.sops.metadata import MasterKey

if TYPE_CHECKING:
    from gitops_config.sops.keys.ring import KeyRing  # ring.py imports this module

_IDENTITY_PREFIXES = ('AGE-SECRET-KEY-1', 'AGE-SECRET-KEY-PQ-1', 'AGE-PLUGIN-')


def keys_file_path(environ: Mapping[str, str]) -> Path:
    """Where sops looks for age identities when no variable names them."""
    home = environ.get('HOME') or str(Path.home())  # ENVIRON's, as sops would see it
    base = environ.get('XDG_CONFIG_HOME') or str(Path(home) / '.config')
    return Path(base) / 'sops' / 'age' / 'keys.txt'


def parse_identities(text: str, origin: str, *, fields: bool = False) -> list[Any]:
    """Parse a keys file as sops does: split into lines (a final CR dropped), skip empty
    lines and those starting with '#', and take every other line, untrimmed, as an
    X25519 identity. With `fields` (SOPS_AGE_KEY), a line may hold several identities
    apart by whitespace, as sops >= 3.13 reads that variable."""
    # lazy: pyrage loads only when parse_identities() runs (start-up)
    import pyrage

    if text.startswith(('age-encryption', '-----BEGIN AGE')):
        text = _unlock(text, origin)
    out = []
    for number, line in enumerate(text.split('\n'), 1):
        line = line.removesuffix('\r')
        if not line or line.startswith('#'):
            continue
        for item in line.split() if fields else [line]:
            if not item.startswith(_IDENTITY_PREFIXES):
                raise KeySourceError(f'{origin}: line {number} is not an age identity')
            try:
                out.append(pyrage.x25519.Identity.from_str(item))
            except Exception:  # pyrage raises its own unexported types
                raise KeySourceError(
                    f'{origin}: line {number}: cannot parse an age identity (only X25519 '
                    'keys are supported)',
                ) from None
    if not out:
        raise KeySourceError(f'{origin}: no age identity in it')
    return out


def _ask_passphrase(origin: str) -> str | None:
    """Ask on the terminal, as sops does; None when there is no terminal."""
    try:
        with open('/dev/tty'):
            pass
    except OSError:
        return None
    return getpass.getpass(f'Enter passphrase for identity file {origin}: ')


def _unlock(text: str, origin: str) -> str:
    """The keys inside a passphrase-protected (scrypt) age identity file."""
    # lazy: pyrage loads only when _unlock() runs (start-up)
    import pyrage

    passphrase = _ask_passphrase(origin)
    if passphrase is None:
        raise KeySourceError(
            f'{origin}: is a passphrase-protected age identity file and there is no '
            'terminal to ask for the passphrase',
            hint='run interactively, or decrypt it with `age -d` into a file only you can '
            'read and point SOPS_AGE_KEY_FILE at it',
        )
    try:
        plain: bytes = pyrage.passphrase.decrypt(text.encode(), passphrase)
    except Exception:  # pyrage raises its own unexported types
        raise KeySourceError(f'{origin}: wrong passphrase for the age identity file') from None
    return plain.decode()


def read_keys(path: Path, origin: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise KeySourceError(f'{origin}: cannot read {path}: {exc.strerror}') from None


def run_key_command(command: str, environ: Mapping[str, str]) -> str:
    """What SOPS_AGE_KEY_CMD prints: the identities."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise KeySourceError(f'SOPS_AGE_KEY_CMD: cannot parse the command: {exc}') from None
    if not argv:
        raise KeySourceError('SOPS_AGE_KEY_CMD: is empty')
    out = process.run(argv, check=False, env=dict(environ))
    if out.returncode != 0:
        raise KeySourceError(f'SOPS_AGE_KEY_CMD: {argv[0]} exited {out.returncode}')
    return out.stdout.decode()


class AgeSource:
    def wrap(self, recipient: str, data: bytes, ring: KeyRing | None = None) -> MasterKey:
        # lazy: pyrage loads only when wrap() runs (start-up)
        import pyrage

        try:
            rcpt = pyrage.x25519.Recipient.from_str(recipient.strip())
        except Exception:  # pyrage raises its own unexported types
            raise KeySourceError(f'invalid age recipient {recipient!r}') from None
        armored = pyrage.encrypt(data, [rcpt], armored=True)
        return MasterKey('age', {'recipient': recipient.strip(), 'enc': armored.decode()})

    def unwrap(self, key: MasterKey, ring: KeyRing) -> bytes | None:
        # lazy: pyrage loads only when unwrap() runs (start-up)
        import pyrage

        ids = ring.age_identities()
        if not ids:
            return None
        enc = key.enc
        if not enc.endswith('\n'):
            enc += '\n'  # Go's armor reader tolerates a missing final newline
        try:
            data: bytes = pyrage.decrypt(enc.encode(), list(ids))
        except Exception:  # no matching identity
            return None
        return data


SOURCE = AgeSource()


def keygen(output: Path | None, environ: Mapping[str, str]) -> str:
    """Create an X25519 identity in a 0600 file (OUTPUT, else the default keys file of
    ENVIRON); returns its recipient."""
    # lazy: pyrage loads only when keygen() runs (start-up)
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    created = datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')
    text = f'# created: {created}\n# public key: {recipient}\n{identity}\n'
    target = output if output is not None else keys_file_path(environ)
    if output is not None and target.exists():
        raise SopsError(f'{target}: already exists; not overwriting an identity')
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, 'a') as f:
        f.write(text)
    os.chmod(target, 0o600)
    return recipient
