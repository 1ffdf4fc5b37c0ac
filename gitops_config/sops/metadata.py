"""The `sops` metadata section: read from any layout, written in the 3.10-3.12 one."""

from __future__ import annotations

from typing import Any
from typing import NamedTuple

from gitops_config.regex import RegexError
from gitops_config.sops.errors import SopsFormatError
from gitops_config.sops.tree import SELECTORS
from gitops_config.sops.tree import Selection
from gitops_config.sops.tree import Timestamp
from gitops_config.sops.tree import go_regex

VERSION = '3.11.0'  # the sops format version we write (the reference binary)

# Master key kinds in the order sops writes them in a flat (one group) layout.
KINDS = ('kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault', 'age', 'pgp')
# Field order of each entry, as the Go structs declare them.
FIELDS = {
    'age': ('recipient', 'enc'),
    'pgp': ('created_at', 'enc', 'fp'),
    'kms': ('arn', 'role', 'context', 'created_at', 'enc', 'aws_profile'),
    'gcp_kms': ('resource_id', 'created_at', 'enc'),
    'hckms': ('key_id', 'created_at', 'enc'),
    'azure_kv': ('vault_url', 'name', 'version', 'created_at', 'enc'),
    'hc_vault': ('vault_address', 'engine_path', 'key_name', 'created_at', 'enc'),
}


class MasterKey(NamedTuple):
    kind: str
    fields: dict[str, Any]

    @property
    def enc(self) -> str:
        return str(self.fields.get('enc') or '')

    def identity(self) -> str:
        """What names this key to a user: age recipient, PGP fingerprint, ARN..."""
        f = self.fields
        name = {
            'age': f.get('recipient'),
            'pgp': f.get('fp'),
            'kms': f.get('arn'),
            'gcp_kms': f.get('resource_id'),
            'hckms': f.get('key_id'),
            'azure_kv': f'{f.get("vault_url")}/keys/{f.get("name")}/{f.get("version")}',
            'hc_vault': f'{f.get("vault_address")}/v1/{f.get("engine_path")}/keys/'
            f'{f.get("key_name")}',
        }[self.kind]
        return str(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in FIELDS[self.kind]:
            value = self.fields.get(name)
            if name in ('role', 'context') and not value:
                continue  # omitempty in the Go struct
            out[name] = value if value is not None else ''
        return out


class Metadata:
    __slots__ = ('key_groups', 'lastmodified', 'mac', 'selection', 'shamir_threshold', 'version')

    def __init__(
        self,
        key_groups: list[list[MasterKey]],
        selection: Selection | None = None,
        shamir_threshold: int = 0,
        lastmodified: str = '',
        mac: str = '',
        version: str = VERSION,
    ) -> None:
        self.key_groups = key_groups
        self.selection = selection if selection is not None else Selection()
        self.shamir_threshold = shamir_threshold
        self.lastmodified = lastmodified
        self.mac = mac
        self.version = version

    def master_keys(self) -> list[MasterKey]:
        return [k for g in self.key_groups for k in g]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.shamir_threshold:
            out['shamir_threshold'] = self.shamir_threshold
        if len(self.key_groups) > 1:
            out['key_groups'] = [_group_dict(g) for g in self.key_groups]
        else:
            group = self.key_groups[0] if self.key_groups else []
            for kind in KINDS[:-1]:
                entries = [k.to_dict() for k in group if k.kind == kind]
                if entries:
                    out[kind] = entries
        out['lastmodified'] = self.lastmodified
        out['mac'] = self.mac
        if len(self.key_groups) <= 1:
            pgp = [k.to_dict() for g in self.key_groups for k in g if k.kind == 'pgp']
            if pgp:
                out['pgp'] = pgp
        out[self.selection.kind] = self.selection.value
        if self.selection.mac_only_encrypted:
            out['mac_only_encrypted'] = True
        out['version'] = self.version
        return out


def _group_dict(group: list[MasterKey]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ('pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv'):
        entries = [k.to_dict() for k in group if k.kind == kind]
        if entries:
            out[kind] = entries
    out['hc_vault'] = [k.to_dict() for k in group if k.kind == 'hc_vault']
    out['age'] = [k.to_dict() for k in group if k.kind == 'age']
    return out


def _group_from(raw: dict[str, Any]) -> list[MasterKey]:
    group: list[MasterKey] = []
    for kind in ('age', 'pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault'):
        for entry in raw.get(kind) or []:
            if not isinstance(entry, dict):
                raise SopsFormatError(f'sops metadata: {kind} entries must be mappings')
            group.append(MasterKey(kind, {str(k): v for k, v in entry.items()}))
    return group


def from_dict(raw: object) -> Metadata:
    """Build Metadata from the parsed `sops` mapping of any sops version."""
    if not isinstance(raw, dict):
        raise SopsFormatError('the sops metadata section is not a mapping')
    version = raw.get('version')
    if not isinstance(version, str):
        # sops 1.x wrote a JSON number; Go sops 3 refuses it, we accept it
        version = str(version) if version is not None else ''
    flat = _group_from(raw)
    if flat:
        groups = [flat]
    else:
        groups = [_group_from(g) for g in raw.get('key_groups') or [] if isinstance(g, dict)]
    chosen = [k for k in SELECTORS if raw.get(k)]
    if len(chosen) > 1:
        raise SopsFormatError(f'sops metadata sets more than one of {", ".join(chosen)}')
    mac_only = bool(raw.get('mac_only_encrypted'))
    if chosen and chosen[0].endswith('_regex'):
        try:  # a file from a pull request may carry any pattern: refused here, by name
            go_regex(str(raw[chosen[0]]))
        except RegexError as exc:
            raise SopsFormatError(
                f'sops metadata {chosen[0]}: {exc.message}', hint=exc.hint
            ) from None
    if chosen:
        selection = Selection(chosen[0], str(raw[chosen[0]]), mac_only)
    else:
        selection = Selection(mac_only_encrypted=mac_only)
    return Metadata(
        key_groups=groups,
        selection=selection,
        shamir_threshold=int(raw.get('shamir_threshold') or 0),
        lastmodified=_text(raw.get('lastmodified')),
        mac=_text(raw.get('mac')),
        version=version,
    )


def _text(value: object) -> str:
    if isinstance(value, Timestamp):
        return value.text  # an unquoted lastmodified that YAML read as a time
    return '' if value is None else str(value)
