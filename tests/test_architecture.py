"""Who may import whom is import-linter's (`lint-imports`, contracts in pyproject.toml).

What it cannot say is checked here: that every library the package imports has
an owner at all, so a new dependency cannot slip in without one.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'gitops_config'


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    contracts: list[dict[str, object]] = config['tool']['importlinter']['contracts']
    return contracts


@functools.cache
def _third_party_imports() -> dict[str, str]:
    """Each third-party top-level name the package imports -> one module importing it."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split('.')[0]
                if top != 'gitops_config' and top not in sys.stdlib_module_names:
                    found.setdefault(top, path.relative_to(ROOT).as_posix())
    return found


def test_every_library_the_package_imports_has_one_owner() -> None:
    owned: dict[str, list[str]] = {}
    for contract in _contracts():
        if contract['type'] == 'protected':
            for name in contract['protected_modules']:  # type: ignore[attr-defined]
                owned.setdefault(name, []).append(str(contract['id']))
    imported = _third_party_imports()
    assert imported, 'no third-party import found: the scan is broken'
    for name, where in imported.items():
        assert len(owned.get(name, [])) == 1, (
            f'{name} (imported by {where}) needs exactly one owner contract in pyproject.toml'
        )


def test_every_owner_contract_names_a_library_in_use() -> None:
    imported = _third_party_imports()
    for contract in _contracts():
        if str(contract['id']).startswith('owner-'):
            for name in contract['protected_modules']:  # type: ignore[attr-defined]
                assert name in imported or name in sys.stdlib_module_names, (
                    f'{contract["id"]} protects {name}, which nothing imports'
                )


def _code_map() -> set[str]:
    """The modules ARCHITECTURE.md's code map names, as paths under gitops_config/.

    A bullet whose first name ends in / is a folder (its __init__.py included);
    every `name.py` on a bullet is a module of the folder the bullet sits in.
    """
    text = (ROOT / 'ARCHITECTURE.md').read_text()
    section = text.split('\n## Code map\n', 1)[1].split('\n## ', 1)[0]
    named: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, folder path) of the open folder bullets
    for line in section.splitlines():
        bullet = re.match(r'( *)- (.*)', line)
        if bullet is None:
            continue
        indent, rest = len(bullet[1]), bullet[2]
        while folders and folders[-1][0] >= indent:
            folders.pop()
        here = folders[-1][1] if folders else ''
        names = re.findall(r'`([^`\s]+)`', rest)
        if names and names[0].endswith('/') and rest.startswith('`'):
            here += names[0]
            folders.append((indent, here))
            named.add(here + '__init__.py')
        named.update(here + name for name in names if name.endswith('.py'))
    return named


def test_the_code_map_names_every_module_and_only_modules_that_exist() -> None:
    modules = {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob('*.py')}
    named = _code_map()
    assert sorted(modules - named) == [], 'modules missing from ARCHITECTURE.md'
    assert sorted(named - modules) == [], 'ARCHITECTURE.md names modules that do not exist'


def _lazy_imports() -> list[tuple[str, int, list[str]]]:
    """Each import inside a function: (module path, line, the lines of its block above it)."""
    found = []
    for path in sorted(PACKAGE.rglob('*.py')):
        lines = path.read_text().splitlines()
        for func in ast.walk(ast.parse('\n'.join(lines), str(path))):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append(
                        (
                            path.relative_to(ROOT).as_posix(),
                            node.lineno,
                            lines[func.lineno - 1 : node.lineno - 1],
                        )
                    )
    return found


def test_an_import_inside_a_function_says_why() -> None:
    """Imports are at the top of modules; the exceptions keep a heavy library off the
    start-up path, and a comment above the import (or its block of imports) says so."""
    unexplained = []
    for where, line, above in _lazy_imports():
        while above and above[-1].strip().startswith(('from ', 'import ')):
            above = above[:-1]
        if not (above and above[-1].strip().startswith('#')):
            unexplained.append(f'{where}:{line}')
    assert unexplained == []
