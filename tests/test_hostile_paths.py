"""A pull request cannot make the tool write, delete or read outside where it should.

Every file of a config repository may come from a hostile PR: its project file,
folder names, symlinks and git trees. Each test plants one such input and checks
the exact refusal, and that the repository, the home folder and everything else
outside the one output folder a command may write are byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gitops_config import manifest
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import PROJECT
from tests._helpers.tree_snapshot import untouched
from tests.conftest import RunCli

pytestmark = pytest.mark.usefixtures('cache_outside')


@pytest.fixture
def home() -> Path:
    """The (test's own) home folder, with a private key where sops keeps one."""
    path = Path(os.environ['HOME'])
    keys = path / '.config' / 'sops' / 'age' / 'keys.txt'
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_text('AGE-SECRET-KEY-1PRIVATEKEYTHATMUSTNEVERLEAVEHOME\n')
    return path


@pytest.fixture
def precious(tmp_path: Path) -> Path:
    """A folder beside the repository that nothing may touch."""
    path = tmp_path / 'precious'
    (path / 'sub').mkdir(parents=True)
    (path / 'keep.yaml').write_text('a: 1\n')
    (path / 'sub' / 'config.yaml').write_text('b: 2\n')
    return path


def _project_file(output: str) -> str:
    return PROJECT.replace('output: rendered/{env}', f'output: "{output}"')


# --- 14.1 output containment -------------------------------------------------------------


@pytest.mark.parametrize(
    ('output', 'rule'),
    [
        ('{env}/..', "the folder '.', the project root: an output folder must be strictly inside"),
        ('rendered/../{env}/..', "the folder '.', the project root"),
        ('.git/{env}/..', "the folder '.git', inside .git: an output folder must be outside .git"),
        ('.git/hooks/{env}', 'inside .git'),
        ('sub/.GIT/{env}', 'inside .git'),
        ('templates/{env}', "overlaps the templates folder 'templates'"),
        ('values/{env}/..', "overlaps the value layer 'values/common.yaml'"),
        ('values/{env}/../dev.yaml', "overlaps the value layer 'values/dev.yaml'"),
        ('gitops-config.yaml/{env}', "overlaps the project file 'gitops-config.yaml'"),
        ('.sops.yaml/{env}', "overlaps the sops rules '.sops.yaml'"),
        ('policies/{env}', "overlaps the policy path 'policies'"),
        ('shared/{env}/..', "gives dev and prod overlapping folders ('shared', 'shared')"),
    ],
)
def test_an_output_folder_outside_its_place_is_refused(
    project: GitRepo, run_cli: RunCli, home: Path, output: str, rule: str
) -> None:
    project.commit(
        {
            'gitops-config.yaml': _project_file(output),
            'templates/config': '[core]\n\tfsmonitor = "touch pwned"\n',
            'templates/HEAD': 'ref: refs/heads/main\n',
        }
    )
    with untouched(project.path.parent, home):
        result = run_cli('render', '--sealed', '--env', 'dev', cwd=project.path)
        assert result.exit_code == 3, result.output
    assert rule in result.stderr
    assert result.stderr.startswith('error: invalid-project: gitops-config.yaml:8:')
    project.git('status')  # runs no fsmonitor command: .git/config is as it was
    assert not (project.path / 'pwned').exists()


def test_an_output_folder_inside_an_input_is_refused_by_every_command(
    project: GitRepo, run_cli: RunCli
) -> None:
    project.commit({'gitops-config.yaml': _project_file('templates/{env}')})
    for command in (['validate'], ['get', 'dev', 'app'], ['render', '--check']):
        result = run_cli(*command, cwd=project.path)
        assert result.exit_code == 3, (command, result.output)
        assert 'overlaps the templates folder' in result.stderr


@pytest.mark.parametrize(
    'name', ['..', '.', 'a..b', '.hidden', '-dash', 'dev/x', 'dev\n', 'dev\\x', '']
)
def test_an_environment_name_is_a_plain_folder_name(
    project: GitRepo, run_cli: RunCli, name: str
) -> None:
    project.commit(
        {'gitops-config.yaml': PROJECT.replace('name: dev', f'name: {json.dumps(name)}')}
    )
    with untouched(project.path.parent):
        result = run_cli('render', '--sealed', cwd=project.path)
    assert result.exit_code == 3, result.output
    assert 'error: invalid-project: gitops-config.yaml:3:' in result.stderr
    assert (
        "must be letters, digits, '-', '_' and '.', start with a letter or digit, and hold no '..'"
    ) in result.stderr or 'must not be empty' in result.stderr


def test_out_inside_the_project_obeys_the_same_rules(
    project: GitRepo,
    run_cli: RunCli,
) -> None:
    with untouched(project.path.parent):
        result = run_cli('render', '--out', 'templates', cwd=project.path)
        assert result.exit_code == 2, result.output
        assert (
            "--out templates: dev would be rendered to 'templates/dev', which overlaps "
            "the templates folder 'templates'"
        ) in result.stderr
        result = run_cli('render', '--out', '.git', cwd=project.path)
        assert result.exit_code == 2
        assert 'inside .git' in result.stderr


def _commit_tree(repo: GitRepo, entries: str, *, under: str = 'templates') -> str:
    """A commit whose tree is HEAD's with UNDER replaced by a crafted tree (ENTRIES:
    `git mktree` input, with {blob} for a blob saying 'evil')."""
    blob = (
        subprocess.run(
            ['git', 'hash-object', '-w', '--stdin'],
            input=b'evil\n',
            cwd=repo.path,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .strip()
    )
    tree = ''
    for line in reversed(entries.replace('{blob}', blob).split('|')):
        if tree:
            line = line.replace('{tree}', tree)
        tree = repo.git('mktree', input=line + '\n').strip()
    top = [
        line for line in repo.git('ls-tree', 'HEAD').splitlines() if not line.endswith(f'\t{under}')
    ]
    top.append(f'040000 tree {tree}\t{under}')
    root = repo.git('mktree', input='\n'.join(top) + '\n').strip()
    return repo.git('commit-tree', root, '-p', 'HEAD', '-m', 'crafted').strip()


@pytest.mark.parametrize(
    'entries',
    [
        # templates/../../../evil.txt
        '040000 tree {tree}\t..|040000 tree {tree}\t..|100644 blob {blob}\tevil.txt',
        '040000 tree {tree}\t.git|100644 blob {blob}\tconfig',
        '040000 tree {tree}\t.GIT|100644 blob {blob}\tconfig',
        '100644 blob {blob}\t.',
    ],
)
def test_a_crafted_git_tree_is_refused(
    project: GitRepo, run_cli: RunCli, tmp_path: Path, home: Path, entries: str
) -> None:
    commit = _commit_tree(project, entries)
    out = tmp_path / 'out' / 'deep' / 'er'
    with untouched(tmp_path, home):
        result = run_cli('render', '--ref', commit, '--out', str(out), cwd=project.path)
        assert result.exit_code == 3, result.output
    assert f'error: unsafe-tree: {commit[:12]} holds the path' in result.stderr
    assert 'can only come from a crafted tree' in result.stderr


@pytest.mark.parametrize(
    'name',
    [
        'x\n::warning file=evil::injected.yaml',
        'red\x1b[31m.txt',
        'cod\u202egnp.exe',
        'a\u2028b.yaml',
        'tab\there.txt',
    ],
)
@pytest.mark.parametrize('ref', [None, 'HEAD'])
def test_a_file_name_that_would_print_as_other_lines_or_codes_is_refused(
    project: GitRepo, run_cli: RunCli, name: str, ref: str | None
) -> None:
    """A newline in a name a report prints makes a line of its own (in CI, `::warning`
    is a workflow command); an escape recolours the terminal; a bidi control reorders
    what the reader sees. Refused by name, shown escaped, by every command."""
    project.commit({f'templates/{name}': 'a: 1\n'})
    shown = repr(f'templates/{name}')
    at = ['--ref', ref] if ref else []
    for command in (
        ['render', '--sealed', *at],
        ['validate', '--sealed', *at],
        ['diff', 'HEAD~1', ref or 'HEAD'],
    ):
        with untouched(project.path.parent):
            result = run_cli(*command, cwd=project.path)
        assert result.exit_code == 3, (command, result.output)
        assert f'{shown} holds a control character' in result.stderr, (command, result.output)
        assert name not in result.output


def test_a_project_path_with_a_control_character_is_refused(
    project: GitRepo, run_cli: RunCli
) -> None:
    project.commit(
        {
            'gitops-config.yaml': PROJECT.replace(
                'values/dev.yaml]', '"values/dev.yaml\\n::error::x"]'
            )
        }
    )
    result = run_cli('render', '--sealed', cwd=project.path)
    assert result.exit_code == 3, result.output
    assert "'values/dev.yaml\\n::error::x' holds a control character" in result.stderr
    assert '\n::error' not in result.output
    project.commit({'gitops-config.yaml': _project_file('rendered/{env}\\n::error::x')})
    result = run_cli('render', '--sealed', cwd=project.path)
    assert result.exit_code == 3, result.output
    assert "'rendered/dev\\n::error::x' holds a control character" in result.stderr


def test_a_file_in_the_output_folder_is_named_escaped(project: GitRepo, run_cli: RunCli) -> None:
    """Files nothing renders are named in the check and by render: escaped, never as
    other lines."""
    name = 'x\n::warning file=evil::injected.yaml'
    assert run_cli('render', cwd=project.path).exit_code == 0
    project.commit({f'rendered/dev/{name}': 'a: 1\n'})
    check = run_cli('render', '--check', cwd=project.path)
    assert check.exit_code == 1
    assert f'{json.dumps("rendered/dev/" + name)}: extra' in check.stdout
    result = run_cli('render', '--env', 'dev', cwd=project.path)
    assert result.exit_code == 0
    assert f'{json.dumps("rendered/dev/" + name)}: left alone' in result.stderr
    for output in (check.output, result.output):
        assert '\n::warning' not in output


# --- manifests: render removes only what it wrote --------------------------------------


def test_render_removes_only_files_an_earlier_render_wrote(
    project: GitRepo,
    run_cli: RunCli,
) -> None:
    run_cli('render', cwd=project.path)
    dev = project.path / 'rendered' / 'dev'
    (dev / 'notes.md').write_text('mine\n')  # put there by hand
    project.write({'templates/static.txt': None})
    result = run_cli('render', '--env', 'dev', cwd=project.path)
    assert result.exit_code == 0, result.output
    assert not (dev / 'static.txt').exists()
    assert (dev / 'notes.md').read_text() == 'mine\n'
    assert 'rendered/dev/static.txt: removed, no template produces it any more' in result.stderr
    assert (
        'rendered/dev/notes.md: left alone, no render is known to have written it' in result.stderr
    )
    assert sorted(p.name for p in dev.iterdir()) == [manifest.NAME, 'config.yaml', 'notes.md']


def test_the_manifest_is_deterministic_and_never_stale_or_extra(
    project: GitRepo, run_cli: RunCli
) -> None:
    run_cli('render', cwd=project.path)
    listed = project.path / 'rendered' / 'dev' / manifest.NAME
    first = listed.read_bytes()
    assert first.decode().splitlines()[-2:] == ['config.yaml', 'static.txt']
    listed.unlink()
    run_cli('render', cwd=project.path)
    assert listed.read_bytes() == first
    project.commit(message='rendered')
    assert run_cli('render', '--check', cwd=project.path).exit_code == 0
    listed.write_bytes(first + b'gone.yaml\n')  # stale: says a file is ours that is not
    result = run_cli('render', '--check', cwd=project.path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f'rendered/dev/{manifest.NAME}: changed']


def test_committed_output_without_a_manifest_keeps_working(
    project: GitRepo, run_cli: RunCli, fresh_cache: Path
) -> None:
    """Output committed before manifests existed: nothing is deleted, --check passes,
    and the first render writes the manifest."""
    run_cli('render', cwd=project.path)
    for env in ('dev', 'prod'):
        (project.path / 'rendered' / env / manifest.NAME).unlink()
    project.commit({'rendered/dev/old.yaml': 'stale: true\n'}, 'rendered')
    shutil.rmtree(fresh_cache)  # a fresh clone: no render is remembered
    result = run_cli('render', '--check', cwd=project.path)
    assert result.stdout.splitlines() == ['rendered/dev/old.yaml: extra']
    with untouched(
        project.path,
        allow=[
            project.path / 'rendered' / 'dev' / manifest.NAME,
            project.path / 'rendered' / 'prod' / manifest.NAME,
        ],
    ):
        result = run_cli('render', cwd=project.path)
        assert result.exit_code == 0, result.output
    assert (project.path / 'rendered' / 'dev' / 'old.yaml').exists()
    assert (project.path / 'rendered' / 'dev' / manifest.NAME).is_file()


def test_a_forged_manifest_removes_nothing_outside_the_output_folder(
    project: GitRepo, run_cli: RunCli, home: Path, precious: Path
) -> None:
    run_cli('render', cwd=project.path)
    dev = project.path / 'rendered' / 'dev'
    forged = [
        '../../values/common.yaml',
        '../prod/config.yaml',
        '/etc/hostname',
        str(precious / 'keep.yaml'),
        '.git/config',
        '..',
        '.',
        '',
        '"../../gitops-config.yaml"',
        'sub/../../../precious/keep.yaml',
    ]
    (dev / manifest.NAME).write_text('\n'.join(forged) + '\n')
    project.write({'templates/static.txt': None})
    with untouched(project.path.parent, home, allow=[dev]):
        result = run_cli('render', '--env', 'dev', cwd=project.path)
        assert result.exit_code == 0, result.output
    assert 'removed' not in result.stderr


def test_the_cache_remembers_what_was_written_when_the_folder_forgets(
    project: GitRepo, run_cli: RunCli, fresh_cache: Path
) -> None:
    run_cli('render', '--env', 'dev', cwd=project.path)
    dev = project.path / 'rendered' / 'dev'
    (dev / manifest.NAME).unlink()
    project.write({'templates/static.txt': None})
    result = run_cli('render', '--env', 'dev', cwd=project.path)
    assert result.exit_code == 0, result.output
    assert not (dev / 'static.txt').exists()


def test_a_listed_path_that_became_a_folder_is_left_alone(
    project: GitRepo, run_cli: RunCli
) -> None:
    run_cli('render', '--env', 'dev', cwd=project.path)
    dev = project.path / 'rendered' / 'dev'
    project.write({'templates/static.txt': None})
    (dev / 'static.txt').unlink()
    (dev / 'static.txt').mkdir()
    (dev / 'static.txt' / 'inner').write_text('x')
    result = run_cli('render', '--env', 'dev', cwd=project.path)
    assert result.exit_code == 0, result.output
    assert (dev / 'static.txt' / 'inner').read_text() == 'x'


# --- 14.2 symlinks -----------------------------------------------------------------------


def test_a_symlinked_output_folder_is_refused(
    project: GitRepo, run_cli: RunCli, home: Path, precious: Path
) -> None:
    (project.path / 'rendered').mkdir()
    os.symlink('../../precious', project.path / 'rendered' / 'dev')
    project.commit(message='link')
    with untouched(project.path.parent, home):
        result = run_cli('render', '--sealed', '--env', 'dev', cwd=project.path)
        assert result.exit_code == 3, result.output
    assert result.stderr.startswith('error: symlink: rendered/dev is a symbolic link')


@pytest.mark.parametrize('link', ['rendered', 'rendered/dev/config.yaml', 'rendered/dev/sub'])
def test_no_write_follows_a_symlink_in_the_output_path(
    project: GitRepo, run_cli: RunCli, home: Path, precious: Path, link: str
) -> None:
    project.write({'templates/sub/config.yaml': 'c: 3\n'})
    target = project.path / link
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(precious if link != 'rendered/dev/config.yaml' else precious / 'keep.yaml', target)
    with untouched(project.path.parent, home, allow=[project.path / 'rendered']):
        result = run_cli('render', '--env', 'dev', cwd=project.path)
        assert result.exit_code == 3, result.output
    assert result.stderr.startswith(f'error: symlink: {link} is a symbolic link')


def test_out_outside_the_repository_follows_no_symlink_below_it(
    project: GitRepo, run_cli: RunCli, tmp_path: Path, precious: Path
) -> None:
    out = tmp_path / 'out'
    out.mkdir()
    os.symlink(precious, out / 'dev')
    with untouched(precious):
        result = run_cli('render', '--env', 'dev', '--out', str(out), cwd=project.path)
        assert result.exit_code == 3, result.output
    assert f'{out}/dev is a symbolic link' in result.stderr


@pytest.mark.parametrize(
    ('link', 'to', 'named'),
    [
        ('templates/k.txt', '{home}/.config/sops/age/keys.txt', 'templates/k.txt'),
        ('templates/sub', '{home}/.config/sops/age', 'templates/sub'),
        ('values/dev.yaml', '{home}/.config/sops/age/keys.txt', 'values/dev.yaml'),
        ('values', '{home}/.config/sops/age', 'values'),
    ],
)
def test_no_read_follows_a_symlink_out_of_the_repository(
    project: GitRepo, run_cli: RunCli, home: Path, link: str, to: str, named: str
) -> None:
    path = project.path / link
    if path.is_dir():
        os.rename(path, project.path / 'moved')
    elif path.exists():
        path.unlink()
    os.symlink(to.format(home=home), path)
    with untouched(project.path.parent, home):
        result = run_cli('render', '--env', 'dev', cwd=project.path)
        assert result.exit_code == 3, result.output
    assert f'error: symlink: {named} is a symbolic link' in result.stderr
    assert 'AGE-SECRET-KEY' not in result.output


def test_a_symlinked_templates_folder_is_refused(
    project: GitRepo, run_cli: RunCli, home: Path
) -> None:
    os.rename(project.path / 'templates', project.path / 'real')
    os.symlink(home / '.config', project.path / 'templates')
    with untouched(project.path.parent, home):
        result = run_cli('render', '--env', 'dev', cwd=project.path)
        assert result.exit_code == 3, result.output
    assert 'error: symlink: templates is a symbolic link' in result.stderr


def test_symlinked_schemas_and_sops_rules_are_refused(
    project: GitRepo, run_cli: RunCli, home: Path
) -> None:
    keys = home / '.config' / 'sops' / 'age' / 'keys.txt'
    project.write(
        {
            'gitops-config.yaml': PROJECT
            + ('schemas:\n  values:\n    - {files: "values/*.yaml", schema: schemas/v.json}\n')
        }
    )
    (project.path / 'schemas').mkdir()
    os.symlink(keys, project.path / 'schemas' / 'v.json')
    with untouched(project.path.parent, home):
        result = run_cli('validate', cwd=project.path)
    assert result.exit_code == 3, result.output
    assert 'error: symlink: schemas/v.json is a symbolic link' in result.stderr
    (project.path / 'schemas' / 'v.json').unlink()
    (project.path / 'schemas' / 'v.json').write_text('{}')
    os.symlink(keys, project.path / '.sops.yaml')
    with untouched(project.path.parent, home):
        result = run_cli('validate', cwd=project.path)
    assert result.exit_code == 3, result.output
    assert 'error: symlink: .sops.yaml is a symbolic link' in result.stderr
    assert 'AGE-SECRET-KEY' not in result.output


def test_a_fifo_where_a_template_is_expected_does_not_hang(
    project: GitRepo, run_cli: RunCli
) -> None:
    os.mkfifo(project.path / 'templates' / 'pipe.txt')
    result = run_cli('render', '--env', 'dev', cwd=project.path)
    assert result.exit_code == 3, result.output
    assert 'templates/pipe.txt is not a regular file' in result.stderr


@pytest.mark.parametrize(
    'command',
    [
        ['set', 'values/dev.yaml', 'app.replicas', '2'],
        ['unset', 'values/dev.yaml', 'app.replicas'],
        [
            'secrets',
            'encrypt',
            '-i',
            'values/dev.yaml',
            '--age',
            'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
        ],
    ],
)
def test_edits_never_write_through_a_symlink(
    project: GitRepo, run_cli: RunCli, precious: Path, home: Path, command: list[str]
) -> None:
    (precious / 'dev.yaml').write_text('app:\n  replicas: 1\n')
    (project.path / 'values' / 'dev.yaml').unlink()
    os.symlink(precious / 'dev.yaml', project.path / 'values' / 'dev.yaml')
    with untouched(project.path.parent, home):
        result = run_cli(*command, cwd=project.path)
        assert result.exit_code == 3, result.output
    assert 'values/dev.yaml is a symbolic link' in result.stderr


def test_edits_never_write_through_a_symlinked_folder(
    project: GitRepo, run_cli: RunCli, precious: Path, home: Path
) -> None:
    (precious / 'dev.yaml').write_text('app:\n  replicas: 1\n')
    os.rename(project.path / 'values', project.path / 'moved')
    os.symlink(precious, project.path / 'values')
    with untouched(project.path.parent, home):
        result = run_cli('set', 'values/dev.yaml', 'app.replicas', '2', cwd=project.path)
        assert result.exit_code == 3, result.output
    assert 'values is a symbolic link' in result.stderr


def test_ref_reads_a_symlink_as_the_text_it_holds(
    project: GitRepo, run_cli: RunCli, home: Path, tmp_path: Path
) -> None:
    os.symlink(home / '.config' / 'sops' / 'age' / 'keys.txt', project.path / 'templates' / 'k.txt')
    project.commit(message='link')
    out = tmp_path / 'out'
    with untouched(project.path.parent, home, allow=[out]):
        result = run_cli(
            'render', '--ref', 'HEAD', '--env', 'dev', '--out', str(out), cwd=project.path
        )
        assert result.exit_code == 0, result.output
    assert (out / 'dev' / 'k.txt').read_text() == str(
        home / '.config' / 'sops' / 'age' / 'keys.txt'
    )
