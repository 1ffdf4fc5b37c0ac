"""A real AWS KMS endpoint on loopback: moto's server (`moto_server`, from the test
extras), reached by the sops binary through AWS_ENDPOINT_URL with dummy credentials."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

_RUNNING = re.compile(r'Running on (http://127\.0\.0\.1:\d+)')


class MotoKms:
    """One moto server process; `create_key()` makes a KMS key and returns its ARN."""

    def __init__(self, log: Path) -> None:
        exe = Path(sys.executable).parent / 'moto_server'
        self.log = log
        with log.open('wb') as out:
            self.process = subprocess.Popen(
                [str(exe), '-H', '127.0.0.1', '-p', '0'], stdout=out, stderr=subprocess.STDOUT
            )
        self.url = self._wait_for_address()

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = _RUNNING.search(self.log.read_text(errors='replace'))
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f'moto_server did not start: {self.log.read_text()[-2000:]}')

    def env(self) -> dict[str, str]:
        """What sops (and the AWS SDK in it) needs to reach this endpoint."""
        return {
            'AWS_ENDPOINT_URL': self.url,
            'AWS_ACCESS_KEY_ID': 'testing',
            'AWS_SECRET_ACCESS_KEY': 'testing',
            'AWS_REGION': 'us-east-1',
            'AWS_DEFAULT_REGION': 'us-east-1',
            'AWS_EC2_METADATA_DISABLED': 'true',
        }

    def call(self, action: str, body: dict[str, object]) -> dict[str, object]:
        """One KMS JSON API call (moto does not check the signature)."""
        request = urllib.request.Request(
            self.url + '/',
            data=json.dumps(body).encode(),
            headers={
                'X-Amz-Target': f'TrentService.{action}',
                'Content-Type': 'application/x-amz-json-1.1',
                'Authorization': 'AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/kms/'
                'aws4_request, SignedHeaders=host, Signature=0',
            },
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            data: dict[str, object] = json.load(answer)
        return data

    def create_key(self) -> str:
        meta = self.call('CreateKey', {})['KeyMetadata']
        assert isinstance(meta, dict)
        return str(meta['Arn'])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
