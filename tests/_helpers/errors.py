"""What a user sees of an error: one line, no traceback."""

from __future__ import annotations


def template_error(stderr: str, *needles: str) -> str:
    """The first line of STDERR, checked to be a template error holding every NEEDLE."""
    assert 'Traceback' not in stderr
    first = stderr.splitlines()[0]
    assert first.startswith('error: template: '), stderr
    for needle in needles:
        assert needle in first, stderr
    return first
