"""A local HTTP server answering Vault's transit endpoints, as sops calls them.

`PUT|POST /v1/<mount>/encrypt/<name>` with `{"plaintext": base64}` answers
`{"data": {"ciphertext": "vault:v1:...", "key_version": 1}}` (creating the key on first
use, as Vault's transit upsert does); `/v1/<mount>/decrypt/<name>` with
`{"ciphertext": "vault:v1:..."}` answers `{"data": {"plaintext": base64}}`. Requests
without the right `X-Vault-Token` get 403 `{"errors": ["permission denied"]}`, as Vault
answers. Ciphertexts are real AES-GCM under a per-key secret, so a wrong key or a
tampered ciphertext fails as it would. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests._helpers.json_http import JsonHandler
from tests._helpers.json_http import listen

TOKEN = 'hvs.test-token-do-not-print'
_ROUTE = re.compile(r'^/v1/(?P<mount>.+)/(?P<op>encrypt|decrypt)/(?P<name>[^/]+)$')


class FakeVault:
    """Transit keys in memory; `requests` logs (method, path) of every call."""

    def __init__(self, mounts: tuple[str, ...] = ('transit',)) -> None:
        self.mounts = mounts
        self.keys: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonHandler):
            def _handle(self) -> None:
                body = self.read_json({})
                with fake.lock:
                    fake.requests.append((self.command, self.path))
                    if self.headers.get('X-Vault-Token') != TOKEN:
                        self.send_json(403, {'errors': ['permission denied']})
                        return
                    status, data = fake.answer(self.path, body)
                self.send_json(status, data)

            do_PUT = _handle  # the Go client writes with PUT
            do_POST = _handle

        self.server, self.address, self.thread = listen(Handler)

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        match = _ROUTE.match(path)
        if match is None or match['mount'] not in self.mounts:
            return 404, {
                'errors': [
                    f'no handler for route "{path.removeprefix("/v1/")}". route entry not found.'
                ]
            }
        key = (match['mount'], match['name'])
        if match['op'] == 'encrypt':
            secret = self.keys.setdefault(key, os.urandom(32))
            try:
                plain = base64.b64decode(str(body['plaintext']), validate=True)
            except (KeyError, ValueError):
                return 400, {'errors': ['failed to decode plaintext as base64']}
            nonce = os.urandom(12)
            sealed = AESGCM(secret).encrypt(nonce, plain, match['name'].encode())
            ciphertext = 'vault:v1:' + base64.b64encode(nonce + sealed).decode()
            return 200, _response({'ciphertext': ciphertext, 'key_version': 1})
        if key not in self.keys:
            return 400, {'errors': ['encryption key not found']}
        text = str(body.get('ciphertext', ''))
        try:
            raw = base64.b64decode(text.removeprefix('vault:v1:'), validate=True)
            plain = AESGCM(self.keys[key]).decrypt(raw[:12], raw[12:], match['name'].encode())
        except Exception:
            return 400, {'errors': ['invalid ciphertext: unable to decrypt']}
        return 200, _response({'plaintext': base64.b64encode(plain).decode()})

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _response(data: dict[str, Any]) -> dict[str, Any]:
    return {
        'request_id': '00000000-0000-0000-0000-000000000000',
        'lease_id': '',
        'renewable': False,
        'lease_duration': 0,
        'data': data,
        'wrap_info': None,
        'warnings': None,
        'auth': None,
        'mount_type': 'transit',
    }
