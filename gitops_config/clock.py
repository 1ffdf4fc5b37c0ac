"""What time it is: the system clock, or GITOPS_CONFIG_NOW for reproducible runs.

Asked once per command, when its run is made (run.py), and passed on as a value:
ages and expiry dates count to one instant, and tests set it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime

from gitops_config.errors import UsageError

ENV = 'GITOPS_CONFIG_NOW'


def now(environ: Mapping[str, str] | None = None) -> datetime:
    """The time, timezone-aware: GITOPS_CONFIG_NOW of ENVIRON (default: this process's;
    ISO 8601, a date or a date and time; UTC unless it says otherwise) when set, else
    the system clock."""
    text = (os.environ if environ is None else environ).get(ENV)
    if not text:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f'{ENV}={text!r} is not an ISO 8601 time',
            hint='write it as 2026-12-01 or 2026-12-01T09:30:00Z',
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
