"""The pre-commit hooks, run by the real `pre-commit` against a git copy of example-repo.

pre-commit installs the hook repository into a virtualenv with pip, which
takes seconds: `try-repo` always uses a throwaway store, so it runs twice
(every hook on a clean example, every hook blocking a bad commit); the other
cases run `pre-commit run` with a config pointing at the same commit and
share one session-scoped store.
pip's download cache lives in pytest's cache folder so that later sessions
install offline-fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers.git_repo import GitRepo
from tests.conftest import RunCli

ROOT = Path(__file__).resolve().parents[2]
# What pip needs to build the package, and the hook manifest.
SHIPPED = (
    'pyproject.toml',
    'README.md',
    'gitops_config',
    'policies',
    'templates',
    '.pre-commit-hooks.yaml',
)
HOOKS = ('gitops-config-validate', 'gitops-config-secrets', 'gitops-config-render-check')
IGNORE = shutil.ignore_patterns('__pycache__', '*.pyc', '.mypy_cache', 'rendered')

pytestmark = pytest.mark.slow


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        'GIT_AUTHOR_DATE': '2026-01-01T00:00:00Z',
        'GIT_COMMITTER_DATE': '2026-01-01T00:00:00Z',
    }
    return subprocess.run(
        ['git', *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _commit(path: Path) -> str:
    _git(path, 'init', '-q', '-b', 'main')
    _git(path, 'add', '-A')
    _git(path, 'commit', '-q', '-m', 'snapshot')
    return _git(path, 'rev-parse', 'HEAD')


@pytest.fixture(scope='session')
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed copy of the tool (the checkout itself may have no commits yet)."""
    repo = tmp_path_factory.mktemp('hook-repo')
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=IGNORE, symlinks=True)
        elif source.exists():
            shutil.copy2(source, repo / name)
    return repo, _commit(repo)


@pytest.fixture(scope='session')
def hook_env(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> dict[str, str]:
    home = tmp_path_factory.mktemp('pre-commit-home')
    # pytest's cache outlives the session, so pip downloads only once (ever).
    cache = getattr(pytestconfig, 'cache', None)  # absent under -p no:cacheprovider
    pip_cache = cache.mkdir('pip-cache') if cache is not None else home / 'pip-cache'
    keep = {
        k: v
        for k, v in os.environ.items()
        if k in ('PATH', 'LANG', 'LC_ALL', 'TMPDIR', 'SYSTEMROOT')
    }
    return {
        **keep,
        'HOME': str(home),
        'XDG_CONFIG_HOME': str(home / '.config'),
        'XDG_CACHE_HOME': str(home / '.cache'),
        'PRE_COMMIT_HOME': str(home / 'store'),
        'PIP_CACHE_DIR': str(pip_cache),
        'PIP_DISABLE_PIP_VERSION_CHECK': '1',
        'GIT_CONFIG_NOSYSTEM': '1',
        'GIT_AUTHOR_NAME': 'Test',
        'GIT_AUTHOR_EMAIL': 'test@example.com',
        'GIT_COMMITTER_NAME': 'Test',
        'GIT_COMMITTER_EMAIL': 'test@example.com',
        'PRE_COMMIT_COLOR': 'never',
        'NO_COLOR': '1',
    }


@pytest.fixture
def config_repo(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    """example-repo as its users have it, its hooks pointed at the local commit."""
    repo = tmp_path / 'llm-gateway'
    shutil.copytree(ROOT / 'example-repo', repo, ignore=IGNORE)
    config = (repo / '.pre-commit-config.yaml').read_text()
    path, rev = hook_repo
    lines = []
    for line in config.splitlines():
        if line.strip().startswith('- repo:'):
            line = line.split('- repo:')[0] + f'- repo: {path}'
        elif line.strip().startswith('rev:'):
            line = line.split('rev:')[0] + f'rev: {rev}'
        lines.append(line)
    (repo / '.pre-commit-config.yaml').write_text('\n'.join(lines) + '\n')
    _commit(repo)
    return repo


def _pre_commit(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', 'pre_commit', *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _edit(repo: Path, path: str, old: str, new: str) -> int:
    """Replace OLD by NEW in PATH; the 1-based line NEW starts on."""
    target = repo / path
    text = target.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    target.write_text(text)
    _git(repo, 'add', path)
    return text[: text.index(new)].count('\n') + 1


@pytest.fixture
def monorepo(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    """example-repo as the folder config/ of a larger repository (its rendered output
    committed), with .pre-commit-config.yaml at the top, where pre-commit reads it."""
    repo = tmp_path / 'platform'
    shutil.copytree(
        ROOT / 'example-repo',
        repo / 'config',
        ignore=shutil.ignore_patterns('__pycache__', '.pre-commit-config.yaml'),
    )
    path, rev = hook_repo
    hooks = ''.join(f'      - id: {hook}\n' for hook in HOOKS)
    (repo / '.pre-commit-config.yaml').write_text(
        f'repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n{hooks}'
    )
    (repo / 'README.md').write_text('the platform monorepo\n')
    _commit(repo)
    return repo


def test_hooks_run_from_the_git_root_of_a_monorepo(
    monorepo: Path,
    hook_env: dict[str, str],
) -> None:
    _edit(monorepo, 'config/values/prod.yaml', '  replicas: 3', '  replicas: 4')
    proc = _pre_commit(hook_env, monorepo, 'run', '--files', 'README.md', 'config/values/prod.yaml')
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for name, verdict in (
        ('gitops-config validate', 'Passed'),
        ('gitops-config secrets guard', 'Passed'),
        ('gitops-config render --check', 'Failed'),
    ):
        assert any(line.startswith(name) and line.endswith(verdict) for line in lines), proc.stdout
    assert 'config/rendered/prod/k8s/deployment.yaml: changed' in proc.stdout
    assert 'gitops-config -C config render' in proc.stdout


def test_a_stricter_schema_fails_the_layers_it_applies_to(
    monorepo: Path, hook_env: dict[str, str]
) -> None:
    _edit(monorepo, 'config/schemas/values.schema.json', '"maximum": 20}', '"maximum": 2}')
    proc = _pre_commit(
        hook_env,
        monorepo,
        'run',
        'gitops-config-validate',
        '--files',
        'config/schemas/values.schema.json',
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'config/values/prod.yaml:5:3' in proc.stdout
    assert 'app.replicas: 3 is greater than the maximum of 2' in proc.stdout


def test_example_repo_config_names_every_hook() -> None:
    config = (ROOT / 'example-repo' / '.pre-commit-config.yaml').read_text()
    for hook in HOOKS:
        assert f'- id: {hook}' in config


def test_try_repo_every_hook_passes_on_the_clean_example(
    config_repo: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]
) -> None:
    files = [
        'values/common.yaml',
        'values/prod.yaml',
        'secrets/prod.enc.yaml',
        'templates/litellm/config.yaml.j2',
        'gitops-config.yaml',
    ]
    proc = _pre_commit(hook_env, config_repo, 'try-repo', str(hook_repo[0]), '--files', *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in (
        'gitops-config validate',
        'gitops-config secrets guard',
        'gitops-config render --check',
    ):
        assert any(
            line.startswith(name) and line.endswith('Passed') for line in proc.stdout.splitlines()
        ), proc.stdout


def test_try_repo_every_hook_blocks_a_bad_commit(
    monorepo: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]
) -> None:
    """What `git commit` runs: the hooks over what is staged, each failing on its own."""
    replicas = _edit(monorepo, 'config/values/prod.yaml', '  replicas: 3', '  replicas: 0')
    key = _edit(
        monorepo,
        'config/values/common.yaml',
        '      api_key: os.environ/OPENAI_API_KEY\n',
        '      api_key: sk-proj-Zx81mQ2vN7bR4tY6uI9oP3aS\n',
    )
    proc = _pre_commit(hook_env, monorepo, 'try-repo', str(hook_repo[0]))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for name in (
        'gitops-config validate',
        'gitops-config secrets guard',
        'gitops-config render --check',
    ):
        assert any(line.startswith(name) and line.endswith('Failed') for line in lines), proc.stdout
    assert f'config/values/prod.yaml:{replicas}:' in proc.stdout
    assert 'app.replicas: 0 is less than the minimum of 1' in proc.stdout
    assert f'config/values/common.yaml:{key}:' in proc.stdout
    assert 'config/rendered/prod/k8s/deployment.yaml: changed' in proc.stdout
    assert 'sk-proj-Zx81' not in proc.stdout + proc.stderr


def test_validate_hook_fails_on_a_schema_violation(
    config_repo: Path, hook_env: dict[str, str]
) -> None:
    line = _edit(config_repo, 'values/prod.yaml', '  replicas: 3', '  replicas: 0')
    proc = _pre_commit(
        hook_env, config_repo, 'run', 'gitops-config-validate', '--files', 'values/prod.yaml'
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f'values/prod.yaml:{line}:' in proc.stdout
    assert 'app.replicas: 0 is less than the minimum of 1' in proc.stdout
    assert 'schema' in proc.stdout


def test_validate_hook_fails_on_a_policy_violation(
    config_repo: Path, hook_env: dict[str, str]
) -> None:
    line = (
        _edit(
            config_repo,
            'values/prod.yaml',
            'litellm_settings:\n',
            'litellm_settings:\n  set_verbose: true\n',
        )
        + 1
    )
    proc = _pre_commit(
        hook_env, config_repo, 'run', 'gitops-config-validate', '--files', 'values/prod.yaml'
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'litellm/no-debug-logging-prod' in proc.stdout
    assert 'rendered/prod/litellm/config.yaml:' in proc.stdout
    assert f'edit values/prod.yaml:{line}:' in proc.stdout


def test_secrets_hook_fails_on_a_plaintext_api_key(
    config_repo: Path, hook_env: dict[str, str]
) -> None:
    line = _edit(
        config_repo,
        'values/common.yaml',
        '      api_key: os.environ/OPENAI_API_KEY\n',
        '      api_key: sk-proj-Zx81mQ2vN7bR4tY6uI9oP3aS\n',
    )
    proc = _pre_commit(
        hook_env, config_repo, 'run', 'gitops-config-secrets', '--files', 'values/common.yaml'
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f'values/common.yaml:{line}:' in proc.stdout
    assert 'secret in plaintext: looks like an OpenAI/Anthropic-style API key' in proc.stdout
    assert 'sk-proj-Zx81' not in proc.stdout  # the finding never repeats the secret


def test_a_file_named_like_an_option_is_checked_as_a_file(
    config_repo: Path, hook_env: dict[str, str]
) -> None:
    """pre-commit appends file names as they are: a file at the top named `--help`
    made every hook print its help and pass, checking nothing else."""
    _edit(
        config_repo,
        'values/common.yaml',
        '      api_key: os.environ/OPENAI_API_KEY\n',
        '      api_key: sk-proj-Zx81mQ2vN7bR4tY6uI9oP3aS\n',
    )
    for name in ('--help', '-h'):
        (config_repo / name).write_text('token: ghp_' + 'x' * 36 + '\n')
    _git(config_repo, 'add', '-A')
    proc = _pre_commit(hook_env, config_repo, 'run', 'gitops-config-secrets', '--all-files')
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'values/common.yaml:' in proc.stdout
    assert '--help:1:8' in proc.stdout
    assert '-h:1:8' in proc.stdout
    assert 'Usage:' not in proc.stdout


IMPORT_PROBE = """\
import sys
from gitops_config.cli.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('git', 'jsonschema', 'deepdiff'))
print('HEAVY', heavy)
raise SystemExit(code)
"""


@pytest.mark.parametrize('hook', ['validate', 'secrets', 'render-check'])
def test_hooks_keep_heavy_imports_off_their_path(tmp_path: Path, hook: str) -> None:
    from tests._helpers.projects import BASIC

    for name, content in BASIC.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(str(content))
    proc = subprocess.run(
        [sys.executable, '-c', IMPORT_PROBE, 'hook', hook, 'values/prod.yaml'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'HEAVY []' in proc.stdout


def test_render_check_hook_flags_stale_committed_output(
    project: GitRepo,
    run_cli: RunCli,
) -> None:
    assert run_cli('render', cwd=project.path).exit_code == 0
    assert run_cli('hook', 'render-check', 'values/prod.yaml', cwd=project.path).exit_code == 0
    (project.path / 'values/prod.yaml').write_text('app:\n  replicas: 5\n')
    result = run_cli('hook', 'render-check', 'values/prod.yaml', cwd=project.path)
    assert result.exit_code == 1
    assert 'rendered/prod/config.yaml: changed' in result.stdout
    assert 'rendered/dev' not in result.stdout  # dev does not use values/prod.yaml


def test_secrets_hook_outside_a_project_scans_plain_files(
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    (tmp_path / 'notes.md').write_text('token: ghp_' + 'x' * 36 + '\n')
    result = run_cli('hook', 'secrets', 'notes.md', cwd=tmp_path)
    assert result.exit_code == 1
    assert 'notes.md:1:8' in result.stdout


def test_the_committed_demo_key_is_waived_not_ignored(tmp_path: Path, run_cli: RunCli) -> None:
    repo = tmp_path / 'llm-gateway'
    shutil.copytree(ROOT / 'example-repo', repo, ignore=IGNORE)
    result = run_cli('hook', 'secrets', 'keys/demo-dev.agekey', cwd=repo)
    assert result.exit_code == 0, result.stdout
    config = repo / 'gitops-config.yaml'
    config.write_text(config.read_text().replace("expires: '2027-06-30'", "expires: '2024-01-01'"))
    result = run_cli('hook', 'secrets', 'keys/demo-dev.agekey', cwd=repo)
    assert result.exit_code == 1
    assert 'keys/demo-dev.agekey:5:1' in result.stdout
    assert 'the waiver of secrets/plaintext expired on 2024-01-01' in result.stdout


SK = 'sk-' + 'proj-T3BlbkFJq8Zr2LmN5vB7xY1wK'  # built from pieces: no scanner trips on this file


def test_secrets_hook_scans_every_kind_of_file_a_commit_carries(
    project: GitRepo, run_cli: RunCli
) -> None:
    files: dict[str, str | bytes | None] = {
        'values/prod.yaml': f'app:\n  replicas: 3  # was {SK}\n',  # a comment
        'templates/extra.txt.j2': f'{{# {SK} #}}\nplain\n',  # a template's own comment
        'schemas/values.schema.json': f'{{"description": "{SK}"}}\n',
        'policies/team.yaml': f'rules: []\n# token: {SK}\n',
        'README.md': f'Call it with `OPENAI_API_KEY={SK}`.\n',
        '.env': 'DB_PASSWORD=n7#Qe2!vLp9zRw4s\nDB_HOST=db.internal\n',
    }
    project.write(files)
    result = run_cli('hook', 'secrets', *files, cwd=project.path)
    assert result.exit_code == 1
    for path in files:
        assert f'{path}:' in result.stdout, path
    assert SK not in result.stdout
    assert 'n7#Qe2' not in result.stdout


def test_secrets_hook_without_files_scans_what_is_staged_renames_included(
    project: GitRepo, run_cli: RunCli
) -> None:
    # committed before the hook was installed; a rename carries it into the next commit
    project.commit({'notes.txt': f'key {SK}\n'})
    assert run_cli('hook', 'secrets', cwd=project.path).exit_code == 0  # nothing staged
    (project.path / 'docs').mkdir()
    project.git('mv', 'notes.txt', 'docs/notes.md')
    result = run_cli('hook', 'secrets', cwd=project.path)
    assert result.exit_code == 1
    assert 'docs/notes.md:1:5' in result.stdout
    # what is staged is scanned, not the working tree
    (project.path / 'docs/notes.md').write_text('clean now\n')
    assert run_cli('hook', 'secrets', cwd=project.path).exit_code == 1
    project.git('add', 'docs/notes.md')
    assert run_cli('hook', 'secrets', cwd=project.path).exit_code == 0


def test_validate_flags_a_secret_in_a_layer_comment(project: GitRepo, run_cli: RunCli) -> None:
    project.write({'values/prod.yaml': f'app:\n  replicas: 3\n# old key: {SK}\n'})
    result = run_cli('validate', cwd=project.path)
    assert result.exit_code == 1
    assert 'values/prod.yaml:3:' in result.stdout
    assert 'secret in plaintext in a comment' in result.stdout
    assert SK not in result.stdout


SCHEMA = (
    '{"type": "object", "properties": {"app": {"type": "object", "properties": '
    '{"replicas": {"type": "integer", "maximum": %d}}}}}\n'
)


def _with_schemas(project: GitRepo) -> None:
    config = project.path / 'gitops-config.yaml'
    project.commit(
        {
            'gitops-config.yaml': config.read_text()
            + (
                'schemas:\n  values:\n    - {files: "values/*.yaml", schema: schemas/values.json}\n'
            ),
            'schemas/values.json': SCHEMA % 5,
            'schemas/common.json': '{}\n',
        }
    )


@pytest.mark.parametrize(
    'changed', ['schemas/values.json', 'schemas/common.json', 'gitops-config.yaml', '.sops.yaml']
)
def test_validate_hook_rechecks_the_layers_a_changed_input_applies_to(
    project: GitRepo, run_cli: RunCli, changed: str
) -> None:
    """prod's 3 replicas break a stricter schema: whatever changed, the layer is checked."""
    _with_schemas(project)
    assert run_cli('hook', 'validate', changed, cwd=project.path).exit_code == 0
    project.write({'schemas/values.json': SCHEMA % 2, '.sops.yaml': 'creation_rules: []\n'})
    result = run_cli('hook', 'validate', changed, cwd=project.path)
    assert result.exit_code == 1, result.output
    assert 'values/prod.yaml:2:3' in result.stdout
    assert 'app.replicas: 3 is greater than the maximum of 2' in result.stdout


def test_validate_hook_rechecks_layers_for_a_changed_policy(
    project: GitRepo,
    run_cli: RunCli,
) -> None:
    config = project.path / 'gitops-config.yaml'
    project.commit(
        {
            'gitops-config.yaml': config.read_text() + 'policies:\n  paths: [rules]\n',
            'rules/layers.yaml': 'rules: []\n',
        }
    )
    project.write(
        {
            'rules/layers.yaml': """\
rules:
  - id: team/no-huge
    severity: error
    message: no model called huge
    match: {kinds: [layer]}
    expr: |
      type(doc) != map || !has(doc.models) ? [] :
      doc.models.filter(m, m.name == 'huge').map(m, {'message': 'huge'})
"""
        }
    )
    result = run_cli('hook', 'validate', 'rules/layers.yaml', cwd=project.path)
    assert result.exit_code == 1, result.output
    assert 'values/prod.yaml' in result.stdout
    assert 'team/no-huge' in result.stdout


def test_validate_hook_rechecks_a_schema_a_layer_names_itself(
    project: GitRepo,
    run_cli: RunCli,
) -> None:
    prod = project.path / 'values/prod.yaml'
    project.commit(
        {
            'values/prod.yaml': '# yaml-language-server: $schema=../own/prod.json\n'
            + prod.read_text(),
            'own/prod.json': SCHEMA % 5,
        }
    )
    project.write({'own/prod.json': SCHEMA % 2})
    result = run_cli('hook', 'validate', 'own/prod.json', cwd=project.path)
    assert result.exit_code == 1, result.output
    assert 'values/prod.yaml:3:3' in result.stdout


def test_secrets_hook_rescans_what_a_changed_sops_yaml_covers(
    project: GitRepo,
    run_cli: RunCli,
) -> None:
    project.commit({'secrets/prod.yaml': 'level: 1\n', '.sops.yaml': 'creation_rules: []\n'})
    assert run_cli('hook', 'secrets', '.sops.yaml', cwd=project.path).exit_code == 0
    recipient = 'age1ykg3e4n2p72dcmq44mjtcrnp0y7du6lkth9gzxw2l45y5e07t5lsttnnve'
    project.commit(
        {
            '.sops.yaml': 'creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n'
            f'    age: {recipient}\n'
        }
    )
    result = run_cli('hook', 'secrets', '.sops.yaml', cwd=project.path)
    assert result.exit_code == 1, result.output
    assert 'secrets/prod.yaml:1:1' in result.stdout
    assert 'secrets/sops-coverage' in result.stdout


def _monorepo(tmp_path: Path) -> GitRepo:
    """A git repository whose config project is its folder config/."""
    from tests._helpers.projects import BASIC

    repo = GitRepo(tmp_path / 'mono')
    repo.commit(
        {
            'README.md': 'the platform monorepo\n',
            **{f'config/{name}': content for name, content in BASIC.items()},
        }
    )
    return repo


def test_every_hook_works_from_the_git_root_of_a_monorepo(
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    repo = _monorepo(tmp_path)
    assert run_cli('-C', str(repo.path / 'config'), 'render').exit_code == 0
    repo.commit(message='rendered output')
    files = ('README.md', 'config/values/prod.yaml')
    for hook in ('validate', 'secrets', 'render-check'):
        result = run_cli('hook', hook, *files, cwd=repo.path)
        assert result.exit_code == 0, f'{hook}: {result.output}'
    repo.write({'config/values/prod.yaml': 'app:\n  replicas: 0\nmodels: []\n'})
    result = run_cli('hook', 'render-check', *files, cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert 'config/rendered/prod/config.yaml: changed' in result.stdout
    assert 'gitops-config -C config render' in result.stderr
    repo.write({'config/values/prod.yaml': 'app:\n  replicas: sk-proj-Zx81mQ2vN7bR4tY6uI9oP3aS\n'})
    result = run_cli('hook', 'secrets', *files, cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert 'config/values/prod.yaml:2:3' in result.stdout


def test_validate_hook_runs_change_rules_against_head(tmp_path: Path, run_cli: RunCli) -> None:
    """The staged change is compared with HEAD: prod's rpm cut from 500 to 100 fails."""
    repo = GitRepo(tmp_path / 'llm-gateway')
    shutil.copytree(ROOT / 'example-repo', repo.path, ignore=IGNORE, dirs_exist_ok=True)
    repo.commit(message='base')
    prod = repo.path / 'values/prod.yaml'
    prod.write_text(prod.read_text().replace('      rpm: 500\n', '      rpm: 100\n', 1))
    repo.git('add', '-A')
    result = run_cli('hook', 'validate', 'values/prod.yaml', cwd=repo.path)
    assert result.exit_code == 1, result.output
    assert 'litellm/rate-limit-drop' in result.stdout
    assert 'openai-gpt-4o rpm 500 -> 100' in result.stdout
    repo.commit(message='the cut, committed')  # HEAD now has it: nothing left to compare
    assert run_cli('hook', 'validate', 'values/prod.yaml', cwd=repo.path).exit_code == 0
