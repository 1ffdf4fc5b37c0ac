"""JUnit XML: one test case per checked file, one failure per finding (CI test tabs read it)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from typing import TextIO

from gitops_config.model import Finding
from gitops_config.model import Severity

if TYPE_CHECKING:
    from gitops_config.pipeline.results import CheckResult


def _fails(f: Finding, strict: bool) -> bool:
    return f.severity is Severity.ERROR or (strict and f.severity is Severity.WARNING)


def write(result: CheckResult, stream: TextIO, *, use_color: bool = False) -> None:
    by_file: dict[str, list[Finding]] = {path: [] for path in result.checked}
    for f in result.findings:
        by_file.setdefault(f.location.path, []).append(f)
    failing = sum(1 for items in by_file.values() if any(_fails(f, result.strict) for f in items))
    suite = ET.Element(
        'testsuite',
        name='gitops-config validate',
        tests=str(len(by_file)),
        failures=str(failing),
        errors='0',
        skipped='0',
    )
    for path, items in by_file.items():
        case = ET.SubElement(suite, 'testcase', classname='gitops-config', name=path)
        for f in items:
            tag = 'failure' if _fails(f, result.strict) else 'system-out'
            where = str(f.location) + (f' (edit {f.origin})' if f.origin else '')
            text = f'{where}: {f.message}' + (f'\nhint: {f.hint}' if f.hint else '')
            if tag == 'failure':
                node = ET.SubElement(case, tag, type=f.rule, message=f.message)
            else:
                node = ET.SubElement(case, tag)
                text = f'{f.severity.value}: {text}'
            node.text = text
    suites = ET.Element('testsuites')
    suites.append(suite)
    ET.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suites, encoding='unicode') + '\n')
