"""Start-up: a command loads what it uses, and no more.

Every command builds a run (run.py) and reads files through the sops package to know
whether they are encrypted; a diff goes through the review. None of these may load the
sops file engine, the crypto libraries, Jinja2 or the schema and policy engines before
they are used: each costs a sub-second command a noticeable share of its time. Each
case imports in a fresh interpreter, so what an earlier test loaded cannot hide it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers.projects import BASIC

SOPS_ENGINE = (
    'gitops_config.sops.engine',
    'gitops_config.sops.sopsfile',
    'gitops_config.sops.stores',
    'gitops_config.sops.cipher',
    'cryptography',
    'pyrage',
)
CHECKS = ('gitops_config.schema', 'gitops_config.policy.runner', 'jsonschema_rs', 'cel_expr_python')

PROBE = """\
import sys
{code}
loaded = (m for m in sys.modules if m in {unwanted!r} or m.split('.')[0] in {unwanted!r})
print('LOADED', *sorted(loaded))
"""


def _loaded(code: str, unwanted: tuple[str, ...], cwd: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, '-c', PROBE.format(code=code, unwanted=unwanted)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[-1].split()[1:]


@pytest.mark.parametrize(
    ('module', 'unwanted'),
    [
        # every command's run: its key ring reads the environment, and opens no file
        ('gitops_config.run', (*SOPS_ENGINE, 'jinja2', 'gitops_config.render')),
        # is_encrypted and the key ring, which every command uses
        ('gitops_config.sops', SOPS_ENGINE),
        # .sops.yaml names cloud keys; reading it asks no key service
        ('gitops_config.sops.rules', SOPS_ENGINE),
        # a diff without --validate, and a review kept before
        ('gitops_config.pipeline.review', (*SOPS_ENGINE, *CHECKS)),
        # validation of a project whose layers are not encrypted
        ('gitops_config.pipeline.validation', SOPS_ENGINE),
        # `secrets decrypt FILE` is timed against `sops -d`: no project, no git history
        (
            'gitops_config.cli.commands.secrets',
            ('gitops_config.project', 'gitops_config.secret_age', 'gitops_config.recipients'),
        ),
    ],
)
def test_importing_a_module_loads_only_what_it_uses(
    tmp_path: Path, module: str, unwanted: tuple[str, ...]
) -> None:
    assert _loaded(f'import {module}', unwanted, tmp_path) == []


def test_a_render_without_secrets_loads_no_crypto(tmp_path: Path) -> None:
    for name, content in BASIC.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(str(content))
    code = (
        'from gitops_config.cli.main import main\n'
        'assert main(["--no-cache", "render", "--out", "out"]) == 0'
    )
    assert _loaded(code, SOPS_ENGINE, tmp_path) == []
