"""Markdown documentation of rule files, written from the rules themselves.

policies/README.md is this output for the built-in packs; a test keeps the
two identical, so the documented examples are the tested ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from gitops_config import yaml_io
from gitops_config.policy.rules import Rule

INTRO = """\
# Built-in policy packs

Rule files shipped with gitops-config. Each rule is data: an id, a severity, a message, a
`match` (environments, files, kinds), a CEL expression, and PASS/FAIL examples that
`gitops-config policy test --builtin` runs (like `conftest verify`). Nothing here, and nothing
in a config repository's own `policies/`, is ever imported or executed as code.

- `secrets` is always on. A project can waive one of its findings (`policies.waivers`:
  rule, env, file or KEYPATH path, reason, expires) but cannot disable it.
- `litellm` is enabled with `policies: {packs: [litellm]}` in gitops-config.yaml.

This file is generated: `gitops-config policy docs --builtin > policies/README.md`.

## Writing rules

A rule passes when its expression returns `true` or an empty list. `false` is one finding
at the document; each item of a returned list is one finding: a string, or a map with
`message`, `path` (a list of keys and indexes, or a KEYPATH such as `model_list[model_name=x]`),
and for cross-environment rules `env` and `file`. Variables by `scope`:

- `document` (the default): `doc`, `env`, `values` (merged; secrets as `'<secret>'`),
  `file`, `kind` (`rendered` or `layer`);
- `environments`: `envs`, name -> `{values, files: {path: [documents]}}`;
- `change` (`validate --base REV`): `old`, `new` (the document; `old` is null for a new
  file), `env`, `file`, `old_values`, `new_values`;
- `secret-age`: one evaluation per encrypted value of each environment's encrypted
  layers, with `secret` (`path` as a KEYPATH, `keys`, `file`, `line`, `changed` (RFC 3339),
  `commit`, `age_days`, `source`: `git`, `shallow`, `uncommitted` or `lastmodified`), `env`,
  `file` and `today`. `false` is a finding at that value, saying when it last changed (as
  `gitops-config secrets age` shows it). For "prod provider keys rotate every 90 days":
  `{id: prod/key-age, scope: secret-age, match: {environments: [prod]}, message: ...,
  expr: "!secret.path.startsWith('secrets.provider_keys.') || secret.age_days <= 90"}`.

Host functions: `plaintext_secrets(doc)`, `sops_unencrypted(doc, file)`, `indexed(list)`
(`[{index, value}]`), `flatten(list)`; plus CEL's strings, math, optional and bindings
(`cel.bind`) extensions.
"""


def _rule(rule: Rule) -> list[str]:
    scope = '' if rule.scope == 'document' else f', scope {rule.scope}'
    envs = f', environments {", ".join(rule.environments)}' if rule.environments else ''
    out = [f'### `{rule.id}` ({rule.severity.value}{scope}{envs})', '', rule.description, '']
    for example in rule.examples:
        out += [
            f'{example.expect.upper()}:',
            '',
            '```yaml',
            yaml_io.to_yaml(example.data).rstrip('\n'),
            '```',
            '',
        ]
    return out


def markdown(packs: Mapping[str, Sequence[Rule]]) -> str:
    out = [INTRO]
    for name, rules in packs.items():
        out += [f'## Pack `{name}`', '']
        for rule in rules:
            out += _rule(rule)
    return '\n'.join(out).rstrip('\n') + '\n'
