"""What the local stand-ins for JSON APIs (GitHub, Vault) share: a quiet request handler
that reads and answers JSON, and a server on 127.0.0.1 only, on a free port."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass  # a test's output shows what it asserts, not every request

    def read_json(self, empty: Any = None) -> Any:
        """The request body, parsed; EMPTY where there is none."""
        length = int(self.headers.get('Content-Length') or 0)
        return json.loads(self.rfile.read(length)) if length else empty

    def send_json(
        self,
        status: int,
        data: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        """STATUS with DATA as JSON (no body for None), HEADERS first."""
        raw = json.dumps(data).encode() if data is not None else b''
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def listen(handler: type[JsonHandler]) -> tuple[ThreadingHTTPServer, str, threading.Thread]:
    """A server for HANDLER on 127.0.0.1, its URL, and the thread to start it in."""
    server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True
    )
    return server, f'http://127.0.0.1:{server.server_address[1]}', thread
