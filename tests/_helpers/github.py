"""A local HTTP server answering the GitHub REST endpoints the tool calls.

Issue comments (list with pagination, create, update), each with the user
who wrote it, pull requests (list by head, create, update) and GET /user;
failures (5xx, rate limits, 401/403/404) on demand. It listens on 127.0.0.1
only.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import Any

from tests._helpers.json_http import JsonHandler
from tests._helpers.json_http import listen

TOKEN = 'ghs_testtoken_do_not_print_1234'
# Who TOKEN acts as: the Actions GITHUB_TOKEN, an app installation token that
# GET /user refuses, as GitHub does.
BOT = {'login': 'github-actions[bot]', 'id': 41898282, 'type': 'Bot'}
AUTHOR = {'login': 'pr-author', 'id': 7, 'type': 'User'}


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
        self.user: dict[str, Any] = BOT  # who sent the request being answered
        self.lock = threading.Lock()
        # token -> the user it acts as; installation tokens cannot ask GET /user
        self.users: dict[str, dict[str, Any]] = {TOKEN: BOT}
        self.installation_tokens = {TOKEN}
        fake = self

        class Handler(JsonHandler):
            def _handle(self) -> None:
                body = self.read_json()
                with fake.lock:
                    fake.requests.append((self.command, self.path))
                    token = self.headers.get('Authorization', '').removeprefix('Bearer ')
                    user = fake.users.get(token)
                    if user is None:
                        self.send_json(401, {'message': 'Bad credentials'})
                        return
                    if fake.fail:
                        status, headers, data = fake.fail.pop(0)
                        self.send_json(status, data, headers)
                        return
                    if self.path == '/user':
                        if token in fake.installation_tokens:
                            self.send_json(
                                403, {'message': 'Resource not accessible by integration'}
                            )
                        else:
                            self.send_json(200, user)
                        return
                    fake.user = user
                    status, data, headers = fake.route(
                        self.command, self.path, body, self.headers.get('Host', '')
                    )
                self.send_json(status, data, headers)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server, self.url, self.thread = listen(Handler)

    def route(
        self,
        method: str,
        path: str,
        body: Any,
        host: str,
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
                chunk = list(items[(page - 1) * size : page * size])
                if self.on_list is not None:  # a racing run acts after our read
                    hook, self.on_list = self.on_list, None
                    hook(self)
                headers = {}
                if page * size < len(items):
                    nxt = f'{self.url}{parts.path}?per_page={size}&page={page + 1}'
                    headers['Link'] = f'<{nxt}>; rel="next"'
                return 200, chunk, headers
            if method == 'POST':
                return 201, self.add_comment(number, body['body'], user=self.user), {}
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
            if method == 'GET':  # list, by head (OWNER:BRANCH) and state, as GitHub does
                state = query.get('state', 'open')
                found = [
                    p
                    for p in self.pulls
                    if query.get('head') in (None, p['head_label']) and state in ('all', p['state'])
                ]
                return 200, found, {}
            if method == 'POST':
                owner = seg[1]
                pull = {
                    'number': len(self.pulls) + 1,
                    'state': 'open',
                    **body,
                    'head_label': f'{owner}:{body["head"]}',
                    'html_url': f'{self.url}/pull/{len(self.pulls) + 1}',
                }
                self.pulls.append(pull)
                return 201, pull, {}
        if rest[0] == 'pulls' and len(rest) == 2 and method == 'PATCH':  # update, close
            number = int(rest[1])
            if not 0 < number <= len(self.pulls):
                return 404, {'message': 'Not Found'}, {}
            if body.get('state', 'open') not in ('open', 'closed'):
                return 422, {'message': 'Validation Failed'}, {}
            pull = self.pulls[number - 1]
            pull.update({k: v for k, v in body.items() if k in ('title', 'body', 'state', 'base')})
            return 200, pull, {}
        return 404, {'message': 'Not Found'}, {}

    def add_comment(
        self,
        number: int,
        body: str,
        *,
        user: dict[str, Any] = BOT,
    ) -> dict[str, Any]:
        """A comment by USER (default: the bot, as an earlier run of ours)."""
        self.next_id += 1
        comment = {'id': self.next_id, 'body': body, 'user': dict(user)}
        self.comments.setdefault(number, []).append(comment)
        return comment
