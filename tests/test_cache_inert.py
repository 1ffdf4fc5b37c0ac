"""The cache is inert: whatever its folder holds, a run gives exactly the --no-cache
result, runs no code from it, writes nowhere else, and keeps no secret in it."""

from __future__ import annotations

import ast
import base64
import hashlib
import marshal
import math
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import project as project_mod
from gitops_config import render as render_mod
from gitops_config import revision
from gitops_config import sops
from gitops_config.errors import GitopsConfigError
from gitops_config.incremental import data as cache_data
from gitops_config.incremental import packs as render_packs
from gitops_config.incremental import store as cache
from gitops_config.incremental.packs import Packs
from gitops_config.incremental.reuse import Reuse
from gitops_config.pipeline import comparison
from gitops_config.pipeline import rendering
from gitops_config.pipeline import results
from gitops_config.render import Template
from gitops_config.run import Run
from gitops_config.source import WorkTree
from gitops_config.values import Values
from tests._helpers.git_repo import GitRepo
from tests._helpers.projects import BASIC
from tests._helpers.tree_snapshot import untouched
from tests.conftest import RunCli

PACKAGE = Path(__file__).resolve().parents[1] / 'gitops_config'


def _files(root: Path, *, cache: bool = True) -> list[tuple[str, str, bytes, bytes | None]]:
    """Every rendered file of ROOT: environment, path, content and documents, exactly;
    in one run of the environment (its cache, unless CACHE is off)."""
    source = WorkTree(root)
    run = Run.from_environment(cache=cache)
    renders = rendering.render(source, project_mod.load(source, root), jobs=1, run=run)
    found = [
        (r.env, f.path, f.content, cache_data.token(f.documents)) for r in renders for f in r.files
    ]
    run.finish()
    return found


def _uncached(root: Path) -> list[Any]:
    return _files(root, cache=False)


def _store() -> cache.Store:
    """The store a run of the environment uses."""
    store = Run.from_environment().store
    assert store is not None
    return store


class _Marker:
    """A file that a payload creates if anything ever executes it."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / 'PWNED'

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str, str]]:
        return (open, (str(self.path), 'w'))  # unpickling it creates the file


@pytest.fixture
def project(git_repo: GitRepo, fresh_cache: Path) -> Path:
    git_repo.commit(BASIC, 'initial')
    return git_repo.path


# --- 0.0 and -0.0 (issue 11.5): keys tell apart what YAML tells apart --------------


def test_negative_zero_is_not_the_kept_render_of_zero(
    git_repo: GitRepo, fresh_cache: Path, run_cli: RunCli
) -> None:
    git_repo.commit(
        {
            **BASIC,
            'values/common.yaml': 'ratio: 0.0\n',
            'templates/config.yaml.j2': 'ratio: {{ ratio }}\n',
        }
    )
    assert run_cli('render', cwd=git_repo.path).exit_code == 0
    base = git_repo.commit(message='rendered')
    assert run_cli('render', '--check', cwd=git_repo.path).exit_code == 0
    head = git_repo.commit({'values/common.yaml': 'ratio: -0.0\n'}, 'negative zero')
    result = run_cli('render', '--check', cwd=git_repo.path)
    assert result.exit_code == 1, result.output
    result = run_cli('diff', base, head, '--exit-code', cwd=git_repo.path)
    assert result.exit_code == 1, result.output
    assert '-0.0' in result.stdout


# Pairs of scalars that YAML tells apart, and that Python's == or hash() may not.
_DISTINCT = [
    0.0,
    -0.0,
    1,
    1.0,
    True,
    '1',
    0,
    False,
    None,
    '',
    'null',
    math.nan,
    math.inf,
    -math.inf,
    2**63 - 1,
    2**64 - 1,
    -(2**63),
    2**63,
    '2024-01-01',
    'yes',
    '0.0',
    [],
    {},
    [0.0],
    [-0.0],
    {'k': 1},
    {'k': 1.0},
    {'k': True},
    {1: 'a'},
    {'1': 'a'},
]
_scalars = st.one_of(
    st.sampled_from(_DISTINCT),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(max_size=4),
    st.dates().map(str),
)
_TEMPLATES = [
    'v: {{ x }}\n',
    'v: {{ x | to_json }}\n',
    'v: {{ [x] | to_json }}\n',
    'v:\n  {{ {"k": x} | to_yaml | indent(2) }}\n',
    'v: {{ (x == 0) | to_json }}\n',
    'v: {{ values | to_json }}\n',
    'v: {{ w | to_json }}\n',
]


def _render_once(template: str, data: dict[str, Any], run: Reuse) -> tuple[Any, ...]:
    prepared = run.prepared(Values('dev', data))
    try:
        file = run.output(
            Template.of('templates/t.yaml.j2', 't.yaml.j2', template.encode()), prepared
        )
    except GitopsConfigError as exc:  # a value that does not render to YAML
        return ('error', exc.one_line())
    return file.content, cache_data.token(file.documents)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(template=st.sampled_from(_TEMPLATES), a=_scalars, b=_scalars)
def test_the_cached_render_of_a_changed_value_is_the_uncached_one(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch, template: str, a: Any, b: Any
) -> None:
    run = Reuse(_store())
    for x in (a, b):  # both kept, then both read back in a new run
        _render_once(template, {'x': x, 'w': {'x': x}}, run)
    run.finish()
    run = Reuse(_store())
    cached = [_render_once(template, {'x': x, 'w': {'x': x}}, run) for x in (b, a)]
    assert cached == [_render_once(template, {'x': x, 'w': {'x': x}}, Reuse()) for x in (b, a)]


@pytest.mark.parametrize(
    ('a', 'b'),
    [
        (0.0, -0.0),
        (1, 1.0),
        (1, True),
        ('1', 1),
        (None, ''),
        (2**64 - 1, -1),
        ({'k': 1}, {'k': True}),
    ],
)
def test_tokens_tell_apart_what_yaml_tells_apart(a: Any, b: Any) -> None:
    assert cache_data.token(a) != cache_data.token(b)
    assert cache_data.token(math.nan) == cache_data.token(math.nan)


# --- no secret reaches the cache (issue 12.1) -------------------------------------

CANARY = 'CANARY-5ecr3t-0f-the-t3st-zz9'


def test_nothing_derived_from_a_secret_reaches_the_cache(
    git_repo: GitRepo,
    fresh_cache: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    (tmp_path / 'age.txt').write_text(f'{ident}\n')
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(tmp_path / 'age.txt'))
    enc = sops.encrypt_text(
        f'db:\n  password: {CANARY}\n', 'secrets/dev.enc.yaml', age=[str(ident.to_public())]
    )
    project = BASIC['gitops-config.yaml']
    assert isinstance(project, str)
    git_repo.commit(
        {
            **BASIC,
            'secrets/dev.enc.yaml': enc,
            '.sops.yaml': f'creation_rules:\n  - path_regex: rendered/.*\n'
            f'    age: {ident.to_public()}\n',
            'gitops-config.yaml': project.replace('.yaml]', '.yaml, secrets/dev.enc.yaml]'),
            'templates/secret.yaml.j2': 'password: {{ db.password | b64encode }}\n',
            'templates/url.txt.j2': 'postgres://app:{{ db.password }}@db/app\n',
            'templates/upper.txt.j2': '{{ db.password | upper }}\n',
            'templates/mixed.yaml.j2': 'a: {{ app.name }}\nb: {{ db.password[:12] }}\n',
        },
        'secrets',
    )
    base = git_repo.git('rev-parse', 'HEAD').strip()
    result = run_cli('validate', cwd=git_repo.path)
    assert result.exit_code in (0, 1), result.output
    run_cli('render', '--out', str(tmp_path / 'out'), cwd=git_repo.path)
    git_repo.commit({'values/common.yaml': 'app: {name: other}\n'}, 'change')
    run_cli('diff', base, 'HEAD', cwd=git_repo.path)
    run_cli('diff', base, 'HEAD', '--validate', cwd=git_repo.path)
    kept = b''.join(p.read_bytes() for p in fresh_cache.rglob('*') if p.is_file())
    assert kept, 'the cache was used'
    forms = [CANARY, CANARY.upper(), CANARY.lower()]
    needles = {form[i : i + 10] for form in forms for i in range(len(form) - 9)}
    needles |= {base64.b64encode(form.encode()).decode()[4:16] for form in forms}
    assert not [n for n in needles if n.encode() in kept]


def test_the_encoder_refuses_secrets_wherever_they_are() -> None:
    from gitops_config.redact import SealedSecret
    from gitops_config.redact import Secret

    for value in (
        Secret('x'),
        SealedSecret('ENC[x]'),
        {'a': [Secret('x')]},
        (1, SealedSecret('y')),
        {'k': {'j': Secret(b'z')}},
    ):
        with pytest.raises(cache_data.Refused):
            cache_data.dumps(value)
        assert cache_data.token(value) is None


# --- forged and damaged entries --------------------------------------------------


def _hostile_run(
    project: Path,
    fresh_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forge: Callable[[], None],
) -> None:
    """FORGE the warm cache, then run: exactly the uncached result, no code run,
    nothing outside the cache folder changed."""
    assert _files(project) == _uncached(project)  # cold: fills the cache
    forge()
    expected = _uncached(project)
    with untouched(tmp_path, Path(os.environ['HOME']), allow=[fresh_cache]):
        assert _files(project) == expected
        assert _files(project) == expected  # and again, from what that run kept
    assert not (tmp_path / 'PWNED').exists()


def _entries(fresh_cache: Path, namespace: str) -> list[Path]:
    return sorted(
        p for p in (fresh_cache / namespace).rglob('*') if p.is_file() and '.log-' not in p.name
    )


def _forge_entry(path: Path, payload: bytes) -> None:
    """What anyone can write: an entry with a checksum recomputed for PAYLOAD."""
    namespace, digest = path.parent.parent.name, path.name
    path.write_bytes(b'GOC2' + cache._checksum(namespace, digest, payload) + payload)


def test_a_pickle_in_the_render_pack_index_is_not_run(
    project: Path, fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = pickle.dumps(_Marker(tmp_path))

    def forge() -> None:
        for index in _entries(fresh_cache, render_packs.NAMESPACE):
            _forge_entry(index, payload)
            # and as the format before this one checked it: a plain SHA-256
            (index.parent / (index.name[:60] + 'abcd')).write_bytes(
                b'GOC1' + hashlib.sha256(payload).digest() + payload
            )

    _hostile_run(project, fresh_cache, tmp_path, monkeypatch, forge)


def test_every_kind_of_entry_forged_as_a_pickle_is_a_miss(
    project: Path,
    fresh_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    git_repo: GitRepo,
    run_cli: RunCli,
) -> None:
    git_repo.commit({'values/dev.yaml': 'app:\n  replicas: 2\n'}, 'two')
    result = run_cli('diff', 'HEAD~1', 'HEAD', '--validate', '--format', 'json', cwd=project)
    run_cli('validate', cwd=project)
    payload = pickle.dumps(_Marker(tmp_path))
    namespaces = sorted(p.name for p in fresh_cache.iterdir() if p.is_dir())
    assert {'layer', 'render-pack', 'review', 'snapshot', 'verdicts'} <= set(namespaces)
    for namespace in namespaces:
        for entry in _entries(fresh_cache, namespace):
            _forge_entry(entry, payload)
    for log in (fresh_cache / render_packs.NAMESPACE).rglob('*.log-*'):
        log.write_bytes(payload * 50)
    again = run_cli('diff', 'HEAD~1', 'HEAD', '--validate', '--format', 'json', cwd=project)
    assert (again.exit_code, again.stdout) == (result.exit_code, result.stdout)
    assert run_cli('validate', cwd=project).exit_code == 0
    assert not (tmp_path / 'PWNED').exists()


def _evil_code(tmp_path: Path) -> bytes:
    source = (
        f'open({str(tmp_path / "PWNED")!r}, "w").close()\n'
        'def root(context, missing=None, environment=None):\n    yield "pwned"\n'
        'blocks = {}\ndebug_info = ""\n'
    )
    return marshal.dumps(compile(source, 'templates/config.yaml.j2', 'exec'))


def _forge_pack(
    fresh_cache: Path,
    env: str,
    payload: Callable[[str, str], bytes],
    *,
    checksum: Callable[[str, bytes], bytes],
    log: str | None = None,
) -> None:
    """Rewrite ENV's pack as anyone could: each slot's payload replaced, with the
    checksum they can compute, appended to the log the index names (or LOG)."""
    packs = Packs(_store())
    name, slots = packs._read_index(env)
    assert slots
    folder = Path(packs.location(env)).parent
    log_path = folder / name
    rows = []
    for template, (digest, _, _, _) in slots.items():
        data = payload(template, digest)
        offset = log_path.stat().st_size
        with open(log_path, 'ab') as f:
            f.write(data)
        rows.append([template, digest, offset, len(data), checksum(digest, data)])
    index = Path(packs.location(env))
    _forge_entry(index, cache_data.dumps([log if log is not None else name, rows]))


def test_a_forged_compiled_template_is_never_run(
    project: Path, fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = _evil_code(tmp_path)

    def forge() -> None:
        _forge_pack(
            fresh_cache,
            render_packs.BYTECODE,
            lambda t, d: evil,
            checksum=lambda d, p: hashlib.sha256(d.encode() + p).digest(),
        )
        # nor with the checksum the format before this one used
        _forge_pack(
            fresh_cache,
            render_packs.BYTECODE,
            lambda t, d: evil,
            checksum=lambda d, p: hashlib.sha256(p).digest(),
        )
        # nor when outputs must render again (a value every template reads changed)
        common = project / 'values/common.yaml'
        common.write_text(common.read_text().replace('gateway', 'gateway-2'))

    _hostile_run(project, fresh_cache, tmp_path, monkeypatch, forge)


def test_an_output_kept_for_other_inputs_is_not_reused(
    project: Path, fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forge() -> None:
        # each entry moved to another key's place, and each output to another
        # template's slot: valid data, for other inputs
        for namespace in ('layer', 'snapshot', 'verdicts'):
            entries = _entries(fresh_cache, namespace)
            blobs = [p.read_bytes() for p in entries]
            for path, blob in zip(entries, blobs[1:] + blobs[:1], strict=True):
                path.write_bytes(blob)
        for env in ('dev', 'prod'):
            packs = Packs(_store())
            name, slots = packs._read_index(env)
            templates = list(slots)
            moved = {t: slots[templates[(i + 1) % len(templates)]] for i, t in enumerate(templates)}
            rows = [
                [t, digest, *rest] for t, (_, *rest) in moved.items() for digest in [slots[t][0]]
            ]
            _forge_entry(Path(packs.location(env)), cache_data.dumps([name, rows]))

    _hostile_run(project, fresh_cache, tmp_path, monkeypatch, forge)


@pytest.mark.parametrize('damage', ['truncate', 'flip', 'empty', 'garbage'])
def test_damaged_entries_are_misses(
    project: Path, fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    def forge() -> None:
        for path in [p for p in fresh_cache.rglob('*') if p.is_file()]:
            if path.name == cache.MARKER:
                continue
            data = path.read_bytes()
            if damage == 'truncate':
                path.write_bytes(data[: len(data) // 2])
            elif damage == 'flip':
                path.write_bytes(data[:-3] + bytes(b ^ 0x55 for b in data[-3:]))
            elif damage == 'empty':
                path.write_bytes(b'')
            elif '.log-' not in path.name:  # well-formed entries of nonsense
                _forge_entry(path, cache_data.dumps([['x', 1, -5, 2**40, b'']]))

    _hostile_run(project, fresh_cache, tmp_path, monkeypatch, forge)


def test_an_index_cannot_point_outside_its_folder(
    project: Path, fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / 'victim.txt'
    victim.write_text('precious\n')

    def forge() -> None:
        for env in ('dev', 'prod', render_packs.BYTECODE):
            _forge_pack(
                fresh_cache,
                env,
                lambda t, d: b'x',
                checksum=lambda d, p: hashlib.sha256(d.encode() + p).digest(),
                log=os.path.relpath(victim, Path(Packs(_store()).location(env)).parent),
            )
        # and a value changed, so that the run appends to the log and compacts it
        common = project / 'values/common.yaml'
        common.write_text(common.read_text().replace('gateway', 'gateway-2'))

    _hostile_run(project, fresh_cache, tmp_path, monkeypatch, forge)
    assert victim.read_text() == 'precious\n'


def test_symlinks_and_fifos_in_the_cache_folder_lead_nowhere(
    project: Path, fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'keep.txt').write_text('mine\n')

    def forge() -> None:
        for namespace in ('layer', 'snapshot', 'verdicts'):
            entries = _entries(fresh_cache, namespace)
            for entry in entries[::2]:
                entry.unlink()
                os.mkfifo(entry)  # a read of it would block forever
            for entry in entries[1::2]:
                entry.unlink()
                entry.symlink_to(outside / 'keep.txt')
        folder = fresh_cache / 'policy'
        if folder.exists():
            for p in sorted(folder.rglob('*'), reverse=True):
                p.unlink() if p.is_file() else p.rmdir()
            folder.rmdir()
        folder.symlink_to(outside, target_is_directory=True)
        common = project / 'values/common.yaml'
        common.write_text(common.read_text().replace('gateway', 'gateway-2'))

    _hostile_run(project, fresh_cache, tmp_path, monkeypatch, forge)
    assert [p.name for p in outside.iterdir()] == ['keep.txt']


# --- compiled templates need our key ---------------------------------------------


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    env = render_mod._environment()
    real = env.compile
    count = [0]

    def counting(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(env, 'compile', counting)
    return count


def _change_values(project: Path, n: int) -> None:
    common = project / 'values/common.yaml'
    common.write_text(common.read_text().replace('name: gateway', f'name: gateway-{n}'))


def test_compiled_templates_are_kept_under_a_private_key(
    project: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _compiles(monkeypatch)
    _files(project)
    assert compiled[0] == 1
    key = cache.key_path(os.environ)
    assert key.stat().st_mode & 0o777 == 0o600
    assert fresh_cache not in key.parents
    _change_values(project, 1)
    _files(project)
    assert compiled[0] == 1  # rendered again, from the kept compiled template


@pytest.mark.parametrize('spoil', ['readable', 'in-cache', 'missing-folder'])
def test_without_a_private_key_templates_are_compiled_afresh(
    project: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spoil: str
) -> None:
    key = cache.key_path(os.environ)
    if spoil == 'readable':
        key.parent.mkdir(parents=True)
        key.write_bytes(os.urandom(32))
        key.chmod(0o644)  # others could read it, and so forge what it vouches for
    elif spoil == 'in-cache':
        monkeypatch.setenv('XDG_CONFIG_HOME', str(fresh_cache / 'config'))
    else:
        (tmp_path / 'file').write_text('')
        monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'file' / 'config'))
    assert _store().code_key() is None
    compiled = _compiles(monkeypatch)
    first = _files(project)
    _change_values(project, 2)
    _files(project)
    assert compiled[0] == 2
    assert Packs(_store())._read_index(render_packs.BYTECODE) == ('', {})
    assert len(first) == 4


# --- cache clear ----------------------------------------------------------------


def test_cache_clear_removes_only_its_own_entries(
    project: Path,
    fresh_cache: Path,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli('render', cwd=project).exit_code == 0
    mine = {
        fresh_cache / 'notes.txt': b'mine',
        fresh_cache / 'layer' / 'README': b'mine',
        fresh_cache / 'photos' / 'ab' / ('c' * 64): b'not an entry',
        fresh_cache / 'layer' / 'zz' / ('d' * 64): b'not a shard',
    }
    for path, data in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert run_cli('cache', 'clear').exit_code == 0
    left = {p for p in fresh_cache.rglob('*') if p.is_file()}
    assert left == {*mine, fresh_cache / cache.MARKER}
    # a folder without our marker: nothing at all is removed
    home = tmp_path / 'someone-elses'
    (home / 'layer' / 'ab').mkdir(parents=True)
    (home / 'layer' / 'ab' / ('a' * 64)).write_bytes(b'looks like an entry')
    monkeypatch.setenv(cache.ENV_DIR, str(home))
    with untouched(home):
        result = run_cli('cache', 'clear')
    assert result.exit_code == 0
    assert 'nothing removed' in result.stderr


def test_a_folder_of_someone_elses_is_never_made_a_cache(
    project: Path,
    fresh_cache: Path,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GITOPS_CONFIG_CACHE_DIR=$HOME: our marker there would make backup tools skip the
    whole folder, and `cache clear` would then count it as ours. The run goes on
    without the cache, and says why."""
    home = tmp_path / 'home'
    (home / 'photos').mkdir(parents=True)
    (home / 'notes.txt').write_text('mine\n')
    monkeypatch.setenv(cache.ENV_DIR, str(home))
    uncached = _uncached(project)
    with untouched(home), caplog.at_level('WARNING'):
        assert run_cli('render', cwd=project).exit_code == 0
        assert _files(project) == uncached
        assert run_cli('cache', 'clear').exit_code == 0
    [warning] = {r.getMessage() for r in caplog.records}
    assert warning.startswith(f'cache disabled: cannot write {home} (it holds ')
    assert 'set GITOPS_CONFIG_CACHE_DIR to a new or empty folder' in warning


@pytest.mark.parametrize('before', ['missing', 'empty', 'a cache without a marker'])
def test_a_new_empty_or_earlier_cache_folder_is_marked_and_used(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str
) -> None:
    folder = tmp_path / 'cache'
    if before != 'missing':
        folder.mkdir()
    if before == 'a cache without a marker':  # as versions before the marker wrote it
        (folder / 'layer' / 'ab').mkdir(parents=True)
        (folder / 'layer' / 'ab' / ('a' * 64)).write_bytes(b'GOC1 an old pickle')
    monkeypatch.setenv(cache.ENV_DIR, str(folder))
    _files(project)
    assert cache.is_ours(folder)
    assert (folder / 'render-pack').is_dir()


def test_pruning_removes_only_entries(project: Path, fresh_cache: Path) -> None:
    _files(project)
    (fresh_cache / 'notes.txt').write_bytes(b'x' * 10_000)
    store = _store()
    store.max_bytes = 1
    store.prune()
    assert sorted(p.name for p in fresh_cache.rglob('*') if p.is_file()) == [
        cache.MARKER,
        'notes.txt',
    ]


# --- nothing from the cache is unpickled or unmarshalled, anywhere ---------------


def test_no_module_unpickles_and_only_render_unmarshals_authenticated_code() -> None:
    found = []
    for path in sorted(PACKAGE.rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ('loads', 'load', 'Unpickler')
                and isinstance(node.value, ast.Name)
                and node.value.id in ('pickle', 'marshal', 'shelve', 'dill')
            ):
                found.append((path.relative_to(PACKAGE).as_posix(), node.value.id))
    assert found == [('incremental/renders.py', 'marshal')]


def test_review_round_trips_as_data(project: Path, git_repo: GitRepo) -> None:
    git_repo.commit({'values/prod.yaml': 'app:\n  replicas: -0.0\n'}, 'zero')
    old, new = revision.open_pair(project, 'HEAD~1', 'HEAD')
    review = comparison.compare(old, new, key=b'k' * 32)
    from gitops_config.pipeline.review import KEPT_RECORDS

    kept = cache_data.loads(cache_data.dumps(review, KEPT_RECORDS), KEPT_RECORDS)
    assert kept == review
    assert repr(kept) == repr(review)


def test_a_review_showing_a_fingerprint_is_not_kept(fresh_cache: Path) -> None:
    from gitops_config import diff
    from gitops_config.incremental import reviews
    from gitops_config.model import Change
    from gitops_config.model import ChangeKind
    from gitops_config.pipeline.review import KEPT_RECORDS

    change = Change(
        'prod',
        'secret.yaml',
        'data.key',
        ChangeKind.CHANGED,
        old=diff.Masked('0123456789ab'),
        new=diff.Masked('ba9876543210'),
        secret=True,
    )
    run = Run.from_environment()
    reviews.save(
        '0' * 64,
        results.Review(
            'a', 'b', (results.EnvDiff('prod', [change]),), sealed=False, fingerprints=True
        ),
        KEPT_RECORDS,
        run.reuse,
    )
    assert reviews.load('0' * 64, KEPT_RECORDS, run.reuse) is None
    assert not (fresh_cache / 'review').exists()
