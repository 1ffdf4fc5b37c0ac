"""`gitops-config secrets`: SOPS-compatible encrypt, decrypt, edit, set, rotate."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitops_config import sops
from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.cli.commands.edit import report
from gitops_config.cli.commands.edit import value_mode
from gitops_config.cli.commands.edit import value_options
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import UsageError
from gitops_config.fsutil import atomic_write
from gitops_config.fsutil import read_file
from gitops_config.sops import decrypt_file
from gitops_config.sops import execute
from gitops_config.sops import gitsetup
from gitops_config.sops import is_encrypted
from gitops_config.sops import rules
from gitops_config.sops.keys import age as age_keys
from gitops_config.source import WorkTree

if TYPE_CHECKING:
    from gitops_config.recipients import RecipientChange
    from gitops_config.secret_age import SecretAge
    from gitops_config.source import Source

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group('secrets')
def secrets() -> None:
    """Encrypt, decrypt, edit and rotate SOPS secrets (files sops itself can read)."""


@secrets.command('keygen')
@click.option(
    '--output',
    '-o',
    type=_FILE,
    default=None,
    help='Write the identity here (default: append to the sops age keys file).',
)
def keygen(*, output: Path | None) -> int:
    """Create an age identity (file mode 0600) and print its recipient."""
    recipient = age_keys.keygen(output, options.run().keys.environ)
    click.echo(recipient)
    return exit_codes.OK


@secrets.command('encrypt')
@click.argument('files', nargs=-1, required=True, type=_FILE)
@click.option('--in-place', '-i', is_flag=True, help='Replace each file by its encryption.')
@click.option(
    '--age',
    'age',
    multiple=True,
    metavar='RECIPIENT',
    help='Encrypt for this age recipient instead of .sops.yaml (repeatable).',
)
@click.option(
    '--pgp',
    'pgp',
    multiple=True,
    metavar='FINGERPRINT',
    help='Encrypt for this PGP key instead of .sops.yaml (repeatable).',
)
@click.option(
    '--kms',
    'kms',
    multiple=True,
    metavar='ARN',
    help='Encrypt for this AWS KMS key (ARN, or ARN+ROLE_ARN) instead of .sops.yaml (repeatable).',
)
@click.option(
    '--gcp-kms',
    'gcp_kms',
    multiple=True,
    metavar='RESOURCE_ID',
    help='Encrypt for this GCP KMS key instead of .sops.yaml (repeatable).',
)
@click.option(
    '--azure-kv',
    'azure_kv',
    multiple=True,
    metavar='URL',
    help='Encrypt for this Azure Key Vault key (https://VAULT.vault.azure.net/'
    'keys/NAME/VERSION) instead of .sops.yaml (repeatable).',
)
@click.option(
    '--hc-vault-transit',
    'hc_vault',
    multiple=True,
    metavar='URL',
    help='Encrypt for this Vault transit key (https://HOST:8200/v1/transit/keys/'
    'NAME) instead of .sops.yaml (repeatable).',
)
def encrypt(
    *,
    files: tuple[Path, ...],
    in_place: bool,
    age: tuple[str, ...],
    pgp: tuple[str, ...],
    kms: tuple[str, ...],
    gcp_kms: tuple[str, ...],
    azure_kv: tuple[str, ...],
    hc_vault: tuple[str, ...],
) -> int:
    """Encrypt FILE... with the keys .sops.yaml names for them; refuses encrypted files.

    Cloud keys (KMS, Vault) get the data key through a `sops` executable, with its
    credentials."""
    # lazy: filelock loads only when encrypt() runs (start-up)
    from gitops_config.sops import ops

    if len(files) > 1 and not in_place:
        raise UsageError('several FILEs need --in-place (ciphertexts are not concatenated)')
    cloud = {'kms': kms, 'gcp_kms': gcp_kms, 'azure_kv': azure_kv, 'hc_vault': hc_vault}
    for path in files:
        if in_place:
            ops.encrypt_in_place(path, age=age, pgp=pgp, cloud=cloud, ring=options.run().keys)
            click.echo(f'{path}: encrypted', err=True)
        else:
            sys.stdout.buffer.write(
                ops.encrypt_file(path, age=age, pgp=pgp, cloud=cloud, ring=options.run().keys)
            )
    return exit_codes.OK


@secrets.command('decrypt')
@click.argument('files', nargs=-1, required=True, type=_FILE)
@click.option('--output', '-o', type=_FILE, default=None, help='Write the plaintext here.')
@click.option(
    '--output-dir',
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help='Write each plaintext into DIR under its own name.',
)
@click.option('--in-place', '-i', is_flag=True, help='Replace each file by its plaintext.')
@click.option('--ignore-mac', is_flag=True, help='Decrypt even if the MAC does not match.')
def decrypt(
    *,
    files: tuple[Path, ...],
    output: Path | None,
    output_dir: Path | None,
    in_place: bool,
    ignore_mac: bool,
) -> int:
    """Print FILE decrypted, exactly as `sops -d` would (or write it with -o/-i)."""
    if sum((output is not None, output_dir is not None, in_place)) > 1:
        raise UsageError('choose one of --output, --output-dir and --in-place')
    if output is not None and len(files) > 1:
        raise UsageError('--output takes a single FILE; use --output-dir for several')
    for path in files:
        if in_place:
            # lazy: filelock loads only when decrypt() runs (start-up)
            from gitops_config.sops import ops

            ops.decrypt_in_place(path, ignore_mac=ignore_mac, ring=options.run().keys)
            continue
        plain = decrypt_file(path, ignore_mac=ignore_mac, ring=options.run().keys)
        if output is not None:
            atomic_write(output, plain, mode=0o600)
        elif output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(output_dir / path.name, plain, mode=0o600)
        else:
            sys.stdout.buffer.write(plain)
    sys.stdout.flush()
    return exit_codes.OK


@secrets.command('edit')
@click.argument('file', type=_FILE)
def edit(*, file: Path) -> int:
    """Edit FILE decrypted in $EDITOR; unchanged values keep their exact ciphertext."""
    # lazy: filelock loads only when edit() runs (start-up)
    from gitops_config.sops import ops

    changed = ops.edit_file(
        file, retry=_ask_to_retry if sys.stdin.isatty() else None, ring=options.run().keys
    )
    click.echo(f'{file}: {"re-encrypted" if changed else "unchanged"}', err=True)
    return exit_codes.OK


def _ask_to_retry(message: str) -> bool:
    click.echo(f'error: {message}', err=True)
    return click.confirm('Return to the editor to fix it?', default=True, err=True)


@secrets.command('set')
@click.argument('file', type=_FILE)
@click.argument('key_path', metavar='KEYPATH')
@click.argument('value')
@value_options
def set_(*, file: Path, key_path: str, value: str, as_string: bool, as_yaml: bool) -> int:
    """Set KEYPATH to VALUE in the encrypted FILE; every other value keeps its ciphertext.

    KEYPATH and VALUE work as in `gitops-config set`: a layer's KEYPATH names what `get`
    names, and VALUE keeps the type of the value it replaces.

    \b
      gitops-config secrets set secrets/prod.enc.yaml secrets.litellm_master_key sk-...
    """
    # lazy: filelock loads only when set_() runs (start-up)
    from gitops_config import layer_edit
    from gitops_config.layer_edit.formats import Sops

    result = layer_edit.set_value(
        file,
        key_path,
        value,
        fmt=Sops(),
        mode=value_mode(as_string=as_string, as_yaml=as_yaml),
        keys=options.run().keys,
    )
    report(result, secret=True)
    return exit_codes.OK


@secrets.command('rotate')
@click.argument('file', type=_FILE)
def rotate(*, file: Path) -> int:
    """Give FILE a new data key, re-wrapped for all of its recipients."""
    # lazy: filelock loads only when rotate() runs (start-up)
    from gitops_config.sops import ops

    ops.rotate_file(file, ring=options.run().keys)
    click.echo(f'{file}: rotated', err=True)
    return exit_codes.OK


@secrets.command('updatekeys')
@click.argument('file', type=_FILE)
def updatekeys(*, file: Path) -> int:
    """Re-wrap FILE's data key for the recipients .sops.yaml names now."""
    # lazy: filelock loads only when updatekeys() runs (start-up)
    from gitops_config.sops import ops

    changed = ops.updatekeys_file(file, ring=options.run().keys)
    click.echo(f'{file}: {"keys updated" if changed else "keys already up to date"}', err=True)
    return exit_codes.OK


_COMMAND = {'ignore_unknown_options': True, 'allow_interspersed_args': False}


@secrets.command('exec-env', context_settings=_COMMAND)
@click.argument('file', type=_FILE)
@click.argument(
    'command', nargs=-1, required=True, type=click.UNPROCESSED, metavar='-- CMD [ARG]...'
)
@click.option(
    '--pristine', is_flag=True, help="Give CMD only the file's variables, not this environment."
)
def exec_env(*, file: Path, command: tuple[str, ...], pristine: bool) -> int:
    """Run CMD with FILE's top-level values as environment variables.

    As sops exec-env: one variable per top-level key (a nested value is an error), the
    plaintext only in CMD's environment. CMD runs as given, without a shell (`-- sh -c
    '...'` for one); signals sent to gitops-config pass on to it, and its exit code is
    gitops-config's (128+N when signal N ended it).
    """
    return execute.exec_env(file, _argv(command), pristine=pristine, ring=options.run().keys)


@secrets.command('exec-file', context_settings=_COMMAND)
@click.argument('file', type=_FILE)
@click.argument(
    'command', nargs=-1, required=True, type=click.UNPROCESSED, metavar='-- CMD [ARG]...'
)
@click.option(
    '--no-fifo',
    is_flag=True,
    help='A regular 0600 file instead of a FIFO, for a CMD that seeks or reads it twice.',
)
@click.option(
    '--filename',
    metavar='NAME',
    default=None,
    help="Name the decrypted file NAME (default: FILE's own name).",
)
def exec_file(*, file: Path, command: tuple[str, ...], no_fifo: bool, filename: str | None) -> int:
    """Run CMD with {} replaced by the path of FILE decrypted, which exists only while
    CMD runs.

    As sops exec-file: the path is a FIFO that CMD can read once (or, with --no-fifo, a
    0600 file) in a private 0700 folder outside the working tree, in memory where the
    system has /dev/shm, removed when CMD ends. CMD runs without a shell; signals pass
    on to it and its exit code comes back.
    """
    return execute.exec_file(
        file, _argv(command), fifo=not no_fifo, filename=filename, ring=options.run().keys
    )


def _argv(command: tuple[str, ...]) -> list[str]:
    """CMD with a leading `--` dropped (click keeps it when it follows FILE)."""
    argv = list(command[1:] if command[:1] == ('--',) else command)
    if not argv:
        raise UsageError('name the command to run after --')
    return argv


@secrets.command('age')
@click.argument('files', nargs=-1, type=_FILE)
@options.ref
@options.output_format('text', 'json')
def age(*, files: tuple[Path, ...], ref: str | None, output_format: str) -> int:
    """When each secret last changed, oldest first: the date and commit that wrote its
    ciphertext (from git history; without it, the file's sops.lastmodified).

    Without FILES: every encrypted value layer of the project. Nothing is decrypted.
    GITOPS_CONFIG_NOW (an ISO 8601 time) sets the clock the ages count to.
    """
    # lazy: the project and git load for project-wide commands only, not for decrypt
    from gitops_config import secret_age

    now = options.run().now
    source, names = _age_inputs(files, ref)
    found = secret_age.ages(source, names, now=now)
    if output_format == 'json':
        click.echo(
            json.dumps(
                {'now': now.isoformat(), 'secrets': [a.view(now) for a in found]},
                indent=2,
                sort_keys=True,
                ensure_ascii=False,
            )
        )
        return exit_codes.OK
    rows = [
        (
            a.changed.date().isoformat(),
            f'{a.days(now)}d',
            _age_commit(a, shallow=a.how == secret_age.SHALLOW),
            f'{a.file}:{a.line}' if a.line else a.file,
            a.keypath(),
        )
        for a in found
    ]
    if not rows:
        click.echo('no encrypted values', err=True)
        return exit_codes.OK
    rows.insert(0, ('CHANGED', 'AGE', 'COMMIT', 'FILE', 'SECRET'))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo(
            '  '.join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[4]]).rstrip()
        )
    return exit_codes.OK


def _age_commit(found: SecretAge, *, shallow: bool) -> str:
    if found.commit is None:
        return f'({found.how})'
    return found.commit[:12] + (' (at least: shallow clone)' if shallow else '')


def _age_inputs(files: tuple[Path, ...], ref: str | None) -> tuple[Source, list[str]]:
    """The source to read and the files in it: FILES from the repository's top (or the
    working folder outside git), else the project's encrypted layers."""
    # lazy: the project and git load for project-wide commands only, not for decrypt
    from gitops_config import git
    from gitops_config.project import open_project
    from gitops_config.revision import located_at

    if not files:
        source, project = open_project(Path.cwd(), ref)
        layers = sorted({p for env in project.environments for p in env.layers})
        return source, [p for p in layers if source.exists(p) and sops.is_encrypted(source.read(p))]
    root = git.toplevel(Path.cwd()) or Path.cwd()
    names = []
    for path in files:
        full = os.path.abspath(path)
        rel = os.path.relpath(full, os.path.abspath(root))
        if rel.startswith('..'):
            raise UsageError(f'{path}: is outside {root}')
        names.append(Path(rel).as_posix())
    return (WorkTree(root) if ref is None else located_at(root).at(ref)), names


@secrets.command('status')
@click.argument('files', nargs=-1, type=_FILE)
@click.option(
    '--can-decrypt',
    is_flag=True,
    help='Also exit 1 when the keys at hand cannot open a file the rules cover '
    '(a pre-flight check before a deploy). Without FILES: every encrypted '
    'value layer of the project.',
)
def status(*, files: tuple[Path, ...], can_decrypt: bool) -> int:
    """Whether each FILE is encrypted, its MAC is valid, and who can open it.

    Exits 1 when a file that a creation rule says must be encrypted is not, when its
    recipients differ from the ones the rules name now (run `secrets updatekeys`, or
    `render` for rendered output), or when its MAC does not match.
    """
    # lazy: filelock loads only when status() runs (start-up)
    from gitops_config.sops import ops

    if not files and not can_decrypt:
        raise UsageError(
            'name the FILES to look at (or use --can-decrypt for every '
            'encrypted layer of the project)'
        )
    rc = exit_codes.OK
    for path in files or _encrypted_layers():
        st = ops.status(path, ring=options.run().keys)
        if not st.encrypted:
            if st.must_encrypt:
                rc = exit_codes.FINDINGS
                click.echo(f'{path}: NOT ENCRYPTED, but .sops.yaml says it must be')
            else:
                click.echo(f'{path}: not encrypted')
            continue
        mac = {True: 'MAC ok', False: 'MAC MISMATCH', None: 'no key to check the MAC'}[st.mac_ok]
        if st.mac_ok is False:
            rc = exit_codes.FINDINGS
        click.echo(f'{path}: encrypted, {mac}; recipients: {", ".join(st.recipients)}')
        stale = _stale_readers(path)
        if stale is not None:
            rc = exit_codes.FINDINGS
            readers, fix = stale
            click.echo(
                f'{path}: RECIPIENTS DIFFER from .sops.yaml: {readers.summary()} '
                f'(run `gitops-config {fix}`)'
            )
        if can_decrypt and st.must_encrypt and st.mac_ok is None and not _opens(path):
            rc = exit_codes.FINDINGS
            click.echo(f'{path}: CANNOT DECRYPT with the keys at hand')
    return rc


def _encrypted_layers() -> list[Path]:
    """Every encrypted value layer of the project here."""
    # lazy: the project and git load for project-wide commands only, not for decrypt
    from gitops_config.project import open_project

    source, project = open_project(Path.cwd(), None)
    layers = sorted({p for env in project.environments for p in env.layers})
    found = [
        project.root / p for p in layers if source.exists(p) and sops.is_encrypted(source.read(p))
    ]
    here = Path.cwd().resolve()
    return [p.resolve().relative_to(here) if p.resolve().is_relative_to(here) else p for p in found]


def _stale_readers(path: Path) -> tuple[RecipientChange, str] | None:
    """How PATH's recipients differ from the ones the rules (or, for rendered output,
    its environment's `recipients:`) name now, and the command that fixes it."""
    # lazy: the project and git load for project-wide commands only, not for decrypt
    from gitops_config import recipients
    from gitops_config.project import open_project

    try:
        source, project = open_project(path.resolve().parent)
        rel = path.resolve().relative_to(source.root.resolve()).as_posix()
        change = recipients.stale(source, project, rel)
        rendered = any(rel.startswith(project.output_dir(e) + '/') for e in project.env_names())
        return None if change is None else (change, 'render' if rendered else 'secrets updatekeys')
    except (GitopsConfigError, ValueError):
        pass

    try:
        want = tuple(
            sorted(set(rules.rule_for(path, environ=options.run().keys.environ).recipients()))
        )
    except GitopsConfigError:
        return None
    change = recipients.compared(str(path), recipients.of_file(path.read_bytes(), str(path)), want)
    return None if change is None else (change, 'secrets updatekeys')


def _opens(path: Path) -> bool:
    """Whether the keys at hand (or a `sops` on PATH, for cloud KMS) open PATH."""
    try:
        decrypt_file(path, ring=options.run().keys)
    except GitopsConfigError:
        return False
    return True


@secrets.command('git-setup')
@click.option(
    '--write-attributes',
    is_flag=True,
    help='Also add the lines to .gitattributes (otherwise they are printed).',
)
@click.option(
    '--pattern',
    'patterns',
    multiple=True,
    metavar='GLOB',
    help='Files that hold secrets (repeatable; default *.enc.yaml and friends).',
)
def git_setup(*, write_attributes: bool, patterns: tuple[str, ...]) -> int:
    """Install git drivers: diffs show decrypted content, merges merge the plaintext."""
    repo = gitsetup.repo_root(Path.cwd())
    gitsetup.install(repo)
    lines = gitsetup.attributes_lines(patterns or gitsetup.DEFAULT_PATTERNS)
    if write_attributes:
        gitsetup.write_attributes(repo, lines)
        click.echo(f'{repo / ".gitattributes"}: drivers enabled', err=True)
    else:
        click.echo('add these lines to .gitattributes:', err=True)
        click.echo('\n'.join(lines))
    return exit_codes.OK


@secrets.command('textconv', hidden=True)
@click.argument('file', type=_FILE)
def textconv(*, file: Path) -> int:
    """git diff driver: print FILE decrypted when we can, else as it is."""
    data = read_file(file)
    if is_encrypted(data):
        # no key: the diff shows ciphertext, as it would without us
        with contextlib.suppress(GitopsConfigError):
            data = decrypt_file(file, ring=options.run().keys)
    sys.stdout.buffer.write(data)
    return exit_codes.OK


@secrets.command('merge-driver', hidden=True)
@click.argument('base', type=_FILE)
@click.argument('ours', type=_FILE)
@click.argument('theirs', type=_FILE)
@click.argument('name', required=False)
def merge_driver(*, base: Path, ours: Path, theirs: Path, name: str | None) -> int:
    """git merge driver: merge decrypted trees, re-encrypt into OURS; 1 on conflict."""
    # lazy: filelock loads only when merge_driver() runs (start-up)
    from gitops_config.sops import ops

    conflict = ops.merge_files(base, ours, theirs, name=name, ring=options.run().keys)
    if conflict is not None:
        click.echo(f'{name or ours}: conflicting changes at {conflict}', err=True)
        return exit_codes.FINDINGS
    return exit_codes.OK
