from __future__ import annotations

from gitops_config.report.ansi import style


def test_style_only_when_asked() -> None:
    assert style('x', fg='red', use=False) == 'x'
    assert style('x', fg=None, use=False, bold=True) == 'x'


def test_style_writes_the_codes_the_terminal_reports_always_wrote() -> None:
    assert style('x', fg='red', use=True) == '\033[31mx\033[0m'
    assert style('x', fg='blue', use=True, bold=True) == '\033[1;34mx\033[0m'
    assert style('x', fg=None, use=True, bold=True) == '\033[1mx\033[0m'
    assert style('x', fg='grey', use=True) == '\033[90mx\033[0m'
