"""Secrets through templates: whatever a template computes from a secret is a secret,
or rendering stops with one line. A canary secret never comes out in plain text."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config import render as render_mod
from gitops_config import sops
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.render import RenderedSyntaxError
from gitops_config.render import SecretFlowError
from gitops_config.render import Template
from gitops_config.values import Values
from tests._helpers.git_repo import GitRepo
from tests._helpers.jinja_reference import compiled
from tests._helpers.taint_corpus import CARRY
from tests._helpers.taint_corpus import CASES
from tests._helpers.taint_corpus import STOP
from tests.conftest import RunCli

CANARY = 'cAnArY-7f3e9d-SeCrEt'
ROTATED = 'rOtAtEd-4a5b6c-SeCrEt'
SOPS = str(Path(sys.executable).parent / 'sops')
EXAMPLE = Path(__file__).resolve().parents[1] / 'example-repo'


def _forms(secret: str, template: str = '') -> set[str]:
    """What would show the secret: itself in a few spellings, and what TEMPLATE prints
    from it in plain Jinja2 (each value of eight characters or more)."""
    forms = {
        secret,
        secret.upper(),
        secret.lower(),
        secret[::-1],
        secret[3:],
        base64.b64encode(secret.encode()).decode()[:-4],
    }
    if template:
        try:
            out = compiled(template).render(s=secret)
        except Exception:
            out = ''
        for line in out.splitlines():
            value = line.partition(': ')[2].strip().strip('"\'')
            if len(value) >= 8 and value not in template:
                forms.add(value)
    return forms


def assert_clean(texts: list[str], forms: set[str]) -> None:
    for text in texts:
        for form in forms:
            assert form not in text, f'{form!r} leaked'


def _render(
    template: str,
    *,
    secret: Any = None,
    name: str = 't.yaml.j2',
) -> render_mod.RenderedFile:
    source = Template.of(f'templates/{name}', name, template.encode())
    data = {'s': Secret(CANARY) if secret is None else secret, 'plain': 'not-a-secret'}
    return render_mod.render_file(source, render_mod.prepare(Values('dev', data)))


def _plain_leaves(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _plain_leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _plain_leaves(value)
    elif not isinstance(node, (Secret, SealedSecret)):
        yield str(node)


def _has_secret_leaf(node: Any) -> bool:
    if isinstance(node, (Secret, SealedSecret)):
        return True
    if isinstance(node, dict):
        return any(_has_secret_leaf(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_secret_leaf(v) for v in node)
    return False


def test_the_corpus_covers_sixty_transformations() -> None:
    assert len(CASES) >= 60
    assert len({name for name, _, _ in CASES}) == len(CASES)
    assert {outcome for _, _, outcome in CASES} == {CARRY, STOP}


@pytest.mark.parametrize(('name', 'template', 'outcome'), CASES, ids=[c[0] for c in CASES])
def test_each_transformation_carries_the_secret_or_stops(
    name: str, template: str, outcome: str
) -> None:
    forms = _forms(CANARY, template)
    if outcome == CARRY:
        file = _render(template)
        assert file.has_secrets
        assert file.documents is not None
        assert _has_secret_leaf(file.documents)
        assert_clean(list(_plain_leaves(file.documents)), forms)
        return
    with pytest.raises(SecretFlowError) as caught:
        _render(template)
    error = caught.value
    assert error.exit_code == 1
    assert error.location is not None
    assert error.location.line, error.one_line()
    assert '\n' not in error.one_line()
    assert_clean([error.one_line(), error.hint or ''], forms)


STEPS = [
    '({}) | upper',
    '({}) | lower',
    '({}) | reverse',
    '({})[2:]',
    "({}) ~ '-x'",
    "'y-' ~ ({})",
    "({}) | replace('A', 'b')",
    '({}) | b64encode',
    '({}) | trim',
    "({}).split('-') | join('+')",
    '({}) | list | join',
    '({}) | urlencode',
    '({}) | title',
    '({}) | to_json',
    "'%s.' % ({})",
    "'<{{}}>'.format({})",
    '({}) | center(40) | trim',
    '({}) | string',
    "({}) + 'z'",
    '({}) * 2',
    '({}).swapcase()',
    '({}) | e',
    "({}) | truncate(30, true, '')",
    'm({})',
    '({}) | list | sort | join',
    "[({}), 'q'] | join(',')",
    "({}) | replace('-', '')",
    '({}) | indent(2)',
    "{{'k': ({})}}.k",
    '[({})] | first',
    "({}).partition('-') | join",
]
CONTEXTS = [
    'v: {{ EXPR }}\n',
    'v: {{ EXPR | to_json }}\n',
    'v: [{{ EXPR | to_json }}]\n',
    'v:\n  - {{ EXPR | to_json }}\n',
    '{% set x = EXPR %}v: {{ x | to_json }}\n',
    'v: {{ {"k": EXPR} | to_json }}\n',
    'v:\n{{ {"k": EXPR} | to_yaml | indent(2, true) }}\n',
]


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.sampled_from(STEPS), min_size=1, max_size=4),
    context=st.sampled_from(CONTEXTS),
)
def test_any_composition_of_transformations_carries_or_stops(
    steps: list[str], context: str
) -> None:
    expr = 's'
    for step in steps:
        expr = step.format(expr)
    template = '{% macro m(x) %}<{{ x }}>{% endmacro %}' + context.replace('EXPR', expr)
    forms = _forms(CANARY, template)
    try:
        file = _render(template)
    except (SecretFlowError, RenderedSyntaxError) as exc:
        assert_clean([exc.one_line(), exc.hint or ''], forms)
        return
    assert file.has_secrets, template
    assert_clean(list(_plain_leaves(file.documents)), forms)


def test_text_computed_from_a_secret_is_marked_where_it_is() -> None:
    file = _render(
        'a: {{ plain }}\nb: x-{{ s | upper }}\nc:\n'
        "{{ {'k': s, 'n': plain} | to_yaml | indent(2, true) }}\n"
    )
    [doc] = file.documents or []
    assert doc['a'] == 'not-a-secret'
    assert doc['b'] == Secret(f'x-{CANARY.upper()}')
    assert doc['c'] == {'k': Secret(CANARY), 'n': 'not-a-secret'}


def test_a_sealed_secret_stays_sealed_through_transformations() -> None:
    file = _render('v: {{ s | upper }}\nw: {{ plain }}\n', secret=SealedSecret('ENC[x]'))
    [doc] = file.documents or []
    assert isinstance(doc['v'], SealedSecret)
    assert doc['w'] == 'not-a-secret'


@pytest.mark.parametrize(
    'template',
    [
        'v: {{ s | length }}\n',  # an int
        'v: {{ s.count("-") + 1 }}\n',
        'v: {{ (s | length) / 2 }}\n',  # a float
    ],
)
def test_numbers_computed_from_a_secret_are_secrets(template: str) -> None:
    [doc] = _render(template).documents or []
    assert isinstance(doc['v'], Secret)


def test_error_messages_never_show_a_derived_secret() -> None:
    # two keys rendered from one secret: the parser names the duplicate key
    with pytest.raises(RenderedSyntaxError) as caught:
        _render('"{{ s | upper }}": 1\n"{{ s | upper }}": 2\n')
    assert_clean([caught.value.one_line()], _forms(CANARY))
    for template in (
        'v: {{ (s | upper)[100] }}\n',
        'v: {{ (s | upper).foo.bar }}\n',
        'v: {{ {}[s | lower] }}\n',
        'v: {{ (s | upper) + 1 }}\n',
        'v: {{ (s | reverse) | format(1) }}\n',
    ):
        with pytest.raises(render_mod.TemplateError) as raised:
            _render(template)
        assert_clean([raised.value.one_line(), raised.value.hint or ''], _forms(CANARY, template))


# -- end to end: every command, every format, the written files and the cache

PROJECT = """\
environments:
  - name: dev
    layers: [values/common.yaml, secrets/dev.enc.yaml]
templates: templates
output: rendered/{env}
"""


def _secret_layer(secret: str, recipient: str) -> bytes:
    return sops.encrypt_text(f's: {secret}\n', 'secrets/dev.enc.yaml', age=[recipient])


def _project(git_repo: GitRepo, recipient: str, templates: dict[str, str]) -> str:
    base = git_repo.commit(
        {
            'gitops-config.yaml': PROJECT,
            'values/common.yaml': 'plain: not-a-secret\n',
            '.sops.yaml': f'creation_rules:\n  - path_regex: .*\n    age: {recipient}\n',
            'secrets/dev.enc.yaml': _secret_layer(ROTATED, recipient),
            **templates,
        },
        'base',
    )
    git_repo.commit({'secrets/dev.enc.yaml': _secret_layer(CANARY, recipient)}, 'rotate')
    return base


def _every_file(folder: Path) -> list[str]:
    return [p.read_bytes().decode('latin-1') for p in folder.rglob('*') if p.is_file()]


def test_no_command_shows_what_templates_compute_from_a_secret(
    git_repo: GitRepo, age_key: str, run_cli: RunCli, fresh_cache: Path, tmp_path: Path
) -> None:
    carried = [(name, template) for name, template, outcome in CASES if outcome == CARRY]
    templates = {f'templates/{name}.yaml.j2': template for name, template in carried}
    templates['templates/leak.txt.j2'] = (
        "upper: {{ s | upper }}\nsplit: {{ s.split('-') }}\nslice: {{ s[3:] }}\n"
    )
    base = _project(git_repo, age_key, templates)
    forms = set().union(
        *(
            _forms(secret, template)
            for secret in (CANARY, ROTATED)
            for template in templates.values()
        )
    )
    outputs = []
    result = run_cli('render', cwd=git_repo.path)
    assert result.exit_code == 0, result.output
    outputs += [result.stdout, result.stderr]
    for name, _ in carried:
        written = (git_repo.path / f'rendered/dev/{name}.yaml').read_text()
        assert 'ENC[AES256_GCM' in written, name
    assert 'ENC[AES256_GCM' in (git_repo.path / 'rendered/dev/leak.txt').read_text()
    check = run_cli('render', '--check', cwd=git_repo.path)
    assert check.exit_code == 0, check.output
    commands: list[tuple[str, ...]] = [
        ('diff', base, 'HEAD', '--format', fmt) for fmt in ('text', 'json', 'markdown')
    ]
    commands += [
        ('validate', '--format', fmt) for fmt in ('text', 'json', 'junit', 'sarif', 'github')
    ]
    for argv in commands:
        result = run_cli(*argv, cwd=git_repo.path)
        assert result.exit_code in (0, 1), (argv, result.output)
        outputs += [result.stdout, result.stderr]
    assert json.loads(run_cli('diff', base, 'HEAD', '--format', 'json', cwd=git_repo.path).stdout)[
        'environments'
    ][0]['changes']
    assert_clean(outputs, forms)
    assert_clean(_every_file(git_repo.path / 'rendered'), forms)
    assert_clean(_every_file(fresh_cache), forms)
    # the one escape hatch: asked to decrypt, the plaintext is there (the test can fail)
    plain = tmp_path / 'plain'
    assert run_cli('render', '--decrypt', '--out', str(plain), cwd=git_repo.path).exit_code == 0
    assert CANARY.upper() in (plain / 'dev/filter-upper.yaml').read_text()
    assert CANARY.upper() in (plain / 'dev/leak.txt').read_text()


def test_real_sops_opens_what_a_transformation_wrote(
    git_repo: GitRepo, age_key: str, run_cli: RunCli
) -> None:
    _project(
        git_repo,
        age_key,
        {
            'templates/auth.yaml.j2': "auth: {{ ('user:' ~ s) | b64encode }}\nname: x\n",
            'templates/leak.txt.j2': 'upper: {{ s | upper }}\n',
        },
    )
    assert run_cli('render', cwd=git_repo.path).exit_code == 0
    env = dict(os.environ)
    auth = subprocess.run(
        [SOPS, '-d', str(git_repo.path / 'rendered/dev/auth.yaml')],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert base64.b64encode(f'user:{CANARY}'.encode()).decode() in auth
    text = subprocess.run(
        [SOPS, '-d', str(git_repo.path / 'rendered/dev/leak.txt')],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert text == f'upper: {CANARY.upper()}\n'


def test_every_stop_is_one_line_naming_template_and_line(
    git_repo: GitRepo, age_key: str, run_cli: RunCli
) -> None:
    stopped = [(name, template) for name, template, outcome in CASES if outcome == STOP]
    _project(git_repo, age_key, {})
    forms = set().union(*(_forms(CANARY, template) for _, template in stopped))
    for name, template in stopped[:12]:  # through the CLI: a dozen of them is enough
        git_repo.write({f'templates/{name}.yaml.j2': template})
        result = run_cli('render', '--env', 'dev', cwd=git_repo.path)
        assert result.exit_code == 1, (name, result.output)
        first = result.stderr.splitlines()[0]
        assert first.startswith(f'error: secret-flow: templates/{name}.yaml.j2:'), first
        assert_clean([result.stdout, result.stderr], forms)
        (git_repo.path / f'templates/{name}.yaml.j2').unlink()
    git_repo.write({f'templates/{name}.yaml.j2': template for name, template in stopped})
    result = run_cli('validate', '--format', 'json', cwd=git_repo.path)
    assert result.exit_code == 1
    assert_clean([result.stdout, result.stderr], forms)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    target = tmp_path / 'example-repo'
    shutil.copytree(EXAMPLE, target)
    monkeypatch.setenv('SOPS_AGE_KEY_FILE', str(target / 'keys/demo-dev.agekey'))
    return target


def test_the_reported_leaks_on_example_repo(example: Path, run_cli: RunCli) -> None:
    master = 'sk-demo-dev-master-NOT-A-REAL-KEY-000000'
    (example / 'templates/leak.txt.j2').write_text(
        'upper: {{ secrets.litellm_master_key | upper }}\n'
        "split: {{ secrets.litellm_master_key.split('-') }}\n"
        'slice: {{ secrets.litellm_master_key[3:] }}\n'
    )
    result = run_cli('render', '--env', 'dev', cwd=example)
    assert result.exit_code == 0, result.output
    written = (example / 'rendered/dev/leak.txt').read_text()
    for form in (master.upper(), "'demo', 'dev'", master[3:]):
        assert form not in written
        assert form not in result.output
    (example / 'templates/key.yaml.j2').write_text('{{ secrets.litellm_master_key }}: admin\n')
    result = run_cli('render', '--env', 'dev', cwd=example)
    assert result.exit_code == 1
    assert 'templates/key.yaml.j2:1' in result.stderr
    assert 'mapping key' in result.stderr
    assert master not in result.output
    (example / 'templates/key.yaml.j2').write_text(
        '"{{ secrets.litellm_master_key }}": 1\n"{{ secrets.litellm_master_key }}": 2\n'
    )
    for fmt in ('text', 'json'):
        result = run_cli('validate', '--env', 'dev', '--format', fmt, cwd=example)
        assert result.exit_code != 0
        assert master not in result.output
        assert 'duplicate key' in result.output
