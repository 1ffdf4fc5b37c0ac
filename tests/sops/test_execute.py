"""secrets exec-env and exec-file: the plaintext reaches the command and nothing else;
the values, exit codes and signals as the real sops passes them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitops_config.cli.main import cli
from gitops_config.sops import encrypt_text
from tests._helpers.tree_snapshot import untouched
from tests.sops.conftest import AgeKey
from tests.sops.conftest import as_sops_prints
from tests.sops.conftest import sops

ROOT = Path(__file__).resolve().parents[2]
FLAT = (
    'DB_PASSWORD: hunter2\nPORT: 5432\nRATIO: 1.5\nBIG: 1e21\nWHOLE: 3.0\nTINY: 1e-7\n'
    'ON: true\nWHEN: 2001-12-14 21:59:43.10\nNOTHING: ~\nEMPTY: ""\n'
    'TEXT: "two\\nlines"\nNOTE_unencrypted: plain\n# a comment\n'
)
NAMES = [
    'DB_PASSWORD',
    'PORT',
    'RATIO',
    'BIG',
    'WHOLE',
    'TINY',
    'ON',
    'WHEN',
    'NOTHING',
    'EMPTY',
    'TEXT',
    'NOTE_unencrypted',
]
# prints the named variables as JSON into the file named first
DUMP = (
    'import json, os, sys; open(sys.argv[1], "w").write(json.dumps('
    '{k: os.environ.get(k) for k in sys.argv[2:]}))'
)


@pytest.fixture
def flat(tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> Path:
    path = tmp_path / 'env.enc.yaml'
    path.write_bytes(encrypt_text(FLAT, str(path), age=[age_keys[0].recipient]))
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


def test_exec_env_gives_the_values_sops_gives(flat: Path, tmp_path: Path) -> None:
    theirs, ours = tmp_path / 'theirs.json', tmp_path / 'ours.json'
    sops('exec-env', str(flat), ' '.join([sys.executable, '-c', f"'{DUMP}'", str(theirs), *NAMES]))
    code, err = _run(
        'secrets', 'exec-env', str(flat), '--', sys.executable, '-c', DUMP, str(ours), *NAMES
    )
    assert code == 0, err
    got = json.loads(ours.read_text())
    assert got == json.loads(theirs.read_text())
    assert got['DB_PASSWORD'] == 'hunter2'
    assert (got['BIG'], got['WHOLE'], got['TINY']) == ('1E+21', '3.0', '1E-07')
    assert got['WHEN'] == '2001-12-14T21:59:43Z'
    assert got['NOTHING'] == '<nil>'  # sops's text for a null
    assert got['TEXT'] == 'two\nlines'


def test_exec_env_refuses_nested_values_as_sops_does(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    path = tmp_path / 'nested.enc.yaml'
    path.write_bytes(
        encrypt_text('A: x\ndb:\n    password: hunter2\n', str(path), age=[age_keys[0].recipient])
    )
    marker = tmp_path / 'ran'
    real = subprocess.run(
        [str(Path(sys.executable).parent / 'sops'), 'exec-env', str(path), f'touch {marker}'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert real.returncode != 0
    assert 'complex value' in real.stderr
    code, err = _run('secrets', 'exec-env', str(path), '--', 'touch', str(marker))
    assert code == 3
    assert err.startswith('error: sops-error: ')
    assert 'db: exec-env cannot put a nested value in the environment' in err
    assert 'hunter2' not in err
    assert not marker.exists()


@pytest.mark.parametrize(
    ('script', 'expected'),
    [
        ('raise SystemExit(0)', 0),
        ('raise SystemExit(7)', 7),
        ('raise SystemExit(255)', 255),
        ('import os, signal; os.kill(os.getpid(), signal.SIGKILL)', 128 + 9),
    ],
)
def test_the_exit_code_passes_through(script: str, expected: int, flat: Path) -> None:
    for command in ('exec-env', 'exec-file'):
        code, err = _run('secrets', command, str(flat), '--', sys.executable, '-c', script, '{}')
        assert code == expected, (command, err)


def test_pristine_gives_only_the_files_variables(
    flat: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('UNRELATED', 'x')
    out = tmp_path / 'env.json'
    code, err = _run(
        'secrets',
        'exec-env',
        '--pristine',
        str(flat),
        '--',
        sys.executable,
        '-c',
        DUMP,
        str(out),
        'UNRELATED',
        'PORT',
    )
    assert code == 0, err
    assert json.loads(out.read_text()) == {'UNRELATED': None, 'PORT': '5432'}


def test_a_missing_command_is_one_line(flat: Path) -> None:
    code, err = _run('secrets', 'exec-env', str(flat), '--', 'no-such-command-here')
    assert code == 3
    assert err.startswith('error: process-failed: no-such-command-here: cannot run it')


CHILD = """
import os, signal, sys, time
out = sys.argv[1]
def on(sig, frame):
    open(out, 'a').write(f'{signal.Signals(sig).name}\\n')
    if sig == signal.SIGTERM:
        raise SystemExit(42)
for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP, signal.SIGINT):
    signal.signal(sig, on)
open(out + '.ready', 'w').write(os.environ.get('PORT', '') + ' ' + sys.argv[2])
time.sleep(30)
raise SystemExit(1)
"""


@pytest.mark.parametrize('command', ['exec-env', 'exec-file'])
def test_signals_sent_to_us_reach_the_command(command: str, flat: Path, tmp_path: Path) -> None:
    out, errors = tmp_path / 'signals.txt', tmp_path / 'stderr.txt'
    with errors.open('wb') as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'gitops_config',
                'secrets',
                command,
                str(flat),
                '--',
                sys.executable,
                '-c',
                CHILD,
                str(out),
                '{}',
            ],
            cwd=ROOT,
            env={**os.environ, 'PYTHONPATH': str(ROOT)},
            stderr=stderr,
        )
    ready = Path(str(out) + '.ready')
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert ready.exists(), errors.read_text()
    for sig in (signal.SIGUSR1, signal.SIGHUP, signal.SIGTERM):
        time.sleep(0.1)
        proc.send_signal(sig)
    assert proc.wait(timeout=20) == 42
    assert out.read_text() == 'SIGUSR1\nSIGHUP\nSIGTERM\n'
    if command == 'exec-file':
        path = Path(ready.read_text().split(' ')[1])
        assert not path.exists()
        assert not path.parent.exists()


# runs the rest of its arguments as the leader of a new session whose controlling
# terminal is its stdin (a pty), as a shell in a terminal window would
SESSION = (
    'import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); '
    'os.execvp(sys.argv[1], sys.argv[1:])'
)


def test_ctrl_c_at_the_terminal_reaches_the_command_and_we_wait_for_it(
    flat: Path, tmp_path: Path
) -> None:
    """The terminal sends Ctrl-C to the whole foreground group: the command gets it, and
    we stay to pass on what comes next and its exit code."""
    out = tmp_path / 'signals.txt'
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                '-c',
                SESSION,
                sys.executable,
                '-m',
                'gitops_config',
                'secrets',
                'exec-env',
                str(flat),
                '--',
                sys.executable,
                '-c',
                CHILD,
                str(out),
                '-',
            ],
            cwd=ROOT,
            env={**os.environ, 'PYTHONPATH': str(ROOT)},
            stdin=slave,
            stdout=slave,
            stderr=slave,
        )
        ready = Path(str(out) + '.ready')
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert ready.exists()
        os.write(master, b'\x03')  # Ctrl-C
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 42
    finally:
        os.close(master)
        os.close(slave)
    assert out.read_text() == 'SIGINT\nSIGTERM\n'


def test_only_signals_the_terminal_did_not_send_to_the_group_are_passed_on() -> None:
    """The terminal's Ctrl-C reached the command already (a second one is "force quit"
    to many commands); `kill PID` did not; one the command sent us goes back to nobody."""
    from gitops_config import process

    si_user, si_kernel, si_queue = 0, 0x80, -1
    assert process.passes_on(si_user, 100, 200)
    assert process.passes_on(si_queue, 100, 200)
    assert not process.passes_on(si_kernel, 0, 200)
    assert not process.passes_on(si_user, 200, 200)


def test_exec_file_hands_a_fifo_in_a_private_folder_and_leaves_nothing(
    flat: Path, tmp_path: Path
) -> None:
    report = tmp_path / 'report.json'
    probe = (
        'import json, os, stat, sys; p = sys.argv[2]; d = os.path.dirname(p); '
        'info = {"fifo": stat.S_ISFIFO(os.stat(p).st_mode), '
        '"dir": oct(os.stat(d).st_mode & 0o777), "file": oct(os.stat(p).st_mode & 0o777), '
        '"name": os.path.basename(p), "text": open(p).read(), "path": p}; '
        'open(sys.argv[1], "w").write(json.dumps(info))'
    )
    work = tmp_path / 'work'
    work.mkdir()
    with untouched(work, flat.parent / 'env.enc.yaml'):
        code, err = _run(
            '-C',
            str(work),
            'secrets',
            'exec-file',
            str(flat),
            '--',
            sys.executable,
            '-c',
            probe,
            str(report),
            '{}',
        )
    assert code == 0, err
    info = json.loads(report.read_text())
    assert info['fifo'] is True
    assert (info['dir'], info['file']) == ('0o700', '0o600')
    assert info['name'] == 'env.enc.yaml'
    printed = sops('decrypt', str(flat))
    assert as_sops_prints(info['text'].encode(), printed) == printed
    assert not Path(info['path']).exists()
    assert not Path(info['path']).parent.exists()
    assert not str(info['path']).startswith(str(tmp_path))


def test_exec_file_no_fifo_is_a_0600_file_gone_afterwards(flat: Path, tmp_path: Path) -> None:
    report = tmp_path / 'report.json'
    probe = (
        'import json, os, stat, sys; p = sys.argv[2]; t = open(p).read(); '
        'open(sys.argv[1], "w").write(json.dumps({'
        '"regular": stat.S_ISREG(os.stat(p).st_mode), '
        '"mode": oct(os.stat(p).st_mode & 0o777), "twice": open(p).read() == t, '
        '"path": p}))'
    )
    code, err = _run(
        'secrets',
        'exec-file',
        '--no-fifo',
        '--filename',
        'env.yaml',
        str(flat),
        '--',
        sys.executable,
        '-c',
        probe,
        str(report),
        '{}',
    )
    assert code == 0, err
    info = json.loads(report.read_text())
    assert info['regular']
    assert info['twice']
    assert info['mode'] == '0o600'
    assert info['path'].endswith('/env.yaml')
    assert not Path(info['path']).exists()


def test_exec_file_is_what_sops_exec_file_hands(flat: Path, tmp_path: Path) -> None:
    theirs, ours = tmp_path / 'theirs.txt', tmp_path / 'ours.txt'
    sops('exec-file', str(flat), f'cp {{}} {theirs}')
    code, err = _run('secrets', 'exec-file', str(flat), '--', 'cp', '{}', str(ours))
    assert code == 0, err
    # but `WHOLE: 3.0`, which sops hands as `3`, an int to whoever reads it
    assert b'\nWHOLE: 3.0\n' in ours.read_bytes()
    assert as_sops_prints(ours.read_bytes(), theirs.read_bytes()) == theirs.read_bytes()


def test_a_command_that_never_opens_the_fifo_does_not_hang(flat: Path) -> None:
    start = time.monotonic()
    code, _ = _run('secrets', 'exec-file', str(flat), '--', 'sh', '-c', 'exit 3', '{}')
    assert code == 3
    assert time.monotonic() - start < 60  # a hang never ends; load may slow a pass


@pytest.mark.parametrize(
    'args',
    [
        ('--', 'cat', 'file'),
        ('--filename', '../escape.yaml', '--', 'cat', '{}'),
        ('--filename', 'a/b', '--', 'cat', '{}'),
    ],
)
def test_exec_file_usage_errors(args: tuple[str, ...], flat: Path) -> None:
    code, err = (
        _run('secrets', 'exec-file', *args[:-3], str(flat), *args[-3:])
        if args[0] == '--filename'
        else _run('secrets', 'exec-file', str(flat), *args)
    )
    assert code == 2, err
    assert err.startswith('error: usage: ')
