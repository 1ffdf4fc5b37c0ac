"""Names and numbers shared across the package."""

from __future__ import annotations

PROJECT_FILE = 'gitops-config.yaml'
SOPS_CONFIG_FILE = '.sops.yaml'
CACHE_DIR = '.gitops-config/cache'
DEPLOYED_TAG_PREFIX = 'deployed/'

# A YAML document may expand its aliases to at most this many nodes in all,
# or this many times its own node count, whichever is larger ("billion laughs").
ALIAS_EXPANSION_FLOOR = 100_000
ALIAS_EXPANSION_FACTOR = 100

# GitHub's limits on what one comment and one job summary may hold.
GITHUB_COMMENT_LIMIT = 65_536
GITHUB_STEP_SUMMARY_LIMIT = 1024 * 1024
STICKY_COMMENT_MARKER = '<!-- gitops-config:sticky-comment -->'
