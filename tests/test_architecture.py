"""Who may import whom (ARCHITECTURE.md §3): checked on the source, so it cannot drift."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'gitops_config'

# A third-party library and the only modules (or packages) that may import it.
OWNERS = {
    'click': ('cli/',),
    'yaml': ('yaml_io/',),
    'ruamel': ('yaml_io/',),
    'git': ('git.py',),
    'jinja2': ('render.py', 'sandbox/'),
    'jsonschema_rs': ('schema.py',),
    're2': ('regex.py',),
    'cel_expr_python': ('policy/',),
    'cryptography': ('sops/',),
    'pyrage': ('sops/',),
    'msgpack': ('cache_data.py',),
    'filelock': ('edit_lock.py',),
    'deepdiff': (),  # the diff engine's test oracle only
    'jsonschema': (),
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob('*.py') if '__pycache__' not in p.parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize('path', _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_each_library_is_imported_by_its_owner_only(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    for name in _imports(path):
        top = name.split('.')[0]
        owners = OWNERS.get(top)
        if owners is not None:
            assert rel.startswith(owners), f'{rel} imports {name}; only {owners} may'


@pytest.mark.parametrize('path', [p for p in _modules()
                                  if not p.relative_to(PACKAGE).as_posix().startswith(
                                      ('cli/', '__main__.py'))],
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_the_core_never_imports_the_cli(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith('gitops_config.cli'), (
            f'{path.relative_to(PACKAGE)} imports {name}')
