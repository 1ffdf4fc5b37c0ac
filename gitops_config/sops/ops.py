"""File-level operations behind `gitops-config secrets ...`; no printing here."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_config import process
from gitops_config.edit_lock import locked
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import atomic_write as write_atomic
from gitops_config.redact import Secret
from gitops_config.sops import decrypt_file
from gitops_config.sops import encrypt_text
from gitops_config.sops import engine
from gitops_config.sops import is_encrypted
from gitops_config.sops import keypath
from gitops_config.sops import keys
from gitops_config.sops import merge
from gitops_config.sops import metadata as md
from gitops_config.sops import rules
from gitops_config.sops import sopsfile
from gitops_config.sops import stores
from gitops_config.sops.errors import AlreadyEncryptedError
from gitops_config.sops.errors import NoKeyError
from gitops_config.sops.errors import NotEncryptedError
from gitops_config.sops.errors import RulesError
from gitops_config.sops.errors import SopsError
from gitops_config.sops.keys.ring import KeyRing
from gitops_config.sops.tree import Branch
from gitops_config.sops.tree import Comment
from gitops_config.sops.tree import Value


def _open(
    path: Path, ring: KeyRing, *, ignore_mac: bool = False, name: str | None = None
) -> sopsfile.Opened:
    """Open an encrypted file with RING's keys; `name` picks the format when `path` is a
    temp file."""
    data = engine.read(path)
    if not is_encrypted(data):
        raise NotEncryptedError(
            f'{path}: sops metadata not found',
            hint='the file is not encrypted; see `secrets encrypt`',
        )
    store = stores.for_path(name or str(path))
    return engine.open_file(sopsfile.parse(data, str(path), store), ring, ignore_mac=ignore_mac)


# Each operation below uses the keys of RING, or (None) of the environment as it is now.


def open_file(path: Path, *, ring: KeyRing | None = None) -> sopsfile.Opened:
    """An encrypted file opened and its MAC checked: the plaintext, in memory only."""
    return _open(path, ring or KeyRing())


def encrypt_file(
    path: Path,
    *,
    age: Sequence[str] = (),
    pgp: Sequence[str] = (),
    cloud: Mapping[str, Sequence[str]] | None = None,
    ring: KeyRing | None = None,
) -> bytes:
    data = engine.read(path)
    if is_encrypted(data):
        raise AlreadyEncryptedError(
            f'{path}: is already encrypted', hint='use `secrets edit` or `secrets set` to change it'
        )
    return encrypt_text(data, str(path), age=age, pgp=pgp, cloud=cloud, ring=ring)


# Every function below that rewrites a file holds its edit lock from reading it to
# writing it, so that concurrent edits all land (issue 14.7).


def encrypt_in_place(
    path: Path,
    *,
    age: Sequence[str] = (),
    pgp: Sequence[str] = (),
    cloud: Mapping[str, Sequence[str]] | None = None,
    ring: KeyRing | None = None,
) -> None:
    with locked(path):
        write_atomic(path, encrypt_file(path, age=age, pgp=pgp, cloud=cloud, ring=ring))


def decrypt_in_place(path: Path, *, ignore_mac: bool = False, ring: KeyRing | None = None) -> None:
    with locked(path):
        write_atomic(path, decrypt_file(path, ignore_mac=ignore_mac, ring=ring))


def set_value(path: Path, key_path: str, value: Value, *, ring: KeyRing | None = None) -> None:
    """sops's own `set`: missing keys and list items are created as the steps say."""
    steps = keypath.parse(key_path)
    with locked(path):
        opened = _open(path, ring or KeyRing())

        def change(docs: list[Branch]) -> list[Branch]:
            keypath.set_value(docs[0], steps, value)
            return docs

        write_atomic(path, engine.edit_with(opened, change))


def set_at(
    data: bytes, name: str, path: Sequence[str | int], value: object, *, ring: KeyRing | None = None
) -> bytes:
    """DATA, an encrypted file, with the node at PATH set to VALUE (plain Python data);
    PATH's last step may be new (a key, or the list's length to append). Every other
    value keeps its ciphertext. NAME picks the format."""
    if not is_encrypted(data):
        raise NotEncryptedError(f'{name}: sops metadata not found')
    opened = engine.open_file(sopsfile.parse(data, name), ring or KeyRing())

    def change(docs: list[Branch]) -> list[Branch]:
        _set_in(docs[0], path, _branch(value))
        return docs

    return engine.edit_with(opened, change)


def _set_in(root: Branch, path: Sequence[str | int], value: Value) -> None:
    node: Value = root
    for depth, step in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(step, str):
            assert isinstance(node, Branch)
            at = next((i for i, (k, _) in enumerate(node) if k == step), None)
            if at is None:
                assert last  # only the last step is new
                node.append((step, value))
                return
            if last:
                node[at] = (step, value)
                return
            node = node[at][1]
        else:
            # comments are items of a sops list; the path counts values only
            assert isinstance(node, list)
            assert not isinstance(node, Branch)
            items = [i for i, item in enumerate(node) if not isinstance(item, Comment)]
            if step == len(items):
                assert last
                node.append(value)
                return
            if last:
                node[items[step]] = value
                return
            node = node[items[step]]


def _branch(value: object) -> Value:
    """Plain Python data as a sops tree."""
    if isinstance(value, dict):
        return Branch((k, _branch(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_branch(v) for v in value]
    assert value is None or isinstance(value, (str, bytes, int, float, bool))
    return value


def revealed(value: object) -> object:
    """A decrypted leaf's plain value (a Secret's), for `set` to keep its type."""
    return value.reveal() if isinstance(value, Secret) else value


def rotate_file(path: Path, *, ring: KeyRing | None = None) -> None:
    ring = ring or KeyRing()
    with locked(path):
        write_atomic(path, engine.rotate(_open(path, ring), ring))


def updatekeys_file(path: Path, *, ring: KeyRing | None = None) -> bool:
    """Re-wrap for the recipients .sops.yaml names now; False when nothing changed."""
    with locked(path):
        sf = sopsfile.parse(engine.read(path), str(path))
        ring = ring or KeyRing()
        rule = rules.rule_for(path, environ=ring.environ)
        out = engine.update_keys(sf, rule, ring)
        if out is None:
            return False
        write_atomic(path, out)
        return True


def edit_file(
    path: Path,
    *,
    editor: str | None = None,
    retry: Callable[[str], bool] | None = None,
    ring: KeyRing | None = None,
) -> bool:
    """Decrypt into a private temp dir, run $EDITOR, re-encrypt; False if unchanged.

    When the edited text does not parse, `retry(message)` decides whether to reopen
    the editor on it (as sops does) instead of failing and discarding the edit. The
    file's lock is held while the editor is open: an edit made meanwhile would be lost.
    """
    with locked(path):
        return _edit_locked(path, editor, retry, ring or KeyRing())


def _edit_locked(
    path: Path, editor: str | None, retry: Callable[[str], bool] | None, ring: KeyRing
) -> bool:
    opened = _open(path, ring)
    store = opened.file.store
    before = store.emit(opened.plain)
    tmpdir = tempfile.mkdtemp(prefix='gitops-config-edit-')  # mode 0700
    try:
        tmp = Path(tmpdir) / path.name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(before)
        command = editor or ring.environ.get('EDITOR') or 'vi'
        while True:
            code = process.run_interactive([*shlex.split(command), str(tmp)])
            if code != 0:
                raise SopsError(f'{path}: the editor exited {code}; file unchanged')
            after = tmp.read_bytes()
            if after == before:
                return False
            try:
                new_plain = store.load(after, str(path))
                break
            except GitopsConfigError as exc:
                if retry is None or not retry(exc.one_line()):
                    raise SopsError(
                        f'{path}: the edited file is invalid, nothing was saved: {exc.message}'
                    ) from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    version = _newer(opened.file.meta.version, md.VERSION)
    write_atomic(path, engine.reencrypt(opened, new_plain, version=version))
    return True


def _newer(current: str, ours: str) -> str:
    def key(v: str) -> tuple[int, ...]:
        try:
            return tuple(int(p) for p in v.lstrip('v').split('.')[:3])
        except ValueError:
            return (0,)

    return ours if key(ours) > key(current) else current


@dataclass(frozen=True, slots=True)
class Status:
    path: Path
    encrypted: bool
    must_encrypt: bool
    mac_ok: bool | None  # None: no key to check it
    recipients: tuple[str, ...]
    problem: str | None = None


def status(path: Path, *, ring: KeyRing | None = None) -> Status:
    ring = ring or KeyRing()
    data = engine.read(path)
    if not is_encrypted(data):
        try:
            rules.rule_for(path, environ=ring.environ)
            must = True
        except RulesError:
            must = False
        return Status(path, False, must, None, ())
    sf = sopsfile.parse(data, str(path))
    names = tuple(f'{k.kind}:{k.identity()}' for k in sf.meta.master_keys())
    try:
        dk = keys.data_key(sf.meta, str(path), ring)
    except NoKeyError:
        return Status(path, True, True, None, names)
    try:
        opened = sopsfile.open_with(sf, dk, ignore_mac=True)
    except SopsError as exc:
        return Status(path, True, True, False, names, exc.message)
    return Status(path, True, True, opened.mac_ok, names)


def merge_files(
    base: Path, ours: Path, theirs: Path, *, name: str | None = None, ring: KeyRing | None = None
) -> str | None:
    """Merge decrypted trees three ways into `ours`; the conflicting path, or None.

    git hands the driver temp files without the real extension; `name` (%P) has it.
    """
    ring = ring or KeyRing()
    opened = _open(ours, ring, name=name)
    sides = [_open(p, ring, name=name).plain for p in (base, theirs)]
    if len(opened.plain) != 1 or any(len(s) != 1 for s in sides):
        return '(multi-document files are not merged)'
    try:
        merged = merge.merge(sides[0][0], opened.plain[0], sides[1][0])
    except merge.Conflict as exc:
        return exc.path
    assert isinstance(merged, Branch)
    write_atomic(ours, engine.reencrypt(opened, [merged]))
    return None
