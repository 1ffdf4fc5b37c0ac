"""Patterns from the config repository run in linear time, or are refused at their line.

A hostile pull request controls every regular expression and glob the tool
runs (secret key patterns, .sops.yaml rules, sops metadata, waiver and ignore
globs) and the text they run against (key names, file names). Attacks that
would hang run in a subprocess with a timeout, so a regression fails instead
of hanging the suite.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import regex
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import BASIC
from tests._helpers.projects import PROJECT
from tests._helpers.tree_snapshot import untouched

pytestmark = pytest.mark.usefixtures('cache_outside')

REDOS = '^(a+)+$'
LONG_A = 'a' * 40 + '!'  # 2^40 steps for a backtracking engine
AGE_RECIPIENT = 'age1ykg3e4n2p72dcmq44mjtcrnp0y7du6lkth9gzxw2l45y5e07t5lsttnnve'
TIMEOUT = 60  # seconds: far beyond what the linear engine needs, far below a hang


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own (a hang fails the test), which leaves
    the repository and the home folder as they were."""
    with untouched(repo, Path(os.environ['HOME'])):
        return subprocess.run(
            [sys.executable, '-m', 'gitops_config', '-C', str(repo), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env={**os.environ, 'GITOPS_CONFIG_NO_CACHE': '1'},
        )


def _quick(code: str) -> None:
    subprocess.run([sys.executable, '-c', textwrap.dedent(code)], check=True, timeout=TIMEOUT)


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 3, result.stderr
    assert 'Traceback' not in result.stderr
    first = result.stderr.splitlines()[0]
    for needle in needles:
        assert needle in first, result.stderr
    return first


def test_a_redos_key_pattern_does_not_hang_validate(git_repo: GitRepo) -> None:
    git_repo.commit(
        {
            **BASIC,
            'gitops-config.yaml': PROJECT + f"secrets:\n  key_patterns: ['{REDOS}']\n",
            'values/dev.yaml': f'app:\n  replicas: 1\n  {LONG_A}: x\n',
        }
    )
    result = _cli(git_repo.path, 'validate')
    assert result.returncode == 0, result.stderr


def test_a_key_pattern_re2_cannot_run_is_refused_at_its_line(git_repo: GitRepo) -> None:
    git_repo.commit(
        {
            **BASIC,
            'gitops-config.yaml': PROJECT
            + textwrap.dedent("""\
        secrets:
          key_patterns:
            - '^token$'
            - '(?<=db_)password'
        """),
        }
    )
    line = PROJECT.count('\n') + 4
    first = _one_line_error(
        _cli(git_repo.path, 'validate'),
        'invalid-regex',
        f'gitops-config.yaml:{line}:',
        '(?<=db_)password',
    )
    assert 'secrets.key_patterns' in first


def _sops_project(git_repo: GitRepo, rules: str, **files: str) -> None:
    git_repo.commit({**BASIC, '.sops.yaml': rules, **files})


def test_a_redos_path_regex_does_not_hang(git_repo: GitRepo) -> None:
    rules = f"creation_rules:\n  - path_regex: '{REDOS}'\n    age: {AGE_RECIPIENT}\n"
    _sops_project(git_repo, rules, **{f'templates/{LONG_A}.yaml': 'password: hunter2\n'})
    assert _cli(git_repo.path, 'validate').returncode in (0, 1)
    plain = git_repo.path / f'{LONG_A}.yaml'
    plain.write_text('password: hunter2\n')
    result = _cli(git_repo.path, 'secrets', 'encrypt', '-i', plain.name)
    assert 'no matching creation rules' in result.stderr


@pytest.mark.parametrize('key', ['path_regex', 'encrypted_regex'])
def test_a_sops_rule_re2_cannot_run_is_refused_at_its_line(git_repo: GitRepo, key: str) -> None:
    rules = f"creation_rules:\n  - age: {AGE_RECIPIENT}\n    {key}: '(?<!x)secrets/'\n"
    _sops_project(git_repo, rules)
    _one_line_error(_cli(git_repo.path, 'validate'), '.sops.yaml:3:', '(?<!x)secrets/')
    plain = git_repo.path / 'secrets.yaml'
    plain.write_text('password: hunter2\n')
    _one_line_error(
        _cli(git_repo.path, 'secrets', 'encrypt', '-i', plain.name),
        '.sops.yaml:3:',
        '(?<!x)secrets/',
    )
    assert plain.read_text() == 'password: hunter2\n'


def test_a_redos_encrypted_regex_does_not_hang_encrypt_or_decrypt(tmp_path: Path) -> None:
    from tests.sops.conftest import _new_age_key

    key = _new_age_key(tmp_path / 'key.txt')
    (tmp_path / '.sops.yaml').write_text(
        f"creation_rules:\n  - encrypted_regex: '{REDOS}'\n    age: {key.recipient}\n"
    )
    plain = tmp_path / 'values.yaml'
    plain.write_text(f'{LONG_A}: x\naaaa: secret\n')
    env = {**os.environ, 'SOPS_AGE_KEY_FILE': str(key.file)}
    run = [sys.executable, '-m', 'gitops_config', '-C', str(tmp_path), 'secrets']
    subprocess.run(
        [*run, 'encrypt', '-i', plain.name],
        check=True,
        timeout=TIMEOUT,
        env=env,
        capture_output=True,
    )
    assert 'aaaa: ENC[' in plain.read_text()  # the metadata now holds the pattern too
    decrypted = subprocess.run(
        [*run, 'decrypt', plain.name],
        check=True,
        timeout=TIMEOUT,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert 'aaaa: secret' in decrypted


def test_a_pathological_waiver_glob_does_not_hang() -> None:
    _quick(f"""
        from gitops_config.policy.match import glob_match
        assert not glob_match({'*a' * 14 + 'b'!r}, {'a' * 60!r})
        assert glob_match('**/*.yaml', 'k8s/a/b.yaml') and not glob_match('*.yaml', 'k8s/a.json')
    """)


def test_a_pathological_keypath_glob_does_not_hang() -> None:
    _quick(f"""
        from gitops_config import keypath
        from gitops_config.diff import match_steps
        path = ['a'] * 60
        assert not keypath.match_glob({'**.*.' * 25 + 'z'!r}, path)
        assert not match_steps({'**.*.' * 25 + 'z'!r}, tuple(path))
        assert keypath.match_glob('**.a', path) and match_steps('a.**', tuple(path))
    """)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab*?[]!^-\\/.', max_size=8), st.text(alphabet='ab[]!^-\\/.', max_size=6))
def test_wildcards_mean_what_fnmatch_says(pattern: str, name: str) -> None:
    assert bool(regex.wildcard(pattern).search(name)) == fnmatch.fnmatchcase(name, pattern)


@pytest.mark.parametrize('pattern', ['(a)\\1', '(?=x)', 'a{1001}', '\\Z'])
def test_what_re2_cannot_run_is_one_clear_error(pattern: str) -> None:
    with pytest.raises(regex.RegexError, match='cannot be used') as info:
        regex.compile(pattern, what='secrets.key_patterns[0]')
    assert info.value.hint is not None
    assert 'RE2' in info.value.hint


def test_sops_rules_keep_go_semantics() -> None:
    from gitops_config.sops.tree import go_regex

    assert go_regex('a$').search('a\n') is None  # Go's $ is the end of the text
    assert go_regex('\\d').search('\u0663') is None  # \\d is ASCII in Go
    assert go_regex('^(a+)+$').search(LONG_A) is None


def test_a_sops_metadata_regex_re2_cannot_run_names_the_file(tmp_path: Path) -> None:
    from tests.sops.conftest import _new_age_key

    key = _new_age_key(tmp_path / 'key.txt')
    (tmp_path / '.sops.yaml').write_text(
        f"creation_rules:\n  - encrypted_regex: '^pass'\n    age: {key.recipient}\n"
    )
    plain = tmp_path / 'values.yaml'
    plain.write_text('password: hunter2\nuser: app\n')
    env = {**os.environ, 'SOPS_AGE_KEY_FILE': str(key.file)}
    run = [sys.executable, '-m', 'gitops_config', '-C', str(tmp_path), 'secrets']
    subprocess.run(
        [*run, 'encrypt', '-i', plain.name],
        check=True,
        timeout=TIMEOUT,
        env=env,
        capture_output=True,
    )
    plain.write_text(
        plain.read_text().replace('encrypted_regex: ^pass', 'encrypted_regex: (?<=x)pass')
    )
    result = subprocess.run(
        [*run, 'decrypt', plain.name], timeout=TIMEOUT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 3
    first = result.stderr.splitlines()[0]
    assert 'values.yaml: sops metadata encrypted_regex' in first, result.stderr
    assert '(?<=x)pass' in first
    assert 'hunter2' not in result.stdout + result.stderr
