"""`.sops.yaml` creation rules: which keys and selection rule a new file gets.

Found by $SOPS_CONFIG, else by walking up from the file's directory (sops
itself walks up from the working directory; for files inside the repository
the two agree). The first rule whose path_regex matches the file's path
relative to the config's directory wins.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from gitops_config import constants as C
from gitops_config import regex
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.fsutil import read_file
from gitops_config.model import Location
from gitops_config.sops.errors import RulesError
from gitops_config.sops.keys import cloud
from gitops_config.sops.metadata import MasterKey
from gitops_config.sops.tree import SELECTORS
from gitops_config.sops.tree import Selection
from gitops_config.sops.tree import go_regex

_MAX_PARENTS = 100
_FLAT_KINDS = {  # rule field -> master key kind, in the order sops builds a group
    'age': 'age',
    'pgp': 'pgp',
    'kms': 'kms',
    'gcp_kms': 'gcp_kms',
    'hckms': 'hckms',
    'azure_keyvault': 'azure_kv',
    'hc_vault_transit_uri': 'hc_vault',
}


@dataclass(frozen=True, slots=True)
class CreationRule:
    key_groups: list[list[MasterKey]]
    selection: Selection = field(default_factory=Selection)
    shamir_threshold: int = 0
    source: str = ''

    def recipients(self) -> list[str]:
        return [k.identity() for g in self.key_groups for k in g]


def find_config(start: Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """The .sops.yaml that applies at START: SOPS_CONFIG in ENVIRON (default: the
    process's), else the nearest at or above START."""
    env = (os.environ if environ is None else environ).get('SOPS_CONFIG')
    if env:
        return Path(env)
    here = start.resolve()
    for _ in range(_MAX_PARENTS):
        candidate = here / C.SOPS_CONFIG_FILE
        if candidate.is_file() or candidate.is_symlink():  # reading a symlink says so
            return candidate
        if here.parent == here:
            break
        here = here.parent
    return None


def _split(value: object, where: str) -> list[str]:
    """A comma-separated string or a list of (comma-separated) strings."""
    if value is None or value == '':
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise RulesError(f'{where}: expected a string or a list of strings')
        out += [p.strip() for p in item.split(',') if p.strip()]
    return out


def _key(kind: str, ident: str, where: str, *, aws_profile: str = '') -> MasterKey:
    """A master key named by a string, as .sops.yaml and the command line name it."""
    if kind == 'age':
        return MasterKey('age', {'recipient': ident, 'enc': ''})
    if kind == 'pgp':
        return MasterKey('pgp', {'created_at': '', 'enc': '', 'fp': ident.replace(' ', '')})
    if kind == 'kms':
        return cloud.kms_key(ident, aws_profile=aws_profile)
    if kind == 'gcp_kms':
        return cloud.gcp_key(ident)
    if kind == 'hckms':
        return cloud.hckms_key(ident)
    if kind == 'azure_kv':
        return cloud.azure_key(ident, where)
    return cloud.vault_key(ident, where)


def _entry(kind: str, item: object, where: str) -> list[MasterKey]:
    """The keys of one key_groups entry: a string (several, comma-separated, for age),
    or a mapping (kms, gcp_kms, azure_keyvault, hckms)."""
    if isinstance(item, str):
        parts = _split(item, where) if kind == 'age' else [item]
        return [_key(kind, part, where) for part in parts]
    if not isinstance(item, dict):
        raise RulesError(f'{where}: a {kind} key must be a string or a mapping')
    text = {str(k): v if isinstance(v, dict) else str(v or '') for k, v in item.items()}
    if kind == 'kms':
        context = text.get('context')
        return [
            cloud.kms_key(
                str(text.get('arn', '')),
                role=str(text.get('role', '')),
                context={str(k): str(v) for k, v in context.items()}
                if isinstance(context, dict)
                else None,
                aws_profile=str(text.get('aws_profile', '')),
            )
        ]
    if kind == 'azure_kv':
        return [
            cloud.azure_parts(
                str(text.get('vaultUrl', '')),
                str(text.get('key', '')),
                str(text.get('version', '')),
            )
        ]
    field_name = {'gcp_kms': 'resource_id', 'hckms': 'key_id'}.get(kind)
    if field_name is None or not text.get(field_name):
        raise RulesError(f'{where}: a {kind} key must be a string')
    return [_key(kind, str(text[field_name]), where)]


def _group(raw: Any, where: str) -> list[MasterKey]:
    if not isinstance(raw, dict):
        raise RulesError(f'{where}: a key group must be a mapping')
    group: list[MasterKey] = []
    for merged in raw.get('merge') or []:
        group += _group(merged, where)
    for name, kind in _FLAT_KINDS.items():
        if name == 'hc_vault_transit_uri':
            name = 'hc_vault'  # a key group names Vault keys so
        for item in raw.get(name) or []:
            for key in _entry(kind, item, f'{where}: {name}'):
                if all(k.identity() != key.identity() or k.kind != kind for k in group):
                    group.append(key)
    return group


def _rule(raw: Any, where: str) -> CreationRule:
    if not isinstance(raw, dict):
        raise RulesError(f'{where}: a creation rule must be a mapping')
    chosen = [k for k in SELECTORS if raw.get(k)]
    if len(chosen) > 1:
        raise RulesError(f'{where}: sets more than one of {", ".join(chosen)}')
    mac_only = bool(raw.get('mac_only_encrypted'))
    selection = (
        Selection(chosen[0], str(raw[chosen[0]]), mac_only)
        if chosen
        else Selection(mac_only_encrypted=mac_only)
    )
    if raw.get('key_groups'):
        groups = [_group(g, where) for g in raw['key_groups']]
    else:
        profile = str(raw.get('aws_profile') or '')
        groups = [
            [
                _key(kind, ident, f'{where}: {name}', aws_profile=profile)
                for name, kind in _FLAT_KINDS.items()
                for ident in _split(raw.get(name), f'{where}: {name}')
            ]
        ]
    try:
        threshold = int(raw.get('shamir_threshold') or 0)
    except (TypeError, ValueError):
        raise RulesError(f'{where}: shamir_threshold must be a number') from None
    return CreationRule(groups, selection, threshold, where)


def load_rules(config: Path) -> list[tuple[str, CreationRule]]:
    try:
        text = read_file(config).decode()  # never through a symlink the repository holds
    except OSError as exc:
        raise RulesError(f'{config}: cannot read: {exc.strerror}') from None
    return rules_from_text(text, str(config))


def rules_from_text(text: str | bytes, config: str) -> list[tuple[str, CreationRule]]:
    """The (path_regex, rule) pairs of a .sops.yaml given as TEXT (read from a commit,
    say); CONFIG names it in errors."""
    try:
        raw = yaml_io.load(text, str(config))
    except GitopsConfigError as exc:
        raise RulesError(f'{config}: invalid YAML: {exc.message}', location=exc.location) from None
    if raw is None:
        return []
    if not isinstance(raw, dict) or not isinstance(raw.get('creation_rules', []), list):
        raise RulesError(f'{config}: creation_rules must be a list of rules')
    check_regexes(text, config, raw.get('creation_rules') or [])
    out = []
    for i, item in enumerate(raw.get('creation_rules') or []):
        where = f'{config}: creation_rules[{i}]'
        regex = (item or {}).get('path_regex', '') if isinstance(item, dict) else ''
        out.append((str(regex or ''), _rule(item, where)))
    return out


REGEX_KEYS = (
    'path_regex',
    'encrypted_regex',
    'unencrypted_regex',
    'encrypted_comment_regex',
    'unencrypted_comment_regex',
)


def check_regexes(text: str | bytes, path: str, rules: list[Any]) -> None:
    """Every pattern of RULES (parsed from TEXT, the .sops.yaml at PATH) runs on RE2,
    as in sops, or the file is refused at that pattern's line."""
    for i, rule in enumerate(rules):
        for key in REGEX_KEYS if isinstance(rule, dict) else ():
            if not rule.get(key):
                continue
            try:
                go_regex(str(rule[key]))
            except regex.RegexError as exc:
                [(_, positions)] = yaml_io.load_all_located(text, path)
                line, column = positions.get(('creation_rules', i, key), (None, None))
                raise regex.RegexError(
                    f'creation_rules[{i}].{key}: {exc.message}',
                    location=Location(path, line, column),
                    hint=exc.hint,
                ) from None


@dataclass(frozen=True)
class Rules:
    """The creation rules of one .sops.yaml, wherever it was read (a file on disk, a
    commit), or of none (FOUND false)."""

    name: str  # how messages name it
    rules: list[tuple[str, CreationRule]]
    # the path from the config's folder to the folder PATHs given to rule_for are in
    prefix: str = ''
    found: bool = True

    def rule_for(self, path: str) -> CreationRule:
        """The creation rule sops would apply to a new file at PATH."""
        if not self.found:
            raise RulesError(
                f'{path}: no {C.SOPS_CONFIG_FILE} found in {self.name} and no recipients given',
                hint='add creation_rules to .sops.yaml or pass --age/--pgp',
            )
        rule = matching(self.rules, self.prefix + path)
        if rule is None:
            raise RulesError(
                f'{path}: no matching creation rules found in {self.name}',
                hint='add a creation rule whose path_regex matches this file',
            )
        if not any(rule.key_groups):
            raise RulesError(f'{rule.source}: the matching rule names no keys')
        return rule


def rule_for(
    path: Path, *, config_root: Path | None = None, environ: Mapping[str, str] | None = None
) -> CreationRule:
    """The creation rule sops would apply to a new file at `path`, by the .sops.yaml
    found from `config_root` (default: the file's folder) upwards, or named by
    SOPS_CONFIG in `environ` (default: the process's).

    A relative `path` is taken relative to `config_root` when given (the repository
    root, say), else to the working directory.
    """
    if not path.is_absolute():
        path = (config_root if config_root is not None else Path.cwd()) / path
    start = config_root if config_root is not None else path.parent
    config = find_config(start, environ)
    if config is None:
        raise RulesError(
            f'{path}: no {C.SOPS_CONFIG_FILE} found and no recipients given',
            hint='add creation_rules to .sops.yaml or pass --age/--pgp',
        )
    found = Rules(str(config), load_rules(config))
    return found.rule_for(str(path.absolute()).removeprefix(str(config.absolute().parent) + os.sep))


def matching(rules: list[tuple[str, CreationRule]], relative: str) -> CreationRule | None:
    """The first of RULES whose path_regex matches RELATIVE (a path relative to the
    folder of the .sops.yaml), as sops picks it; None when none does."""
    for pattern, rule in rules:
        if not pattern or go_regex(pattern).search(relative):
            return rule
    return None


def recipient_kind(name: str) -> str:
    """The key kind a recipient's name says: an age recipient, a KMS ARN, a GCP KMS
    resource, an Azure Key Vault or Vault transit key URL; else a PGP fingerprint."""
    if name.startswith(('age1', 'ssh-')):
        return 'age'
    if name.startswith('arn:'):
        return 'kms'
    if name.startswith('projects/'):
        return 'gcp_kms'
    if cloud.is_azure_url(name):
        return 'azure_kv'
    return 'hc_vault' if '://' in name else 'pgp'


def explicit_rule(
    recipients: dict[str, Sequence[str]],
    base: CreationRule | None,
) -> CreationRule:
    """Keys from the command line (by kind: age, pgp, kms, gcp_kms, azure_kv, hc_vault;
    each comma-separated, as sops's flags take them) replace the rule's keys (one
    group)."""
    group = [
        _key(kind, ident, f'--{kind}')
        for kind, given in recipients.items()
        for item in given
        for ident in _split(item, f'--{kind}')
    ]
    selection = base.selection if base is not None else Selection()
    return CreationRule([group], selection, 0, 'command line')


def with_selection(
    rule: CreationRule, chosen: dict[str, str | None], mac_only: bool | None
) -> CreationRule:
    """The rule with its selection overridden, as sops's --encrypted-regex etc. do."""
    given = [(k, v) for k, v in chosen.items() if v is not None]
    if len(given) > 1:
        raise RulesError(f'choose at most one of {", ".join(k for k, _ in given)}')
    selection = rule.selection
    if given:
        selection = Selection(given[0][0], given[0][1], selection.mac_only_encrypted)
    if mac_only is not None:
        selection = Selection(selection.kind, selection.value, mac_only)
    return dataclasses.replace(rule, selection=selection)
