"""The one masking pass: decrypted, sealed and detected plaintext secrets alike, in every
report (issue 12 item 2). A finding says where a plaintext secret is; no report shows it."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import diff
from gitops_config import masking
from gitops_config.masking import Masked
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.pipeline import results
from gitops_config.policy.secrets import key_patterns
from gitops_config.policy.secrets import plaintext_secrets
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.redact import fingerprint
from gitops_config.report import comment
from gitops_config.report import diff_json
from gitops_config.report import diff_markdown
from gitops_config.report import diff_text
from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli

SHAPED = 'sk-proj-CaNaRy0shaped0Xq9ZkW7vB2nL4t'  # a credential's shape, under any key
NAMED = 'CaNaRyNamed-77a1'  # plain text, but under a key named like a secret
KEY = b'one report'


def test_decrypted_sealed_and_detected_plaintext_are_masked_alike() -> None:
    doc = {
        'api_key': Secret('s3cr3t-value'),
        'sealed': SealedSecret('ENC[x]'),
        'note': f'use {SHAPED}',
        'db_password': NAMED,
        'pin_code': 1234,
        'password': 'os.environ/DB_PASSWORD',
        'replicas': 3,
        'name': 'gateway',
    }
    masked = masking.mask_value(doc, KEY)
    assert masked['api_key'] == Masked(fingerprint(Secret('s3cr3t-value'), KEY))
    assert masked['sealed'] == Masked(sealed=True)
    assert isinstance(masked['note'], Masked)
    assert masked['note'].fingerprint
    assert isinstance(masked['db_password'], Masked)
    # a reference points at a secret: it is shown, as are values that are no secret
    assert (masked['password'], masked['replicas'], masked['name']) == (
        'os.environ/DB_PASSWORD',
        3,
        'gateway',
    )
    assert masking.mask_value({'name': 'gateway'}, KEY) == {'name': 'gateway'}


def test_a_value_at_a_secret_s_place_is_masked_whatever_it_holds() -> None:
    # drift: the desired side holds a secret, the live side anything at all
    for desired in (Secret('x' * 8), SealedSecret('ENC[y]'), SHAPED):
        old, new, secret = masking.mask_pair(desired, 'hand-edited', KEY, name='note')
        assert secret
        assert isinstance(old, Masked)
        assert isinstance(new, Masked)
    # a secret replaced by a reference: the reference is shown
    old, new, _ = masking.mask_pair(SHAPED, 'os.environ/OPENAI_API_KEY', KEY, name='api_key')
    assert isinstance(old, Masked)
    assert new == 'os.environ/OPENAI_API_KEY'
    assert masking.mask_pair(1, 2, KEY, name='replicas') == (1, 2, False)


def test_project_key_patterns_name_secrets_too() -> None:
    assert masking.mask_value({'custom_field': NAMED}, None) == {'custom_field': NAMED}
    masked = masking.mask_value({'custom_field': NAMED}, None, patterns=('^custom_',))
    assert masked == {'custom_field': Masked()}


def test_free_text_is_masked_by_shape_and_by_known_plaintexts() -> None:
    text = (
        f'duplicate key {SHAPED!r}; "{NAMED}" is not of type integer; '
        'header Bearer abcdefghijklmnopqrstuvwxyz0123; '
        '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n'
        '-----END OPENSSH PRIVATE KEY-----; replicas: 3'
    )
    out = masking.mask_text(text, KEY, known=[NAMED, 'ab'])
    for leaked in (SHAPED, NAMED, 'abcdefghijklmnopqrstuvwxyz0123', 'AAAAB3NzaC1yc2E'):
        assert leaked not in out
    assert 'Bearer ****' in out
    assert 'replicas: 3' in out
    assert 'fp:' in out
    assert masking.mask_text(out, KEY) == out  # masking twice changes nothing


def test_a_change_record_goes_through_the_same_pass() -> None:
    change = Change(
        'dev',
        'config.yaml',
        'litellm_params.api_key',
        ChangeKind.CHANGED,
        'os.environ/OPENAI_API_KEY',
        SHAPED,
    )
    masked = masking.mask_change(change, KEY)
    assert masked.secret
    assert masked.old == 'os.environ/OPENAI_API_KEY'
    assert isinstance(masked.new, Masked)
    assert masking.mask_change(masked, KEY) == masked
    nested = Change(
        'dev', 'x.yaml', 'items[0]', ChangeKind.ADDED, None, {'db': {'password': NAMED}}
    )
    assert masking.mask_change(nested).new == {'db': {'password': Masked()}}


_NAMES = st.sampled_from(
    ['password', 'api_key', 'note', 'replicas', 'name', 'db_pass', 'token', 'items']
)
_PLAIN = st.one_of(st.integers(-5, 5), st.sampled_from(['gateway', 'os.environ/X', '']))
_CANARIES = st.sampled_from(
    [
        SHAPED,
        f'prefix {SHAPED}',
        'AKIAIOSFODNN7CANARY1',
        'ghp_' + 'C' * 36,
        'xoxb-1234567890-CaNaRy',
    ]
)


def _tree(
    leaves: st.SearchStrategy[Any],
    names: st.SearchStrategy[str] = _NAMES,
) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda kids: st.one_of(
            st.lists(kids, max_size=3), st.dictionaries(names, kids, max_size=3)
        ),
        max_leaves=12,
    )


@given(_tree(st.one_of(_PLAIN, _CANARIES)), _tree(st.one_of(_PLAIN, _CANARIES)))
@example([], [{'name': SHAPED}])  # an item named by a secret: its path shows the name
@example({SHAPED: 1}, {})  # a key that is a secret
@settings(max_examples=150, deadline=None)
def test_no_report_of_any_diff_shows_a_detected_secret(old: Any, new: Any) -> None:
    changes = diff.diff_documents(
        [old], [new], env='dev', file='f.yaml', options=diff.Options(key=KEY)
    )
    env = results.EnvDiff('dev', changes, errors=(f'bad value {SHAPED}',))
    review = results.Review('a', 'b', (env,), sealed=False, fingerprints=True)
    out = diff_markdown.render(review) + diff_json.dumps(review) + comment.build(review)
    import io

    stream = io.StringIO()
    diff_text.write(review, stream, use_color=False)
    for text in (out, stream.getvalue()):
        assert 'CaNaRy' not in text
        assert 'CANARY' not in text
        assert 'CCCCCCCC' not in text


def _revealed(node: Any) -> Any:
    if isinstance(node, Secret):
        return node.reveal()
    if isinstance(node, dict):
        return {k: _revealed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_revealed(v) for v in node]
    return node


def _wrapped(node: Any, path: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    if isinstance(node, Secret):
        return {path}
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    return {found for k, v in items for found in _wrapped(v, (*path, k))}


def test_conceal_wraps_exactly_the_flagged_leaves() -> None:
    doc: dict[str, Any] = {
        'db': {'password': 'hunter2', 'host': 'db'},
        'models': [{'api_key': 'os.environ/OPENAI_API_KEY'}, {'note': 'sk-' + 'a' * 20}],
    }
    out = masking.conceal(doc)
    assert isinstance(out['db']['password'], Secret)
    assert isinstance(out['models'][1]['note'], Secret)
    assert out['db']['host'] == 'db'
    assert out['models'][0] is doc['models'][0]  # untouched branches are shared
    assert doc['db']['password'] == 'hunter2'  # the input is not changed
    assert 'hunter2' not in repr(out)
    assert 'sk-' not in str(out)


def test_conceal_keeps_a_clean_document_as_it_is() -> None:
    doc = {'a': [1, {'api_key': '${KEY}'}]}
    assert masking.conceal(doc) is doc
    assert isinstance(masking.conceal('Bearer ' + 'x' * 20), Secret)


@given(_tree(st.one_of(_PLAIN, _CANARIES, st.just(NAMED)), names=_NAMES | st.just('custom')))
@settings(max_examples=200, deadline=None)
def test_conceal_wraps_what_the_secrets_pack_flags_and_changes_no_value(doc: Any) -> None:
    out = masking.conceal(doc, patterns=('^custom$',))
    found = plaintext_secrets(doc, key_patterns(('^custom$',)))
    assert _wrapped(out) == {tuple(hit['path']) for hit in found}
    assert _revealed(out) == doc


PROJECT = """\
environments:
  - name: dev
    layers: [values/common.yaml, values/dev.yaml]
templates: templates
schemas:
  values:
    - files: values/*.yaml
      schema: schemas/values.schema.json
"""
SCHEMA = json.dumps(
    {
        'type': 'object',
        'properties': {'db_password': {'type': 'integer'}, 'api_key': {'maxLength': 5}},
    }
)


@pytest.fixture
def leaky(git_repo: GitRepo) -> tuple[GitRepo, str]:
    base = git_repo.commit(
        {
            'gitops-config.yaml': PROJECT,
            'schemas/values.schema.json': SCHEMA,
            'values/common.yaml': 'api_key: os.environ/OPENAI_API_KEY\nreplicas: 1\n',
            'values/dev.yaml': 'replicas: 2\n',
            'templates/config.yaml.j2': 'api_key: {{ api_key }}\nreplicas: {{ replicas }}\n'
            '{% if db_password is defined %}db_password: '
            '{{ db_password }}\n{% endif %}',
        }
    )
    git_repo.commit({'values/dev.yaml': f'replicas: 2\napi_key: {SHAPED}\ndb_password: {NAMED}\n'})
    return git_repo, base


def _assert_masked(*texts: str) -> None:
    for text in texts:
        assert 'CaNaRy' not in text, text  # SHAPED and NAMED both hold it


def test_every_report_masks_plaintext_secrets(
    leaky: tuple[GitRepo, str], run_cli: RunCli, caplog: pytest.LogCaptureFixture
) -> None:
    git_repo, base = leaky
    caplog.set_level(logging.DEBUG)
    outputs = []
    for fmt in ('text', 'json', 'markdown'):
        result = run_cli('diff', base, 'HEAD', '--validate', '--format', fmt, cwd=git_repo.path)
        outputs += [result.stdout, result.stderr]
    data = json.loads(outputs[2])
    changes = {c['path']: c for c in data['environments'][0]['changes']}
    assert changes['api_key']['old'] == 'os.environ/OPENAI_API_KEY'
    assert changes['api_key']['new']['masked']
    assert changes['api_key']['secret']
    assert changes['db_password']['new']['masked']
    for fmt in ('text', 'json', 'junit', 'sarif', 'github'):
        result = run_cli('validate', '--format', fmt, cwd=git_repo.path)
        assert result.exit_code == 1
        outputs += [result.stdout, result.stderr]
    assert 'values/dev.yaml:2' in outputs[-10]  # where the secret is: file and line
    assert 'is not of type' in outputs[-10]  # the schema error, without the value
    for args in (
        ('get', 'dev', 'api_key'),
        ('get', 'dev', 'db_password', '-f', 'json'),
        ('explain', 'dev', 'db_password'),
        ('history', 'dev', 'api_key'),
        ('history', 'dev', 'db_password', '--format', 'json'),
    ):
        result = run_cli(*args, cwd=git_repo.path)
        assert result.exit_code == 0, result.output
        assert '****' in result.stdout or '"masked": true' in result.stdout
        outputs += [result.stdout, result.stderr]
    _assert_masked(*outputs, caplog.text)
    # the one escape hatch: asked for explicitly
    assert run_cli('get', 'dev', 'api_key', '--decrypt', cwd=git_repo.path).stdout == (
        SHAPED + '\n'
    )


def test_error_messages_are_masked(git_repo: GitRepo, run_cli: RunCli) -> None:
    git_repo.commit(
        {
            'gitops-config.yaml': PROJECT,
            'schemas/values.schema.json': SCHEMA,
            'values/common.yaml': f'{SHAPED}: 1\n{SHAPED}: 2\n',
            'values/dev.yaml': '{}\n',
            'templates/a.txt': 'a\n',
        }
    )
    result = run_cli('validate', cwd=git_repo.path)
    assert result.exit_code == 3
    assert 'duplicate' in result.stderr
    _assert_masked(result.stdout, result.stderr)


def test_findings_of_any_source_are_masked_by_the_reporters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    from gitops_config.pipeline.results import CheckResult
    from gitops_config.report import findings

    found = Finding(
        'custom/rule',
        Severity.ERROR,
        f'value {SHAPED} is not allowed',
        Location('values/dev.yaml', 3, 1),
        hint=f'remove {SHAPED}',
    )
    for fmt in findings.FINDINGS_FORMATS:
        findings.write(CheckResult((found,)), fmt, sys.stdout)
    out = capsys.readouterr().out
    assert 'values/dev.yaml' in out
    _assert_masked(out)


def test_logs_are_masked(
    run_cli: RunCli, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli('--help')
    handler = logging.getLogger().handlers[0]
    record = logging.LogRecord('x', logging.WARNING, __file__, 1, 'cannot use %s', (SHAPED,), None)
    assert all(f.filter(record) for f in handler.filters if isinstance(f, logging.Filter))
    assert SHAPED not in record.getMessage()
