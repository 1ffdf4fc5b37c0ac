"""How old each secret is (issue 12 item 7): the commit that wrote each ciphertext, with
real git histories, real age keys and the real sops; and the secret-age rule kind that
fails old ones, with waivers. The clock is GITOPS_CONFIG_NOW: nothing here depends on
today's date."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitops_config.sops import ops
from tests._helpers.git_repo import GitRepo
from tests._helpers.keys import new_age_key
from tests._helpers.keys import use_keys
from tests._helpers.projects import BASIC
from tests.conftest import RunCli

SOPS = str(Path(sys.executable).parent / 'sops')
SECRETS = 'db:\n    password: pw-one\n    user_unencrypted: app\napi_key: sk-one\ntoken: t-one\n'
RULE = """\
rules:
  - id: team/prod-secret-age
    scope: secret-age
    match: {environments: [prod]}
    message: prod secrets rotate every 90 days
    expr: secret.age_days <= 90
    examples:
      pass:
        - secret: {path: api_key, age_days: 90}
      fail:
        - secret: {path: api_key, age_days: 91}
"""


def _at(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    """Commits from now on are written (author and committer) on DAY."""
    monkeypatch.setenv('GIT_AUTHOR_DATE', f'{day}T12:00:00Z')
    monkeypatch.setenv('GIT_COMMITTER_DATE', f'{day}T12:00:00Z')


@pytest.fixture
def repo(
    git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> GitRepo:
    """BASIC, prod's secrets in an encrypted layer whose values changed over 2026:
    all three on 01-01, the password on 03-01, the token on 06-01 (next to a new
    recipient on 05-01, which changes no value)."""
    key = tmp_path / 'key.txt'
    recipient = new_age_key(key)
    use_keys(monkeypatch, key)
    project = BASIC['gitops-config.yaml']
    assert isinstance(project, str)
    _at(monkeypatch, '2026-01-01')
    git_repo.write(
        {
            **BASIC,
            'gitops-config.yaml': project.replace(
                'values/prod.yaml]', 'values/prod.yaml, secrets/prod.enc.yaml]'
            ),
            '.sops.yaml': f'creation_rules:\n  - path_regex: secrets/\n    age: {recipient}\n',
            'secrets/prod.enc.yaml': SECRETS,
            'policies/age.yaml': RULE,
        }
    )
    assert (
        run_cli('secrets', 'encrypt', '-i', 'secrets/prod.enc.yaml', cwd=git_repo.path).exit_code
        == 0
    )
    git_repo.commit(message='secrets')
    path = git_repo.path / 'secrets/prod.enc.yaml'
    _at(monkeypatch, '2026-03-01')
    ops.set_value(path, 'db.password', 'pw-two')
    git_repo.commit(message='new password')
    _at(monkeypatch, '2026-05-01')
    other = tmp_path / 'other.txt'
    (git_repo.path / '.sops.yaml').write_text(
        f'creation_rules:\n  - path_regex: secrets/\n    age: {recipient},{new_age_key(other)}\n'
    )
    assert (
        run_cli('secrets', 'updatekeys', 'secrets/prod.enc.yaml', cwd=git_repo.path).exit_code == 0
    )
    git_repo.commit(message='a second reader')
    _at(monkeypatch, '2026-06-01')
    ops.set_value(path, 'token', 't-two')
    git_repo.commit(message='new token')
    monkeypatch.setenv('GITOPS_CONFIG_NOW', '2026-07-01T12:00:00Z')
    return git_repo


def _ages(run_cli: RunCli, repo: GitRepo, *args: str) -> list[dict[str, Any]]:
    result = run_cli('secrets', 'age', '-f', 'json', *args, cwd=repo.path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data['now'] == '2026-07-01T12:00:00+00:00'
    secrets: list[dict[str, Any]] = data['secrets']
    return secrets


def _commit(repo: GitRepo, message: str) -> str:
    return repo.git('log', '--format=%H', f'--grep={message}').strip()


def test_each_secret_is_dated_by_the_commit_that_wrote_its_ciphertext(
    repo: GitRepo, run_cli: RunCli
) -> None:
    found = _ages(run_cli, repo)
    assert [
        (s['path'], s['changed'][:10], s['age_days'], s['commit'], s['source']) for s in found
    ] == [
        ('api_key', '2026-01-01', 181, _commit(repo, 'secrets'), 'git'),
        ('db.password', '2026-03-01', 122, _commit(repo, 'new password'), 'git'),
        ('token', '2026-06-01', 30, _commit(repo, 'new token'), 'git'),
    ]  # oldest first; db.user_unencrypted is no secret; the new reader dated nothing
    assert [s['line'] for s in found] == [4, 2, 5]
    text = run_cli('secrets', 'age', cwd=repo.path).stdout.splitlines()
    assert text[0].split() == ['CHANGED', 'AGE', 'COMMIT', 'FILE', 'SECRET']
    assert text[1].split() == [
        '2026-01-01',
        '181d',
        _commit(repo, 'secrets')[:12],
        'secrets/prod.enc.yaml:4',
        'api_key',
    ]
    assert 'pw-' not in '\n'.join(text)


def test_an_uncommitted_change_and_a_rotation(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = repo.path / 'secrets/prod.enc.yaml'
    ops.set_value(path, 'api_key', 'sk-two')
    found = {s['path']: s for s in _ages(run_cli, repo, 'secrets/prod.enc.yaml')}
    assert found['api_key']['source'] == 'uncommitted'
    assert found['api_key']['commit'] == ''
    assert found['token']['source'] == 'git'
    _at(monkeypatch, '2026-06-15')
    assert run_cli('secrets', 'rotate', 'secrets/prod.enc.yaml', cwd=repo.path).exit_code == 0
    repo.commit(message='rotate the data key')
    rotated = _commit(repo, 'rotate the data key')
    assert {s['commit'] for s in _ages(run_cli, repo)} == {rotated}  # every ciphertext


def test_a_value_real_sops_sets_dates_only_that_value(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _at(monkeypatch, '2026-06-20')
    subprocess.run(
        [SOPS, 'set', 'secrets/prod.enc.yaml', '["api_key"]', '"sk-sops"'],
        cwd=repo.path,
        check=True,
        capture_output=True,
    )
    repo.commit(message='sops set')
    found = {s['path']: s['changed'][:10] for s in _ages(run_cli, repo)}
    assert found == {'api_key': '2026-06-20', 'db.password': '2026-03-01', 'token': '2026-06-01'}


def test_history_follows_a_renamed_file(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _at(monkeypatch, '2026-06-25')
    repo.git('mv', 'secrets/prod.enc.yaml', 'secrets/production.enc.yaml')
    repo.commit(message='rename')
    found = _ages(run_cli, repo, 'secrets/production.enc.yaml')
    assert found[0]['changed'][:10] == '2026-01-01'


def test_without_history_the_lastmodified_counts(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / 'key.txt'
    recipient = new_age_key(key)
    use_keys(monkeypatch, key)
    folder = tmp_path / 'loose'
    folder.mkdir()
    plain = folder / 's.yaml'
    plain.write_text('a: x\n')
    encrypted = subprocess.run(
        [SOPS, '-e', '--age', recipient, str(plain)], check=True, capture_output=True
    ).stdout.decode()
    plain.write_text(
        encrypted.replace(
            encrypted.split('lastmodified: ')[1].split('\n')[0], '"2026-02-01T08:00:00Z"'
        )
    )
    monkeypatch.setenv('GITOPS_CONFIG_NOW', '2026-03-01')
    result = run_cli('secrets', 'age', '-f', 'json', 's.yaml', cwd=folder)
    assert result.exit_code == 0, result.output
    [found] = json.loads(result.stdout)['secrets']
    assert (found['source'], found['changed'], found['age_days']) == (
        'lastmodified',
        '2026-02-01T08:00:00+00:00',
        27,
    )


def test_a_shallow_clone_says_at_least(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    clone = tmp_path / 'shallow'
    subprocess.run(
        ['git', 'clone', '-q', '--depth', '1', f'file://{repo.path}', str(clone)], check=True
    )
    result = run_cli('secrets', 'age', '-f', 'json', cwd=clone)
    found = json.loads(result.stdout)['secrets']
    assert {s['source'] for s in found} == {'shallow'}
    text = run_cli('secrets', 'age', cwd=clone).stdout
    assert 'at least: shallow clone' in text


def test_a_bad_clock_is_a_usage_error(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('GITOPS_CONFIG_NOW', 'last tuesday')
    result = run_cli('secrets', 'age', cwd=repo.path)
    assert result.exit_code == 2
    assert 'GITOPS_CONFIG_NOW' in result.stderr


def test_the_secret_age_rule_fails_old_prod_secrets_with_waivers(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli('validate', '-f', 'json', cwd=repo.path)
    assert result.exit_code == 1, result.output
    findings = [
        f for f in json.loads(result.stdout)['findings'] if f['rule'] == 'team/prod-secret-age'
    ]
    assert [(f['file'], f['line'], f['env']) for f in findings] == [
        ('secrets/prod.enc.yaml', 2, 'prod'),
        ('secrets/prod.enc.yaml', 4, 'prod'),
    ]
    assert findings[1]['message'] == (
        f'api_key: prod secrets rotate every 90 days (last changed 2026-01-01, 181 days '
        f'ago, in {_commit(repo, "secrets")[:12]})'
    )
    assert 'pw-' not in result.output
    assert 'sk-one' not in result.output
    # a waiver for one key path, as for any rule; then it expires
    project = repo.path / 'gitops-config.yaml'
    project.write_text(
        project.read_text()
        + (
            'policies:\n  waivers:\n    - {rule: team/prod-secret-age, env: prod, path: api_key,'
            ' reason: provider rotation booked, expires: "2026-07-15"}\n'
        )
    )
    result = run_cli('validate', '-f', 'json', cwd=repo.path)
    assert [
        f['line']
        for f in json.loads(result.stdout)['findings']
        if f['rule'] == 'team/prod-secret-age'
    ] == [2]
    monkeypatch.setenv('GITOPS_CONFIG_NOW', '2026-07-20T00:00:00Z')
    rules = sorted(
        f['rule']
        for f in json.loads(run_cli('validate', '-f', 'json', cwd=repo.path).stdout)['findings']
    )
    assert rules.count('team/prod-secret-age') == 2
    assert 'waiver-expired' in rules
    # before the password's 90 days were up, only the key failed
    monkeypatch.setenv('GITOPS_CONFIG_NOW', '2026-05-30T00:00:00Z')
    project.write_text(project.read_text().split('policies:\n')[0])
    result = run_cli('validate', '-f', 'json', cwd=repo.path)
    assert [
        f['line']
        for f in json.loads(result.stdout)['findings']
        if f['rule'] == 'team/prod-secret-age'
    ] == [4]


def test_the_rule_kinds_examples_run_in_policy_test(repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli('policy', 'test', 'policies/age.yaml', cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        'PASS policies/age.yaml:9:11 team/prod-secret-age (pass example): passes',
        'PASS policies/age.yaml:11:11 team/prod-secret-age (fail example): fails as '
        'expected: prod secrets rotate every 90 days',
        '2 example(s) in 1 rule(s), 0 failure(s)',
    ]
