"""Rendered files on disk: written atomically, secrets encrypted, checked for staleness."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from gitops_config import constants as C
from gitops_config import manifest
from gitops_config import project as project_mod
from gitops_config import recipients
from gitops_config import run as run_mod
from gitops_config import sops
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import UsageError
from gitops_config.fsutil import ConfinedTree
from gitops_config.fsutil import NotRegularError
from gitops_config.fsutil import trusted_base
from gitops_config.model import Location
from gitops_config.pipeline import rendering
from gitops_config.pipeline.rendering import EnvRender
from gitops_config.project import Project
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.redact import walk_secrets
from gitops_config.render import RenderedFile
from gitops_config.run import Run
from gitops_config.sops import rules
from gitops_config.sops.rules import recipient_kind
from gitops_config.source import Source

if TYPE_CHECKING:
    from gitops_config.incremental.reuse import Reuse
    from gitops_config.sops.keys.ring import KeyRing
    from gitops_config.sops.rules import Rules


class SecretOutputError(GitopsConfigError):
    code = 'secret-output'


# What a check without a key can say of an encrypted output whose ciphertext changed.
UNVERIFIABLE = 'changed, unverifiable without a key'


@dataclass(frozen=True, slots=True)
class Stale:
    path: str  # relative to the project root
    reason: str  # 'missing', 'changed', 'extra', UNVERIFIABLE, ...
    blocking: bool = True  # False: said, but no reason to fail the check


def holds_sealed(file: RenderedFile) -> bool:
    """Whether FILE holds a secret we have no key for (a --sealed placeholder)."""
    if file.documents is not None:
        return any(isinstance(s, SealedSecret) for _, s in walk_secrets(file.documents))
    return file.sealed


def _secret_keys(documents: Any) -> set[str] | None:
    """The names of the keys that hold secrets (for the file's encrypted_regex); None
    when a secret is under no key (sops encrypts by key: it would stay plain)."""
    keys = set()
    for path, _ in walk_secrets(documents):
        names = [str(step) for step in path if isinstance(step, str)]
        if not names:
            return None
        keys.add(names[-1])
    return keys


def file_bytes(
    project: Project,
    source: Source,
    file: RenderedFile,
    *,
    decrypt: bool,
    sealed: bool,
    keys: KeyRing,
) -> bytes:
    """What goes on disk for FILE, rendered from SOURCE: plaintext only without secrets,
    or when asked; encrypted with what KEYS' environment reaches (cloud credentials, gpg)."""
    if not file.has_secrets or decrypt:
        return file.content
    where = f'{project.output_dir(file.env)}/{file.path}'

    cloud: dict[str, list[str]] = {}
    for recipient in project.env(file.env).recipients:
        cloud.setdefault(recipient_kind(recipient), []).append(recipient)
    age, pgp = cloud.pop('age', []), cloud.pop('pgp', [])
    if file.kind is None or file.documents is None:
        if not sops.whole_file(where):
            raise SecretOutputError(
                f'{file.env}: {file.path} holds a secret but is neither YAML, JSON nor plain '
                'text, so it cannot be written encrypted',
                location=Location(file.template),
                hint='render it with --decrypt to a folder outside git, or move the secret '
                'into a YAML/JSON file',
            )
        # which characters are secret cannot be shown leaf by leaf: the whole file is
        regex: str | None = None
    else:
        names = _secret_keys(file.documents)
        if names is None:
            raise SecretOutputError(
                f'{file.env}: {file.path} holds a secret that is not under any mapping key, '
                'so it cannot be written encrypted',
                location=Location(file.template),
                hint='put the secret under a key: `key: {{ secret }}`',
            )
        regex = '^(' + '|'.join(re.escape(k) for k in sorted(names)) + ')$'
    return sops.encrypt_text(
        file.content,
        where,
        config=sops_rules(source),
        age=age,
        pgp=pgp,
        cloud=cloud,
        encrypted_regex=regex,
        ring=keys,
    )


def sops_rules(source: Source) -> Rules:
    """The .sops.yaml creation rules of SOURCE itself (a commit's own, even in a bare
    clone): the nearest .sops.yaml at or above the project root, as sops finds it."""
    found = source.find_upwards(C.SOPS_CONFIG_FILE)
    if found is None:
        return rules.Rules(f'the {source.label}', [], found=False)
    below, text = found
    up = '../' * below.count('/')
    name = f'{up}{C.SOPS_CONFIG_FILE} ({source.label})'
    return rules.Rules(name, rules.rules_from_text(text, name), prefix=below)


@dataclass(frozen=True, slots=True)
class Written:
    written: list[Path]
    # secret-bearing files a --sealed render could not produce: left as they were
    kept: list[Path]
    # files an earlier render wrote that no template produces any more
    removed: list[Path] = field(default_factory=list)
    # files no render is known to have written (no manifest lists them): left alone
    unknown: list[Path] = field(default_factory=list)


def target(project: Project, env: str, out: Path | None) -> tuple[Path, Path]:
    """Where ENV's files go, and the folder above it that the user chose (below it no
    symlink is followed): the project's output folder, or OUT/ENV (--out)."""
    if out is None:
        return project.root, project.root / project.output_dir(env)
    folder = Path(os.path.abspath(out)) / env
    try:
        rel = folder.relative_to(project.root).as_posix()
    except ValueError:
        return Path(trusted_base(str(folder))), folder
    problem = project.output_problem(rel)
    if problem:
        raise UsageError(
            f'--out {out}: {env} would be rendered to {rel!r}, {problem}',
            hint='choose another --out folder',
        )
    return project.root, folder


def write(
    project: Project,
    source: Source,
    render: EnvRender,
    out: Path,
    *,
    base: Path | None = None,
    decrypt: bool = False,
    sealed: bool = False,
    prune: bool = True,
    run: Run | None = None,
) -> Written:
    """Write RENDER's files (rendered from SOURCE, whose .sops.yaml says whom secrets
    are encrypted to) below OUT (the env's output folder), where no folder below
    BASE (a folder the user chose: the project root by default, or see target()) is
    reached through a symlink. With PRUNE, remove the files an earlier render wrote that no template
    produces any more, and record what this one produced (see manifest; RUN's cache keeps
    a copy)."""
    run = run if run is not None else run_mod.plain()
    produced = {f.path for f in render.files}
    written, kept = [], []
    base = base if base is not None else project.root
    parts = out.relative_to(base).parts
    shown = '' if base == project.root else base.as_posix()  # how messages name BASE
    with ConfinedTree(base, parts, shown=shown) as tree:
        for file in render.files:
            target = out / file.path
            if file.has_secrets and holds_sealed(file):
                kept.append(target)  # no key for them: leave the committed file alone
                continue
            existing = tree.read(file.path)
            rel = f'{project.output_dir(file.env)}/{file.path}'
            if (
                existing is not None
                and file.has_secrets
                and not decrypt
                and _same_secrets(existing, file, target.as_posix(), run.keys)
                and not _new_readers(project, source, rel, existing)
            ):
                # Encryption is randomised: re-encrypting what is there would change the
                # committed file on every run. Same plaintext, same readers, same file.
                written.append(target)
                continue
            content = file_bytes(
                project, source, file, decrypt=decrypt, sealed=sealed, keys=run.keys
            )
            if decrypt and file.has_secrets:
                # plaintext secrets: the owner's only, however readable the file was
                tree.write(file.path, content, mode=0o600, durable=False)
            elif content != existing:
                tree.write(file.path, content, durable=False)  # output can be made again
            written.append(target)
        if not prune:
            return Written(written, kept)
        removed, unknown = _prune(
            tree,
            os.path.join(os.path.realpath(base), *parts),
            out,
            produced,
            run.reuse,
        )
    return Written(written, kept, removed, unknown)


def planned(
    project: Project, render: EnvRender, committed: Source, run: Run | None = None
) -> dict[str, bytes | None]:
    """What `render` would change in RENDER's output folder as COMMITTED holds it, as
    project-relative path -> new bytes (None: removed), writing nothing: a commit made
    without a checkout (promote) carries it. As write(): an encrypted file that opens
    to the same plaintext for the same readers stays byte for byte; one we hold no key
    for stays as committed (check() says whether it is still up to date). RUN's keys open
    and encrypt (default: the environment's)."""
    keys = (run if run is not None else run_mod.plain()).keys
    out_dir = project.output_dir(render.env)
    changes: dict[str, bytes | None] = {}
    for file in render.files:
        rel = f'{out_dir}/{file.path}'
        existing = committed.read(rel) if committed.exists(rel) else None
        if file.has_secrets and holds_sealed(file):
            continue
        if (
            existing is not None
            and file.has_secrets
            and _same_secrets(existing, file, rel, keys)
            and recipients.stale(committed, project, rel) is None
        ):
            continue
        content = file_bytes(project, committed, file, decrypt=False, sealed=False, keys=keys)
        if content != existing:
            changes[rel] = content
    listed_at = f'{out_dir}/{manifest.NAME}'
    if committed.exists(listed_at):  # output committed before manifests existed has none
        listed = committed.read(listed_at)
        produced = {f.path for f in render.files}
        for path in sorted(manifest.parse(listed) - produced):
            if committed.exists(f'{out_dir}/{path}'):
                changes[f'{out_dir}/{path}'] = None
        if manifest.text(produced) != listed:
            changes[listed_at] = manifest.text(produced)
    return changes


def _prune(
    tree: ConfinedTree,
    folder: str,
    out: Path,
    produced: set[str],
    reuse: Reuse,
) -> tuple[list[Path], list[Path]]:
    """Remove what the last render of FOLDER listed and this one did not produce;
    write the new list. Returns the files removed, and those no render is known to
    have written (left alone)."""
    listed = tree.read(manifest.NAME)
    earlier = manifest.parse(listed) if listed is not None else manifest.remembered(folder, reuse)
    removed, unknown = [], []
    for rel in sorted((earlier or set()) - produced):
        with contextlib.suppress(NotRegularError):  # a folder there now: not ours
            if tree.remove(rel):
                removed.append(out / rel)
    for rel in tree.files():
        if rel not in produced and rel != manifest.NAME and out / rel not in removed:
            unknown.append(out / rel)
    data = manifest.text(produced)
    if data != listed and tree.exists():  # no folder, nothing rendered: none made
        tree.write(manifest.NAME, data, durable=False)
    manifest.remember(folder, data, reuse)
    return removed, unknown


def _new_readers(project: Project, source: Source, rel: str, existing: bytes) -> bool:
    """Whether SOURCE's rules name other recipients for REL than EXISTING is encrypted
    to."""
    want = recipients.expected(source, project, rel)
    return recipients.compared(rel, recipients.of_file(existing, rel), want) is not None


def _same(a: Any, b: Any, *, strict: bool = False) -> bool:
    """Equal trees. Secrets compare by value when open; a secret we cannot open
    matches anything, unless STRICT."""
    if isinstance(a, (Secret, SealedSecret)) or isinstance(b, (Secret, SealedSecret)):
        if isinstance(a, Secret) and isinstance(b, Secret):
            return a == b
        if isinstance(a, SealedSecret) or isinstance(b, SealedSecret):
            return not strict  # it may hold anything
        # sops encrypts every value under a key that holds a secret, its neighbours
        # too: an encrypted value and a plain one are the same if their plaintexts are
        secret, other = (a, b) if isinstance(a, Secret) else (b, a)
        return type(secret.reveal()) is type(other) and secret.reveal() == other
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], strict=strict) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            _same(x, y, strict=strict) for x, y in zip(a, b, strict=True)
        )
    return type(a) is type(b) and a == b


def _same_secrets(existing: bytes, file: RenderedFile, where: str, keys: KeyRing) -> bool:
    """Whether the encrypted EXISTING file opens (with KEYS) to exactly FILE's documents."""
    try:
        docs = _committed_documents(existing, where, keys)
    except GitopsConfigError:
        return False
    return docs is not None and _same(docs, _documents(file), strict=True)


def _documents(file: RenderedFile) -> list[Any] | None:
    """FILE's documents as sops reads them back: a whole-file secret is one value."""
    if file.documents is None and file.has_secrets:
        return [{'data': Secret(file.content.decode('utf-8', 'replace'))}]
    return file.documents


def _committed_documents(text: bytes, path: str, keys: KeyRing) -> list[Any] | None:
    if not sops.is_encrypted(text):
        return None
    opened = sops.open_values(text, path, sealed=True, ring=keys)
    return opened if isinstance(opened, list) else [opened]


def check(
    project: Project,
    source: Source,
    render: EnvRender,
    *,
    base: Callable[[], Source | None] | None = None,
    run: Run | None = None,
) -> list[Stale]:
    """Where the committed output of RENDER's environment differs from a fresh render.

    A file that holds secrets must be committed encrypted, to the recipients the rules
    name, and open (with a key) to exactly what was rendered. Without a key only its
    shape can be compared: where its ciphertext differs from BASE's (the last commit,
    opened only then) although no input of the environment did, it is UNVERIFIABLE,
    never up to date. The keys are RUN's (default: the environment's).
    """
    keys = (run if run is not None else run_mod.plain()).keys
    out_dir = project.output_dir(render.env)
    stale = []
    produced = set()
    unverified = []
    for file in render.files:
        rel = f'{out_dir}/{file.path}'
        produced.add(rel)
        if not source.exists(rel):
            stale.append(Stale(rel, 'missing'))
            continue
        committed = source.read(rel)
        if file.has_secrets:
            found = _check_secrets(project, source, file, rel, committed, keys)
            if found == UNVERIFIABLE:
                unverified.append(rel)
            elif found is not None:
                stale.append(Stale(rel, found))
            continue
        if committed == file.content:
            continue
        stale.append(Stale(rel, 'changed'))
    listed = f'{out_dir}/{manifest.NAME}'
    for rel in source.files(out_dir):
        if rel == listed:
            # Committed output from before manifests existed has none: not stale.
            if source.read(rel) != manifest.text(f.path for f in render.files):
                stale.append(Stale(rel, 'changed'))
        elif rel not in produced:
            stale.append(Stale(rel, 'extra'))
    last = base() if unverified and base is not None else None
    if last is not None:
        stale += _unverifiable(project, source, last, render.env, unverified)
    return stale


def _check_secrets(
    project: Project, source: Source, file: RenderedFile, rel: str, committed: bytes, keys: KeyRing
) -> str | None:
    """What is wrong with the committed REL of a secret-bearing FILE (None: nothing;
    UNVERIFIABLE: its shape is right, its secrets cannot be read)."""
    if not sops.is_encrypted(committed):
        return 'holds secrets in plaintext (never commit `render --decrypt` output)'
    readers = recipients.stale(source, project, rel)
    if readers is not None:
        return f'recipients differ from .sops.yaml: {readers.summary()}'
    try:
        docs = _committed_documents(committed, rel, keys)
    except GitopsConfigError as exc:
        return f'cannot be opened: {exc.message}'
    if docs is None:
        return 'changed'
    if not holds_sealed(file):
        # a key at hand: the secrets themselves are compared
        return None if _same(docs, _documents(file), strict=True) else 'changed'
    if not _same(docs, _documents(file)):
        return 'changed'
    return UNVERIFIABLE


def _unverifiable(
    project: Project, source: Source, base: Source, env: str, paths: list[str]
) -> list[Stale]:
    """Which of PATHS (secret-bearing, no key) changed since BASE, and whether the
    inputs of ENV changed with them."""
    moved = [p for p in paths if not base.exists(p) or base.read(p) != source.read(p)]
    if not moved:
        return []  # as committed before: reviewed then
    try:
        before = rendering.inputs(base, project_mod.load(base, project.root), env)
    except GitopsConfigError:
        before = {}
    same_inputs = before == rendering.inputs(source, project, env)
    if same_inputs:
        return [Stale(p, UNVERIFIABLE) for p in moved]
    return [Stale(p, f'{UNVERIFIABLE} (its inputs changed too)', blocking=False) for p in moved]
