"""Which rules apply to a project: built-in packs plus the repository's rule files.

The `secrets` pack is always on. A project may waive its findings, file by
file or key by key, but it can never disable it, so a plaintext key cannot
slip through by a one-line config change.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitops_config.errors import GitopsConfigError
from gitops_config.model import Location
from gitops_config.policy.rules import Rule
from gitops_config.policy.rules import load_file
from gitops_config.resources import shipped
from gitops_config.source import Source
from gitops_config.suggest import did_you_mean

ALWAYS_ON = ('secrets',)
DEFAULT_PATH = 'policies'
_SUFFIXES = ('.yaml', '.yml')


class PolicyConfigError(GitopsConfigError):
    code = 'invalid-policy-config'


def builtin_dir() -> Path:
    """The tool's own `policies/` folder: packaged data, or the source checkout's."""
    found = shipped('policies')
    if found.is_dir():
        return found
    raise PolicyConfigError(
        'the built-in policies are missing from this installation', hint='reinstall gitops-config'
    )


def packs() -> dict[str, Path]:
    """Built-in pack name -> rule file."""
    return {
        p.stem: p for p in sorted(builtin_dir().iterdir()) if p.suffix in _SUFFIXES and p.is_file()
    }


def load_pack(name: str) -> list[Rule]:
    path = packs()[name]
    return load_file(path.read_bytes(), f'<builtin>/{path.name}', pack=name)


def rule_files(source: Source, paths: Sequence[str]) -> list[str]:
    found: list[str] = []
    for path in paths:
        for file in source.files(path):
            if file.endswith(_SUFFIXES) and file not in found:
                found.append(file)
    return found


def _section(raw: Mapping[str, Any]) -> dict[str, Any]:
    section = raw.get('policies') or {}
    return section if isinstance(section, dict) else {}


def load_rules(
    source: Source,
    raw: Mapping[str, Any],
    *,
    where: Location | None = None,
    only_packs: Sequence[str] | None = None,
) -> list[Rule]:
    """Every enabled rule of the project whose parsed gitops-config.yaml is RAW."""
    section = _section(raw)
    available = packs()
    wanted = list(ALWAYS_ON) + [p for p in section.get('packs', []) if p not in ALWAYS_ON]
    if only_packs is not None:
        wanted = [p for p in wanted if p in only_packs]
    rules: list[Rule] = []
    for name in wanted:
        if name not in available:
            raise PolicyConfigError(
                f'unknown policy pack {name!r}',
                location=where,
                hint=did_you_mean(name, available) or f'built-in packs: {", ".join(available)}',
            )
        rules.extend(load_pack(name))
    if only_packs is None:
        paths = section.get('paths')
        if paths is None:
            paths = [DEFAULT_PATH] if source.files(DEFAULT_PATH) else []
        for file in rule_files(source, paths):
            rules.extend(load_file(source.read(file), file))
    _check_unique(rules)
    return _disable(rules, section.get('disable', []), where)


def _check_unique(rules: Sequence[Rule]) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            raise PolicyConfigError(
                f'rule id {rule.id!r} is defined twice (first at {seen[rule.id].location})',
                location=rule.location,
                hint='rename one of the rules',
            )
        seen[rule.id] = rule


def _disable(rules: list[Rule], disable: Sequence[str], where: Location | None) -> list[Rule]:
    ids = {r.id: r for r in rules}
    for rule_id in disable:
        rule = ids.get(rule_id)
        if rule is None:
            raise unknown_rule(rule_id, ids, where, what='policies.disable names')
        if rule.pack in ALWAYS_ON:
            raise PolicyConfigError(
                f'{rule_id} cannot be disabled',
                location=where,
                hint='add a waiver (rule, file or path, reason, expires) under policies.waivers',
            )
    return [r for r in rules if r.id not in disable]


def unknown_rule(
    rule_id: str, known: Mapping[str, Rule] | Sequence[str], where: Location | None, *, what: str
) -> PolicyConfigError:
    return PolicyConfigError(
        f'{what} unknown rule {rule_id!r}',
        location=where,
        hint=did_you_mean(rule_id, known) or 'list the rules with `gitops-config policy list`',
    )
