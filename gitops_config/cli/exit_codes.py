"""What each exit code means; shown in `gitops-config --help`."""

from __future__ import annotations

OK = 0
FINDINGS = 1  # findings, or differences with --exit-code (like `git diff`)
USAGE = 2  # click's UsageError default
CANNOT_RUN = 3  # bad config, bad YAML, missing key, git failure
INTERNAL = 4
INTERRUPTED = 130

HELP = (
    'Exit codes: 0 clean; 1 findings or differences; 2 usage error; '
    '3 could not run; 4 internal error; 130 interrupted.'
)
