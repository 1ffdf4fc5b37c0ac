"""What a kept output depends on: the values a template read, hashed; never a secret."""

from __future__ import annotations

from gitops_config.incremental.dependencies import MISSING
from gitops_config.incremental.dependencies import Hasher
from gitops_config.incremental.dependencies import dependencies
from gitops_config.incremental.dependencies import still_valid
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.render import prepare
from gitops_config.trace import Recorder
from gitops_config.values import Values


def _hasher(data: dict[str, object]) -> Hasher:
    return Hasher(prepare(Values('dev', data)))  # made without layers: may hold secrets


def test_a_path_holding_a_secret_has_no_hash_and_nothing_inside_it_is_read() -> None:
    hasher = _hasher(
        {'db': {'password': Secret('hunter22'), 'host': 'h'}, 'sealed': SealedSecret('ENC[x]')}
    )
    assert hasher.digest(('db', 'password')) is None
    assert hasher.digest(('db',)) is None  # a container holding one
    assert hasher.digest(()) is None
    assert hasher.digest(('sealed',)) is None
    # a step into a secret finds nothing, as a step into a Secret does: not its first letter
    assert hasher.digest(('db', 'password', 0)) == MISSING
    assert hasher.digest(('db', 'host')) is not None


def test_the_hash_of_plain_values_is_the_same_beside_a_secret_or_not() -> None:
    plain = _hasher({'app': {'replicas': 2, 'tags': ['a', 1]}, 'other': 1})
    beside = _hasher({'app': {'replicas': 2, 'tags': ['a', 1]}, 'other': Secret('x' * 20)})
    for path in (('app',), ('app', 'replicas'), ('app', 'tags'), ('nothing',)):
        assert plain.digest(path) == beside.digest(path) is not None


def test_values_yaml_tells_apart_hash_apart() -> None:
    digests = {_hasher({'n': n}).digest(('n',)) for n in (1, 1.0, True, '1', None)}
    assert len(digests) == 5


def test_a_trace_holds_while_what_it_read_is_unchanged() -> None:
    rec = Recorder()
    rec.whole.add(('app', 'replicas'))
    rec.missing.add(('absent',))
    deps = dependencies(rec, _hasher({'app': {'replicas': 2, 'name': 'a'}}))
    assert deps is not None
    assert still_valid(deps, _hasher({'app': {'replicas': 2, 'name': 'changed'}}))
    assert not still_valid(deps, _hasher({'app': {'replicas': 3, 'name': 'a'}}))
    assert not still_valid(deps, _hasher({'app': {'replicas': 2}, 'absent': 1}))
    rec.whole.add(('key',))
    assert dependencies(rec, _hasher({'app': {'replicas': 2}, 'key': Secret('k' * 20)})) is None
