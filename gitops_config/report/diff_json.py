"""The diff as JSON: a fixed, documented shape, byte-for-byte deterministic.

    {
      "version": 1,
      "status": "changed" | "unchanged" | "error",
      "base": str, "head": str,               # short SHAs or "working tree"
      "sealed": bool,                          # no key: secrets compared by ciphertext
      "fingerprints": bool,                    # secrets carry keyed fingerprints
      "environments": [{
        "name": str,
        "status": "changed" | "unchanged" | "skipped" | "error",
        "summary": {"files", "keys", "secrets", "resealed", "findings", "errors",
                    "ignored": int},
        "causes": [{"path": str, "kind": "project|sops-rules|layer|template|schema"}],
        "errors": [str],
        "changes": [{"file", "document" (str|null), "path", "kind", "old", "new",
                     "secret": bool, "detail" (str|null)}],
        "ignored": [{"file", "document", "path", "kind", "reason"}],
        "findings": [{"rule", "severity", "message", "location", "env"}]
      }]
    }

With --shard I/N the report also holds "shard": {"index": int, "total": int}, which
`gitops-config report merge` uses to combine the shards.

A secret's "old"/"new" is {"masked": true, "fingerprint": str|null, "sealed": bool}.
Keys are sorted, changes keep the engine's order (which follows the inputs).
Fingerprints are keyed by GITOPS_CONFIG_FINGERPRINT_KEY when set, else by a
key derived from the SOPS data keys (stable until a data key is rotated, and
known only to key holders), so the output repeats byte for byte.
"""

from __future__ import annotations

import json
from typing import Any
from typing import TextIO

from gitops_config.impact import summarize
from gitops_config.masking import Masked
from gitops_config.masking import mask_change
from gitops_config.masking import mask_value
from gitops_config.model import Change
from gitops_config.pipeline.results import Review
from gitops_config.report.masked_review import mask_review
from gitops_config.shard import Shard

VERSION = 1


def change_value(value: Any, *, name: str | None = None) -> Any:
    """VALUE (found under the mapping key NAME) as JSON data, secrets masked."""
    value = mask_value(value, None, name=name)
    if isinstance(value, Masked):
        return {'masked': True, 'fingerprint': value.fingerprint, 'sealed': value.sealed}
    if isinstance(value, dict):
        return {str(k): change_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [change_value(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def change_dict(change: Change) -> dict[str, Any]:
    change = mask_change(change)
    return {
        'file': change.file,
        'document': change.document,
        'path': change.path,
        'kind': change.kind.value,
        'old': change_value(change.old),
        'new': change_value(change.new),
        'secret': change.secret,
        'detail': change.detail,
    }


def as_data(review: Review) -> dict[str, Any]:
    review = mask_review(review)
    envs = []
    for env in review.envs:
        impact = summarize(env)
        envs.append(
            {
                'name': env.env,
                'status': impact.status,
                'summary': {
                    'files': impact.files,
                    'keys': impact.keys,
                    'secrets': impact.secrets,
                    'resealed': impact.resealed,
                    'findings': impact.findings,
                    'errors': impact.errors,
                    'ignored': impact.ignored,
                },
                'causes': [{'path': c.path, 'kind': c.kind} for c in env.causes],
                'errors': list(env.errors),
                'changes': [change_dict(c) for c in env.changes],
                'ignored': [
                    {
                        'file': i.change.file,
                        'document': i.change.document,
                        'path': i.change.path,
                        'kind': i.change.kind.value,
                        'reason': i.rule.reason,
                    }
                    for i in env.ignored
                ],
                'findings': [
                    {
                        'rule': f.rule,
                        'severity': f.severity.value,
                        'message': f.message,
                        'location': str(f.location),
                        'env': f.env,
                    }
                    for f in env.findings
                ],
            }
        )
    status = 'error' if review.errors else ('changed' if review.changed else 'unchanged')
    return {
        'version': VERSION,
        'status': status,
        'base': review.base,
        'head': review.head,
        'sealed': review.sealed,
        'fingerprints': review.fingerprints,
        'environments': envs,
    }


def dumps(review: Review, *, shard: Shard | None = None) -> str:
    """The report as JSON text; of SHARD's share of the work, if sharded."""
    data = as_data(review)
    if shard is not None:
        data['shard'] = shard.as_data()
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + '\n'


def write(review: Review, stream: TextIO, *, use_color: bool = False) -> None:
    stream.write(dumps(review))
