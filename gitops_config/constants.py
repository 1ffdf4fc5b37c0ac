"""Names and numbers shared across the package."""

from __future__ import annotations

PROJECT_FILE = 'gitops-config.yaml'
SOPS_CONFIG_FILE = '.sops.yaml'
DEPLOYED_TAG_PREFIX = 'deployed/'

# A YAML stream may expand its aliases to at most this many nodes, plus this
# many times its own node count ("billion laughs").
ALIAS_EXPANSION_FLOOR = 100_000
ALIAS_EXPANSION_FACTOR = 100
# A YAML stream's aliases may expand it to at most this many bytes of keys and
# scalars, or this many times its own size: few nodes can still be a bomb (a 1 MB
# string aliased 2,000 times is 2 GB for whatever walks the values).
ALIAS_BYTES_FLOOR = 8 * 1024 * 1024
ALIAS_BYTES_FACTOR = 10
# How deep mappings and lists may nest in a YAML document. Everything that reads
# values walks them recursively within Python's recursion limit; real
# configuration nests a few dozen levels at most.
YAML_MAX_DEPTH = 100

# GitHub's limits on what one comment and one job summary may hold.
GITHUB_COMMENT_LIMIT = 65_536
GITHUB_STEP_SUMMARY_LIMIT = 1024 * 1024
STICKY_COMMENT_MARKER = '<!-- gitops-config:sticky-comment -->'
