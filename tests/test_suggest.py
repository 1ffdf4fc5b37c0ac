"""A hint names the known name closest to a misspelt one, or says what there is."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_config.errors import InvalidProjectError
from gitops_config.policy.load import PolicyConfigError
from gitops_config.policy.load import load_rules
from gitops_config.project import load
from gitops_config.source import WorkTree
from gitops_config.suggest import did_you_mean


def test_the_closest_known_name_or_none() -> None:
    assert did_you_mean('replcas', ['image', 'replicas']) == "did you mean 'replicas'?"
    assert did_you_mean('zzz', ['image', 'replicas']) is None
    assert did_you_mean('1', [1, 2]) == "did you mean '1'?"  # YAML keys of any type


def test_an_unknown_pack_is_suggested_or_the_packs_listed(tmp_path: Path) -> None:
    source = WorkTree(tmp_path)
    with pytest.raises(PolicyConfigError) as info:
        load_rules(source, {'policies': {'packs': ['secretz']}})
    assert info.value.hint == "did you mean 'secrets'?"
    with pytest.raises(PolicyConfigError) as info:
        load_rules(source, {'policies': {'packs': ['zzzzzz']}})
    assert info.value.hint is not None
    assert info.value.hint.startswith('built-in packs: ')
    assert 'secrets' in info.value.hint


def test_an_unknown_key_far_from_any_lists_what_is_allowed(tmp_path: Path) -> None:
    (tmp_path / 'gitops-config.yaml').write_text(
        'environments:\n  - name: dev\n    layers: [a.yaml]\n    zzzzzz: 1\n'
    )
    with pytest.raises(InvalidProjectError, match="unknown key 'zzzzzz'") as info:
        load(WorkTree(tmp_path))
    assert info.value.hint is not None
    assert info.value.hint.startswith('allowed here: ')
    assert 'layers' in info.value.hint
