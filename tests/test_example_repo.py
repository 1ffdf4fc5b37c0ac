"""The shipped example-repo, checked as a user would check it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import RunCli

EXAMPLE = Path(__file__).resolve().parents[1] / 'example-repo'


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / 'example-repo'
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns('out'))
    return target


def test_example_repo_is_clean(example: Path, run_cli: RunCli) -> None:
    result = run_cli('validate', '--sealed', '--format', 'text', cwd=example)
    assert result.exit_code == 0, result.output
    assert run_cli('render', '--check', cwd=example).exit_code == 0


def test_a_model_served_in_prod_only_is_caught(example: Path, run_cli: RunCli) -> None:
    prod = example / 'values/prod.yaml'
    prod.write_text(
        prod.read_text().replace(
            """model_list:
""",
            """model_list:
  - model_name: o1
    model_info:
      id: openai-o1
    litellm_params:
      model: openai/o1
      api_key: os.environ/OPENAI_API_KEY
      rpm: 10
      tpm: 20000
""",
            1,
        )
    )
    result = run_cli('validate', '--sealed', '--format', 'json', cwd=example)
    assert result.exit_code == 1, result.output
    assert 'litellm/prod-models-in-staging' in result.stdout
    assert 'o1 is not served in staging' in result.stdout
    [finding] = [
        f
        for f in json.loads(result.stdout)['findings']
        if f['rule'] == 'litellm/prod-models-in-staging'
    ]
    assert finding['file'] == 'rendered/prod/litellm/config.yaml'
    assert finding['origin']['file'] == 'values/prod.yaml'


def test_a_deleted_key_is_checked_as_absent(example: Path, run_cli: RunCli) -> None:
    prod = example / 'values/prod.yaml'
    prod.write_text(prod.read_text().replace('      rpm: 2000\n', '      rpm: !delete\n', 1))
    result = run_cli('validate', '--sealed', '--format', 'json', cwd=example)
    assert result.exit_code == 1
    findings = json.loads(result.stdout)['findings']
    rules = [f['rule'] for f in findings if f['severity'] != 'skipped']
    assert rules == ['litellm/rate-limits']  # and no schema error for `!delete` itself
    # the sealed secrets' schema rules: skipped, not passed
    assert sorted(f['file'] for f in findings if f['severity'] == 'skipped') == [
        'secrets/dev.enc.yaml',
        'secrets/prod.enc.yaml',
        'secrets/staging.enc.yaml',
    ]


def test_diff_of_one_environment_validates_that_one(
    example: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only dev's key at hand, `diff --env dev --validate` checks dev: staging and
    prod, whose keys are elsewhere, are neither decrypted nor reported."""
    from tests._helpers.git_repo import GitRepo

    repo = GitRepo(example)
    base = repo.commit(message='base')
    dev = example / 'values/dev.yaml'
    head = repo.commit({'values/dev.yaml': dev.read_text().replace('rpm: 10\n', 'rpm: 12\n')})
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(example / 'keys/demo-dev.agekey'))
    result = run_cli('diff', base, head, '--env', 'dev', '--validate', '-f', 'json', cwd=example)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    [env] = report['environments']
    assert env['name'] == 'dev'
    assert env['status'] == 'changed'
    assert env['findings'] == []  # before: "validation could not run: staging: ... no key"
    assert 'could not run' not in result.stdout


def _rpm_drop(example: Path) -> tuple[object, str, str]:
    """example-repo committed, then prod's gpt-4o rpm cut from 500 to 100."""
    from tests._helpers.git_repo import GitRepo

    repo = GitRepo(example)
    base = repo.commit(message='base')
    prod = example / 'values/prod.yaml'
    text = prod.read_text()
    assert '      rpm: 500\n' in text
    head = repo.commit(
        {'values/prod.yaml': text.replace('      rpm: 500\n', '      rpm: 100\n', 1)},
        'prod: rpm 100',
    )
    return repo, base, head


def test_diff_validate_runs_change_rules(example: Path, run_cli: RunCli) -> None:
    """A prod rate limit falling from 500 to 100 is a finding wherever a base exists."""
    _, base, head = _rpm_drop(example)
    result = run_cli('diff', base, head, '--sealed', '--validate', '-f', 'json', cwd=example)
    assert result.exit_code == 0, result.output
    found = [
        (env['name'], f)
        for env in json.loads(result.stdout)['environments']
        for f in env['findings']
    ]
    [(env, finding)] = [(e, f) for e, f in found if f['rule'] == 'litellm/rate-limit-drop']
    assert env == 'prod'
    assert finding['message'] == (
        'model_list[0].litellm_params.rpm: a prod rate limit may not fall by more than half '
        'in one change: openai-gpt-4o rpm 500 -> 100'
    )
    assert finding['location'] == 'rendered/prod/litellm/config.yaml:7:7'
    assert run_cli('validate', '--sealed', '--base', base, cwd=example).exit_code == 1
    # without a base there is nothing to compare with: the same head is clean
    assert run_cli('validate', '--sealed', cwd=example).exit_code == 0


def test_ignored_settings_are_ignored_in_the_configmap_copy_too(
    example: Path, run_cli: RunCli
) -> None:
    """config.yaml is rendered twice (litellm/config.yaml and the ConfigMap's data): an
    ignore rule of the project covers both, and `diff --exit-code` says no change."""
    from tests._helpers.git_repo import GitRepo

    repo = GitRepo(example)
    dev = example / 'values/dev.yaml'
    text = dev.read_text()
    assert text.endswith('  budget_duration: 1d\n')
    settings = '  callbacks: [{}]\ngeneral_settings:\n  alerting_threshold: {}\n'
    base = repo.commit({'values/dev.yaml': text + settings.format('otel, prometheus', 300)})
    head = repo.commit({'values/dev.yaml': text + settings.format('prometheus, otel', 600)})
    result = run_cli('diff', base, head, '--sealed', '--exit-code', '--env', 'dev', cwd=example)
    assert result.exit_code == 0, result.output
    assert 'dev: unchanged' in result.stdout
    ignored = [
        line.split()[1:3]
        for line in result.stdout.splitlines()
        if line.strip().startswith('ignored:')
    ]
    assert sorted(ignored) == [
        ['k8s/configmap.yaml', 'data["config.yaml"].general_settings.alerting_threshold'],
        ['k8s/configmap.yaml', 'data["config.yaml"].litellm_settings.callbacks'],
        ['litellm/config.yaml', 'general_settings.alerting_threshold'],
        ['litellm/config.yaml', 'litellm_settings.callbacks'],
    ]


def test_a_cross_environment_finding_points_at_the_value(example: Path, run_cli: RunCli) -> None:
    """dev's budget above staging's: the finding is at staging's max_budget line (the value
    the rule names), not at the environment's entry in gitops-config.yaml."""
    dev = example / 'values/dev.yaml'
    dev.write_text(dev.read_text().replace('  max_budget: 5\n', '  max_budget: 500\n'))
    line = (example / 'values/staging.yaml').read_text().splitlines().index('  max_budget: 100') + 1
    result = run_cli('validate', '--sealed', '--format', 'json', cwd=example)
    assert result.exit_code == 1, result.output
    [finding] = [
        f for f in json.loads(result.stdout)['findings'] if f['rule'] == 'gateway/budget-order'
    ]
    assert (finding['file'], finding['line'], finding['column']) == ('values/staging.yaml', line, 3)
    assert finding['message'] == (
        'litellm_settings.max_budget: budgets must grow from dev to '
        'staging to prod: staging 100 < dev 500'
    )


def test_litellm_keys_the_docs_describe_pass_the_example_schemas(
    example: Path, run_cli: RunCli
) -> None:
    common = example / 'values/common.yaml'
    text = common.read_text()
    assert '\nlitellm_settings:\n' in text
    common.write_text(
        text.replace(
            '\nlitellm_settings:\n',
            """
litellm_settings:
  callbacks: [otel, prometheus]
  success_callback: [langfuse]
  turn_off_message_logging: true
  redact_user_api_key_info: true
""",
            1,
        )
    )
    result = run_cli('validate', '--sealed', '--format', 'json', cwd=example)
    assert result.exit_code == 0, result.output
    assert [
        f for f in json.loads(result.stdout)['findings'] if f['severity'] in ('error', 'warning')
    ] == []
