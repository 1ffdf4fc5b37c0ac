from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from gitops_config import constants as C
from gitops_config.github import Client
from gitops_config.github import GitHubError
from gitops_config.github import RateLimitedError
from gitops_config.redact import Secret

TOKEN = 'ghs_testtoken_do_not_print_1234'


class FakeGitHub:
    """The endpoints we call, in memory, on 127.0.0.1; `fail` queues error answers."""

    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.pulls: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.fail: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.page_size = 100
        self.next_id = 1000
        self.on_list: Any = None  # hook run before answering a comment list (races)
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, data: Any, headers: dict[str, str] | None = None,
                      ) -> None:
                raw = json.dumps(data).encode() if data is not None else b''
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with fake.lock:
                    fake.requests.append((self.command, self.path))
                    if self.headers.get('Authorization') != f'Bearer {TOKEN}':
                        self._send(401, {'message': 'Bad credentials'})
                        return
                    if fake.fail:
                        status, headers, data = fake.fail.pop(0)
                        self._send(status, data, headers)
                        return
                    status, data, headers = fake.route(self.command, self.path, body,
                                                       self.headers.get('Host', ''))
                self._send(status, data, headers)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.02}, daemon=True)

    def route(self, method: str, path: str, body: Any, host: str,
              ) -> tuple[int, Any, dict[str, str]]:
        parts = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        seg = parts.path.strip('/').split('/')
        if seg[:1] != ['repos'] or len(seg) < 4:
            return 404, {'message': 'Not Found'}, {}
        rest = seg[3:]
        if rest[0] == 'issues' and len(rest) == 3 and rest[2] == 'comments':
            number = int(rest[1])
            items = self.comments.setdefault(number, [])
            if method == 'GET':
                page = int(query.get('page', '1'))
                size = min(int(query.get('per_page', '30')), self.page_size)
                chunk = list(items[(page - 1) * size:page * size])
                if self.on_list is not None:  # a racing run acts after our read
                    hook, self.on_list = self.on_list, None
                    hook(self)
                headers = {}
                if page * size < len(items):
                    nxt = f'{self.url}{parts.path}?per_page={size}&page={page + 1}'
                    headers['Link'] = f'<{nxt}>; rel="next"'
                return 200, chunk, headers
            if method == 'POST':
                return 201, self.add_comment(number, body['body']), {}
        if rest[:2] == ['issues', 'comments'] and len(rest) == 3:
            cid = int(rest[2])
            for items in self.comments.values():
                for c in items:
                    if c['id'] == cid:
                        if method == 'PATCH':
                            c['body'] = body['body']
                            return 200, c, {}
                        if method == 'DELETE':
                            items.remove(c)
                            return 204, None, {}
            return 404, {'message': 'Not Found'}, {}
        if rest == ['pulls']:
            if method == 'GET':
                found = [p for p in self.pulls if query.get('head') == p['head_label']
                         and p['state'] == query.get('state', 'open')]
                return 200, found, {}
            if method == 'POST':
                owner = seg[1]
                pull = {'number': len(self.pulls) + 1, 'state': 'open', **body,
                        'head_label': f'{owner}:{body["head"]}',
                        'html_url': f'{self.url}/pull/{len(self.pulls) + 1}'}
                self.pulls.append(pull)
                return 201, pull, {}
        if rest[0] == 'pulls' and len(rest) == 2 and method == 'PATCH':
            pull = self.pulls[int(rest[1]) - 1]
            pull.update(body)
            return 200, pull, {}
        return 404, {'message': 'Not Found'}, {}

    def add_comment(self, number: int, body: str) -> dict[str, Any]:
        self.next_id += 1
        comment = {'id': self.next_id, 'body': body}
        self.comments.setdefault(number, []).append(comment)
        return comment


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def _client(fake: FakeGitHub, token: str = TOKEN, sleeps: list[float] | None = None,
            ) -> Client:
    return Client(Secret(token), 'acme/config', api_url=fake.url, retries=3, backoff=0.5,
                  sleep=(sleeps.append if sleeps is not None else lambda s: None))


def test_sticky_comment_created_then_updated_in_place(github: FakeGitHub) -> None:
    client = _client(github)
    github.add_comment(7, 'an unrelated human comment')
    first = client.upsert_sticky_comment(7, 'first run')
    second = client.upsert_sticky_comment(7, 'second run')
    assert first['id'] == second['id']
    sticky = [c for c in github.comments[7] if C.STICKY_COMMENT_MARKER in c['body']]
    assert len(sticky) == 1
    assert sticky[0]['body'].endswith('second run')
    assert len(github.comments[7]) == 2  # the human comment is untouched


def test_sticky_comment_found_across_pages(github: FakeGitHub) -> None:
    github.page_size = 2
    for i in range(5):
        github.add_comment(3, f'chatter {i}')
    github.add_comment(3, f'{C.STICKY_COMMENT_MARKER}\nold')
    client = _client(github)
    client.upsert_sticky_comment(3, 'new')
    assert [c['body'] for c in github.comments[3]][-1].endswith('new')
    assert len(github.comments[3]) == 6
    assert sum(1 for m, p in github.requests if m == 'GET' and 'page=3' in p) >= 1


def test_racing_runs_end_with_one_comment(github: FakeGitHub) -> None:
    client = _client(github)

    # the other run creates its comment between our list and our create
    def other_run(fake: FakeGitHub) -> None:
        fake.add_comment(9, f'{C.STICKY_COMMENT_MARKER}\nfrom the other run')

    github.on_list = other_run
    client.upsert_sticky_comment(9, 'ours')
    sticky = [c for c in github.comments[9] if C.STICKY_COMMENT_MARKER in c['body']]
    assert len(sticky) == 1
    assert sticky[0]['body'].endswith('ours')
    assert sticky[0]['id'] == 1001  # the older comment was kept, ours deleted
    assert ('DELETE', '/repos/acme/config/issues/comments/1002') in github.requests


def test_5xx_is_retried_with_backoff(github: FakeGitHub) -> None:
    sleeps: list[float] = []
    github.fail = [(502, {}, {'message': 'Bad Gateway'}), (503, {}, {'message': 'busy'})]
    client = _client(github, sleeps=sleeps)
    client.upsert_sticky_comment(1, 'hello')
    assert sleeps == [0.5, 1.0]
    assert len(github.comments[1]) == 1


def test_secondary_rate_limit_honours_retry_after(github: FakeGitHub) -> None:
    sleeps: list[float] = []
    github.fail = [(403, {'Retry-After': '7'},
                    {'message': 'You have exceeded a secondary rate limit'})]
    client = _client(github, sleeps=sleeps)
    client.upsert_sticky_comment(1, 'hello')
    assert sleeps == [7.0]
    assert len(github.comments[1]) == 1


def test_rate_limit_gives_up_with_a_clear_error_and_no_comment(github: FakeGitHub) -> None:
    github.fail = [(429, {'Retry-After': '1'}, {'message': 'slow down'})] * 10
    client = _client(github)
    with pytest.raises(RateLimitedError, match='rate limit') as info:
        client.upsert_sticky_comment(1, 'hello')
    assert TOKEN not in str(info.value) + str(info.value.hint)
    assert github.comments.get(1, []) == []


def test_bad_token_is_a_clear_401(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match='token was rejected') as info:
        _client(github, token='wrong').list_comments(1)
    assert 'wrong' not in info.value.message
    assert len(github.requests) == 1  # 401 is not retried


def test_token_without_permission_is_a_clear_403(github: FakeGitHub) -> None:
    github.fail = [(403, {}, {'message': 'Resource not accessible by integration'})]
    with pytest.raises(GitHubError, match='lacks permission') as info:
        _client(github).create_comment(1, 'x')
    assert info.value.hint is not None and 'pull-requests: write' in info.value.hint


def test_unknown_repository_is_a_clear_404(github: FakeGitHub) -> None:
    github.fail = [(404, {}, {'message': 'Not Found'})]
    with pytest.raises(GitHubError, match='not found'):
        _client(github).list_comments(1)


def test_open_or_update_pull(github: FakeGitHub) -> None:
    client = _client(github)
    pr = client.open_or_update_pull(head='promote/dev-to-prod-abc', base='main', title='t',
                                    body='one')
    again = client.open_or_update_pull(head='promote/dev-to-prod-abc', base='main', title='t2',
                                       body='two')
    assert pr['number'] == again['number'] == 1
    assert len(github.pulls) == 1 and github.pulls[0]['body'] == 'two'


def test_api_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('GITHUB_API_URL', 'http://127.0.0.1:9/api/v3/')
    monkeypatch.setenv('GITHUB_TOKEN', TOKEN)
    monkeypatch.setenv('GITHUB_REPOSITORY', 'acme/config')
    client = Client.from_env()
    assert client.api_url == 'http://127.0.0.1:9/api/v3'
    assert TOKEN not in repr(vars(client))
