"""set, edit, rotate and updatekeys: ours and sops's, read by the other side."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gitops_config.sops import decrypt_file
from gitops_config.sops import encrypt_text
from gitops_config.sops import ops
from tests.sops.conftest import AgeKey
from tests.sops.conftest import as_sops_prints
from tests.sops.conftest import sops
from tests.sops.conftest import write_rules

CASES = Path(__file__).parent / 'cases'
ENC_LINE = re.compile(r'^(\s*(?:- )?[\w<!]*:? ?)(ENC\[.*\]|#ENC\[.*\])$', re.M)


@pytest.fixture
def encrypted(tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]) -> Path:
    write_rules(tmp_path, f'creation_rules:\n  - age: {age_keys[0].recipient}\n')
    path = tmp_path / 'secrets.yaml'
    path.write_bytes(encrypt_text((CASES / 'types.yaml').read_bytes(), str(path)))
    return path


def _editor(tmp_path: Path, sed: str) -> str:
    script = tmp_path / 'editor.sh'
    script.write_text(f'#!/bin/sh\nsed -i "{sed}" "$1"\n')
    script.chmod(0o755)
    return str(script)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _changed(before: list[str], after: list[str]) -> list[str]:
    """Keys of the lines that differ; lastmodified only ticks when a second passed."""
    assert len(before) == len(after)
    keys = [a.split(':')[0].strip() for b, a in zip(before, after, strict=True) if a != b]
    return [k for k in keys if k != 'lastmodified']


def test_our_set_changes_only_that_value(encrypted: Path) -> None:
    before = _lines(encrypted)
    ops.set_value(encrypted, 'nested.deep.value', 2)
    changed = _changed(before, _lines(encrypted))
    assert changed == ['value', 'mac']
    assert b'        value: 2\n' in sops('decrypt', str(encrypted))


def test_our_set_creates_keys_and_list_selectors(encrypted: Path) -> None:
    ops.set_value(encrypted, 'nested.list[k=v].k2', 'six')
    ops.set_value(encrypted, 'new.path[0]', 'x')
    plain = sops('decrypt', str(encrypted)).decode()
    assert '          k2: six\n' in plain
    assert 'new:\n    path:\n        - x\n' in plain


def test_our_edit_keeps_unchanged_ciphertext(
    encrypted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    private = tmp_path / 'tmp'
    private.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(private))
    before = _lines(encrypted)
    assert ops.edit_file(encrypted, editor=_editor(tmp_path, 's/^str: hello world/str: bye/'))
    # every other value keeps its ciphertext, `whole: 1.0` too: sops shows it to the
    # editor as `1`, which comes back an int (type:int, SPEC 3.4); we show `1.0`
    assert _changed(before, _lines(encrypted)) == ['str', 'mac']
    assert sops('decrypt', str(encrypted)).startswith(b'# head comment\nstr: bye\n')
    # the plaintext directory is gone (the edit locks' folder stays: no plaintext there)
    assert [p.name for p in private.iterdir() if p.name.startswith('gitops-config-edit')] == []


def test_our_edit_without_change_writes_nothing(encrypted: Path, tmp_path: Path) -> None:
    before = encrypted.read_bytes()
    assert not ops.edit_file(encrypted, editor='true')
    assert encrypted.read_bytes() == before


def test_our_rotate_new_key_same_ivs(encrypted: Path) -> None:
    before = encrypted.read_text()
    expected = decrypt_file(encrypted)
    ops.rotate_file(encrypted)
    after = encrypted.read_text()
    ivs = re.compile(r'data:[^,]*,iv:([^,]*),')
    old_values = [m.group(0) for m in ivs.finditer(before)]
    new_values = [m.group(0) for m in ivs.finditer(after)]
    assert [v.split(',iv:')[1] for v in old_values[:-1]] == [
        v.split(',iv:')[1] for v in new_values[:-1]
    ]  # the MAC (last) gets a fresh IV
    assert old_values[0] != new_values[0]
    printed = sops('decrypt', str(encrypted))
    assert as_sops_prints(expected, printed) == printed


def test_our_updatekeys_rewraps_only(
    encrypted: Path, tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    before = encrypted.read_text()
    write_rules(
        tmp_path, f'creation_rules:\n  - age: {age_keys[0].recipient},{age_keys[1].recipient}\n'
    )
    assert ops.updatekeys_file(encrypted)
    after = encrypted.read_text()
    assert age_keys[1].recipient in after
    body = before.split('\nsops:\n')[0]
    assert after.split('\nsops:\n')[0] == body
    for field in ('lastmodified', 'mac'):
        line = next(x for x in before.splitlines() if x.strip().startswith(field + ':'))
        assert line in after.splitlines()
    assert not ops.updatekeys_file(encrypted)  # nothing left to do
    assert sops('decrypt', str(encrypted), env={'SOPS_AGE_KEY_FILE': str(age_keys[1].file)})


def _we_print_what_sops_prints(path: Path) -> None:
    printed = sops('decrypt', str(path))
    assert as_sops_prints(decrypt_file(path), printed) == printed


def test_we_read_what_sops_set_edit_rotate_updatekeys_wrote(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    write_rules(tmp_path, f'creation_rules:\n  - age: {age_keys[0].recipient}\n')
    path = tmp_path / 'theirs.yaml'
    shutil.copy(CASES / 'types.yaml', path)
    sops('encrypt', '-i', str(path), cwd=tmp_path)
    sops('set', str(path), '["nested"]["deep"]["value"]', '"set by sops"', cwd=tmp_path)
    _we_print_what_sops_prints(path)
    editor = _editor(tmp_path, 's/^int: 42/int: 43/')
    sops('edit', str(path), cwd=tmp_path, env={'EDITOR': editor, 'SOPS_EDITOR': editor})
    assert b'int: 43\n' in decrypt_file(path)
    _we_print_what_sops_prints(path)
    sops('rotate', '-i', str(path), cwd=tmp_path)
    _we_print_what_sops_prints(path)
    write_rules(tmp_path, f'creation_rules:\n  - age: {age_keys[1].recipient}\n')
    sops('updatekeys', '-y', str(path), cwd=tmp_path)
    assert age_keys[1].recipient in path.read_text()
    _we_print_what_sops_prints(path)


def test_our_edit_reopens_the_editor_on_invalid_yaml(encrypted: Path, tmp_path: Path) -> None:
    script = tmp_path / 'editor.sh'
    marker = tmp_path / 'second-time'
    # first run: break the YAML; second run: fix it properly
    script.write_text(
        f'#!/bin/sh\nif [ -e {marker} ]; then sed -i "s/^int: .*/int: 7/" "$1"\n'
        f'else touch {marker}; sed -i "s/^int: 42/int: [oops/" "$1"; fi\n'
    )
    script.chmod(0o755)
    asked: list[str] = []

    def retry(message: str) -> bool:
        asked.append(message)
        return True

    assert ops.edit_file(encrypted, editor=str(script), retry=retry)
    assert len(asked) == 1
    assert b'\nint: 7\n' in decrypt_file(encrypted)


def test_our_edit_invalid_yaml_without_retry_saves_nothing(encrypted: Path, tmp_path: Path) -> None:
    from gitops_config.sops.errors import SopsError

    before = encrypted.read_bytes()
    with pytest.raises(SopsError, match='nothing was saved'):
        ops.edit_file(encrypted, editor=_editor(tmp_path, 's/^int: 42/int: [oops/'))
    assert encrypted.read_bytes() == before


def test_our_rotate_and_updatekeys_with_key_groups(
    tmp_path: Path, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    one, two = age_keys[0].recipient, age_keys[1].recipient
    write_rules(
        tmp_path, f'creation_rules:\n  - key_groups:\n      - age: [{one}]\n      - age: [{two}]\n'
    )
    path = tmp_path / 'groups.yaml'
    path.write_bytes(encrypt_text('a: 1\nb: two\n', str(path)))
    ops.rotate_file(path)
    assert 'shamir_threshold: 2' in path.read_text()
    assert sops('decrypt', str(path)) == b'a: 1\nb: two\n'
    write_rules(
        tmp_path,
        f'creation_rules:\n  - shamir_threshold: 1\n    key_groups:\n'
        f'      - age: [{one}]\n      - age: [{two}]\n',
    )
    assert not ops.updatekeys_file(path)  # same keys: nothing to do
    write_rules(tmp_path, f'creation_rules:\n  - age: [{one}, {two}]\n')
    assert ops.updatekeys_file(path)
    assert 'key_groups' not in path.read_text()
    assert (
        sops('decrypt', str(path), env={'SOPS_AGE_KEY_FILE': str(age_keys[1].file)})
        == b'a: 1\nb: two\n'
    )
