"""The YAML gateway: the only package that imports a YAML library.

fast: libyaml's C parser with go-yaml v3 semantics, for everything that reads.
dump: deterministic output that YAML 1.1 and 1.2 readers read alike.
edit: minimal, byte-preserving edits of a file's text, for everything that writes.
"""

from __future__ import annotations

from gitops_config.yaml_io.dump import to_json
from gitops_config.yaml_io.dump import to_yaml
from gitops_config.yaml_io.fast import Tagged
from gitops_config.yaml_io.fast import load
from gitops_config.yaml_io.fast import load_all
from gitops_config.yaml_io.fast import load_all_located
from gitops_config.yaml_io.fast import resolve_plain

__all__ = [
    'Tagged',
    'load',
    'load_all',
    'load_all_located',
    'resolve_plain',
    'to_json',
    'to_yaml',
]
