from __future__ import annotations

import datetime as dt

import pytest

from gitops_config.model import Location
from gitops_config.policy.load import PolicyConfigError
from gitops_config.policy.waivers import WaiverError
from gitops_config.policy.waivers import parse


def _locate(*path: object) -> Location:
    return Location('gitops-config.yaml', 10 + len(path), 3)


def _raw(**waiver: object) -> dict[str, object]:
    return {'policies': {'waivers': [{'reason': 'migrating', 'expires': '2030-01-31', **waiver}]}}


def test_a_waiver_covers_its_rule_env_file_and_path() -> None:
    [w] = parse(
        _raw(
            rule='secrets/plaintext', env='dev', file='values/*.yaml', path='model_list[*].api_key'
        ),
        _locate,
        {'secrets/plaintext'},
    )
    assert w.covers('secrets/plaintext', 'dev', ['values/dev.yaml'], ('model_list', 0, 'api_key'))
    assert not w.covers(
        'secrets/plaintext', 'prod', ['values/dev.yaml'], ('model_list', 0, 'api_key')
    )
    assert not w.covers(
        'secrets/plaintext', 'dev', ['secrets/dev.yaml'], ('model_list', 0, 'api_key')
    )
    assert not w.covers('secrets/plaintext', 'dev', ['values/dev.yaml'], ('other',))
    assert not w.covers('litellm/rate-limits', 'dev', ['values/dev.yaml'], None)


def test_expiry_is_a_date() -> None:
    [w] = parse(_raw(rule='r'), _locate, {'r'})
    assert w.expires == dt.date(2030, 1, 31)
    assert not w.expired(dt.date(2030, 1, 31))
    assert w.expired(dt.date(2030, 2, 1))


def test_unknown_rule_id_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(PolicyConfigError) as info:
        parse(_raw(rule='secrets/plaintxt'), _locate, {'secrets/plaintext', 'x/y'})
    assert "unknown rule 'secrets/plaintxt'" in info.value.message
    assert info.value.hint == "did you mean 'secrets/plaintext'?"
    assert info.value.location is not None


@pytest.mark.parametrize('expires', ['31/01/2030', '2030-13-01', 'soon', None])
def test_malformed_expiry_is_an_error_at_its_line(expires: object) -> None:
    with pytest.raises(WaiverError) as info:
        parse(_raw(rule='r', expires=expires), _locate, {'r'})
    assert 'YYYY-MM-DD' in (info.value.hint or '')
    assert info.value.location == Location('gitops-config.yaml', 14, 3)
