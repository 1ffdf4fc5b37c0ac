"""A known secret goes through every path (diff, comment, action, history, drift, errors)
and must never come out, in plaintext or base64, in any output, log or error."""

from __future__ import annotations

import base64
import json
import logging
import shlex
import sys
from pathlib import Path

import pytest

from gitops_config import diff
from gitops_config import revision
from gitops_config import sops
from gitops_config.model import ChangeKind
from gitops_config.pipeline import comparison
from gitops_config.report import comment
from gitops_config.report import diff_json
from gitops_config.report import diff_markdown
from tests._helpers.action import run_action
from tests._helpers.git_repo import GitRepo
from tests._helpers.github import FakeGitHub
from tests.conftest import RunCli

OLD = 'S3cr3t-PLANTED-old-9f8e7d'
NEW = 'S3cr3t-PLANTED-new-7a6b5c'
FORBIDDEN = [OLD, NEW] + [base64.b64encode(s.encode()).decode() for s in (OLD, NEW)] + ['PLANTED']

PROJECT = """\
environments:
  - name: staging
    layers: [values/common.yaml, secrets/staging.enc.yaml]
  - name: prod
    layers: [values/common.yaml, secrets/prod.enc.yaml]
templates: templates
"""
TEMPLATES = {
    'templates/secret.yaml.j2': 'apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n'
    'data:\n  password: {{ db.password | b64encode }}\n',
    'templates/config.yaml.j2': 'url: postgres://app:{{ db.password }}@db:5432/app\n'
    'replicas: {{ replicas }}\n',
}


def assert_clean(*texts: str) -> None:
    for text in texts:
        for needle in FORBIDDEN:
            assert needle not in text


def _enc(value: str, recipient: str, path: str) -> bytes:
    return sops.encrypt_text(f'db:\n  password: {value}\n', path, age=[recipient])


@pytest.fixture
def repo(git_repo: GitRepo, age_key: str) -> tuple[GitRepo, str]:
    base = git_repo.commit(
        {
            'gitops-config.yaml': PROJECT,
            'values/common.yaml': 'replicas: 1\n',
            'secrets/staging.enc.yaml': _enc(NEW, age_key, 'secrets/staging.enc.yaml'),
            'secrets/prod.enc.yaml': _enc(OLD, age_key, 'secrets/prod.enc.yaml'),
            **TEMPLATES,
        },
        'init',
    )
    git_repo.commit(
        {
            'secrets/prod.enc.yaml': _enc(NEW, age_key, 'secrets/prod.enc.yaml'),
            'values/common.yaml': 'replicas: 2\n',
        },
        'rotate prod db password',
    )
    return git_repo, base


def test_diff_in_every_format(
    repo: tuple[GitRepo, str], run_cli: RunCli, caplog: pytest.LogCaptureFixture
) -> None:
    git_repo, base = repo
    caplog.set_level(logging.DEBUG)
    outputs = []
    for fmt in ('text', 'json', 'markdown'):
        result = run_cli(
            '--color', 'always', 'diff', base, 'HEAD', '--format', fmt, cwd=git_repo.path
        )
        assert result.exit_code == 0, result.output
        outputs += [result.stdout, result.stderr]
    assert_clean(*outputs, caplog.text)
    data = json.loads(outputs[2])
    prod = data['environments'][1]
    secrets = [c for c in prod['changes'] if c['secret']]
    assert {c['file'] for c in secrets} == {'config.yaml', 'secret.yaml'}
    for c in secrets:
        assert c['kind'] == 'changed'
        assert c['old']['masked']
        assert c['new']['fingerprint']
    assert prod['summary']['secrets'] == 2


def test_fingerprint_tells_same_value_as_staging(repo: tuple[GitRepo, str]) -> None:
    git_repo, base = repo
    old, new = revision.open_pair(git_repo.path, base, 'HEAD')
    key = b'one-report'
    review = comparison.compare(old, new, key=key)
    [change] = [c for c in review.envs[1].changes if c.file == 'secret.yaml']
    staging = comparison.compare(new, new, key=key)  # same key: same fingerprints
    assert not staging.changed
    from gitops_config import redact

    expected = redact.fingerprint(redact.Secret(base64.b64encode(NEW.encode()).decode()), key)
    assert isinstance(change.new, diff.Masked)
    assert change.new.fingerprint == expected


def test_sealed_diff_reports_reencryption(
    repo: tuple[GitRepo, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo, base = repo

    monkeypatch.delenv('SOPS_AGE_KEY_FILE')
    old, new = revision.open_pair(git_repo.path, base, 'HEAD')
    review = comparison.compare(old, new)
    assert review.sealed
    prod = review.envs[1]
    kinds = {(c.file, c.kind) for c in prod.changes if c.secret}
    assert kinds == {('config.yaml', ChangeKind.RESEALED), ('secret.yaml', ChangeKind.RESEALED)}
    assert [c.path for c in prod.changes if not c.secret] == ['replicas']
    assert_clean(diff_json.dumps(review), diff_markdown.render(review))


def test_pr_comment_and_action(repo: tuple[GitRepo, str], tmp_path: Path, shim: Path) -> None:
    git_repo, base = repo
    old, new = revision.open_pair(git_repo.path, base, 'HEAD')
    review = comparison.compare(old, new)
    assert_clean(comment.build(review), comment.build(review, limit=600))
    fake = FakeGitHub()
    fake.thread.start()
    try:
        head = git_repo.git('rev-parse', 'HEAD').strip()
        result, outputs, summary = run_action(git_repo, fake, shim, tmp_path, base=base, head=head)
        bodies = [c['body'] for cs in fake.comments.values() for c in cs]
    finally:
        fake.server.shutdown()
        fake.server.server_close()
    assert result.returncode == 0, result.stderr
    assert bodies
    assert 'fp:' in bodies[0]
    assert_clean(result.stdout, result.stderr, summary, json.dumps(outputs), *bodies)


def test_history_of_a_secret(repo: tuple[GitRepo, str], run_cli: RunCli) -> None:
    git_repo, _ = repo
    outputs = []
    for fmt in ('text', 'json'):
        result = run_cli('history', 'prod', 'db.password', '--format', fmt, cwd=git_repo.path)
        assert result.exit_code == 0, result.output
        outputs += [result.stdout, result.stderr]
    data = json.loads(outputs[2])
    assert [e['kind'] for e in data['entries']] == ['changed', 'added']
    assert all(e['secret'] for e in data['entries'])
    assert_clean(*outputs)


def test_drift_against_live_plaintext(
    repo: tuple[GitRepo, str], run_cli: RunCli, tmp_path: Path
) -> None:
    git_repo, _ = repo
    live = tmp_path / 'live'
    live.mkdir()
    b64_old = base64.b64encode(OLD.encode()).decode()
    (live / 'secret.yaml').write_text(
        f'apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\ndata:\n  password: {b64_old}\n'
    )
    (live / 'config.yaml').write_text(
        f'url: postgres://app:{NEW}@db:5432/app\nreplicas: 2\napi_token: {OLD}\n'
    )
    outputs = []
    for fmt in ('text', 'json', 'markdown'):
        result = run_cli('drift', 'prod', '--live', str(live), '--format', fmt, cwd=git_repo.path)
        assert result.exit_code == 1, result.output
        outputs += [result.stdout, result.stderr]
    data = json.loads(outputs[2])
    assert sorted((c['file'], c['path'], c['secret']) for c in data['changes']) == [
        ('config.yaml', 'api_token', True),
        ('secret.yaml', 'data.password', True),
    ]
    cmd = f'{shlex.quote(sys.executable)} -c "import sys; sys.exit(\'{OLD}\'[:3])"'
    failed = run_cli('drift', 'prod', '--live-cmd', cmd, cwd=git_repo.path)
    assert failed.exit_code == 3
    assert_clean(*outputs)


def test_template_error_quoting_a_secret_is_scrubbed(
    repo: tuple[GitRepo, str], run_cli: RunCli
) -> None:
    git_repo, base = repo
    git_repo.write({'templates/bad.yaml.j2': 'x: {{ {}[db.password] }}\n'})
    result = run_cli('diff', base, '--format', 'json', cwd=git_repo.path)
    assert result.exit_code == 1, result.output  # a file that does not render fails the diff
    errors = [e for env in json.loads(result.stdout)['environments'] for e in env['errors']]
    assert errors
    assert all('bad.yaml' in e for e in errors)
    assert_clean(result.stdout, result.stderr)


def test_json_with_secrets_repeats_byte_for_byte(
    repo: tuple[GitRepo, str], run_cli: RunCli
) -> None:
    git_repo, base = repo
    runs = [run_cli('diff', base, 'HEAD', '-f', 'json', cwd=git_repo.path).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    assert '"fingerprint": "' in runs[0]
    assert_clean(*runs)
