"""The GitHub REST calls the Action and `promote --open-pr` need, over urllib.

GITHUB_API_URL is honoured (GitHub Enterprise, and the tests' local server).
5xx answers, connection failures and rate limits are retried with exponential
backoff (Retry-After wins when GitHub sends it); 401, 403 and 404 become one
clear line with a hint. The token never appears in a message.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops_config import constants as C
from gitops_config.errors import GitopsConfigError
from gitops_config.redact import Secret

DEFAULT_API_URL = 'https://api.github.com'
# Who the Actions GITHUB_TOKEN posts as. The token is an app installation token:
# GET /user refuses it (403), so its login cannot be asked for.
ACTIONS_BOT = 'github-actions[bot]'
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(GitopsConfigError):
    code = 'github-api'


class RateLimitedError(GitHubError):
    code = 'github-rate-limited'


class ForbiddenError(GitHubError):
    code = 'github-forbidden'


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    data: Any
    headers: dict[str, str]


class Client:
    """One repository on one GitHub API endpoint."""

    def __init__(
        self,
        token: Secret,
        repository: str,
        *,
        api_url: str | None = None,
        retries: int = 4,
        backoff: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if '/' not in repository:
            raise GitHubError(f'repository {repository!r} is not OWNER/NAME')
        self.repository = repository
        self.api_url = (api_url or os.environ.get('GITHUB_API_URL') or DEFAULT_API_URL).rstrip('/')
        self._token = token
        self._retries = retries
        self._backoff = backoff
        self._timeout = timeout
        self._sleep = sleep
        self._login: str | None = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> Client:
        token = os.environ.get('GITHUB_TOKEN') or os.environ.get('GH_TOKEN')
        repository = os.environ.get('GITHUB_REPOSITORY')
        if not token:
            raise GitHubError(
                'no GitHub token: GITHUB_TOKEN is not set',
                hint='pass `github-token: ${{ github.token }}` to the action',
            )
        if not repository:
            raise GitHubError(
                'GITHUB_REPOSITORY is not set',
                hint='run inside GitHub Actions, or set it to OWNER/NAME',
            )
        return cls(Secret(token), repository, **kwargs)

    # -- transport ---------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Response:
        url = path if path.startswith(('http://', 'https://')) else f'{self.api_url}{path}'
        data = json.dumps(body).encode() if body is not None else None
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, url, data)
            except _Retry as retry:
                if attempt > self._retries:
                    raise retry.final from None
                delay = (
                    retry.after if retry.after is not None else (self._backoff * 2 ** (attempt - 1))
                )
                self._sleep(min(delay, 60.0))

    def _once(self, method: str, url: str, data: bytes | None) -> Response:
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header('Accept', 'application/vnd.github+json')
        req.add_header('X-GitHub-Api-Version', '2022-11-28')
        req.add_header('User-Agent', 'gitops-config')
        req.add_header('Authorization', f'Bearer {self._token.reveal()}')
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        shown = f'{method} {urllib.parse.urlsplit(url).path}'
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                raw = resp.read()
                headers = {k.lower(): v for k, v in resp.headers.items()}
                return Response(resp.status, json.loads(raw) if raw else None, headers)
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            message = _message(exc)
            raise _classify(exc.code, headers, message, shown) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, 'reason', exc)
            raise _Retry(
                GitHubError(
                    f'{shown}: cannot reach {self.api_url}: {reason}',
                    hint='check GITHUB_API_URL and the network',
                ),
                None,
            ) from None

    def paginate(self, path: str) -> list[Any]:
        sep = '&' if '?' in path else '?'
        url: str | None = f'{path}{sep}per_page=100'
        items: list[Any] = []
        while url is not None:
            resp = self.request('GET', url)
            items += resp.data or []
            match = _NEXT.search(resp.headers.get('link', ''))
            url = match.group(1) if match else None
        return items

    # -- issue comments ----------------------------------------------------

    def list_comments(self, number: int) -> list[dict[str, Any]]:
        return self.paginate(f'/repos/{self.repository}/issues/{number}/comments')

    def create_comment(self, number: int, body: str) -> dict[str, Any]:
        resp = self.request(
            'POST', f'/repos/{self.repository}/issues/{number}/comments', {'body': body}
        )
        return dict(resp.data)

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        resp = self.request(
            'PATCH', f'/repos/{self.repository}/issues/comments/{comment_id}', {'body': body}
        )
        return dict(resp.data)

    def delete_comment(self, comment_id: int) -> None:
        try:
            self.request('DELETE', f'/repos/{self.repository}/issues/comments/{comment_id}')
        except GitHubError as exc:
            if 'not found' not in exc.message:  # already deleted by a racing run
                raise

    def identity(self) -> str:
        """The login this token acts as: GET /user's, or github-actions[bot] for the
        Actions GITHUB_TOKEN, which /user refuses."""
        if self._login is None:
            try:
                self._login = str(self.request('GET', '/user').data['login'])
            except ForbiddenError:
                self._login = ACTIONS_BOT
        return self._login

    def upsert_sticky_comment(
        self, number: int, body: str, *, marker: str = C.STICKY_COMMENT_MARKER
    ) -> dict[str, Any]:
        """Create or update our one comment carrying MARKER; safe when two runs race.

        Only comments this token's identity wrote count: anyone can paste the
        marker into a comment of their own, and such a comment is never edited
        or deleted. After writing, the comments are listed again: if a racing
        run created a second sticky comment, the oldest one keeps our body and
        the others are deleted, so the pull request ends with exactly one.
        """
        if marker not in body:
            body = f'{marker}\n{body}'
        mine = self._sticky(number, marker)
        if mine:
            comment = self.update_comment(mine[0]['id'], body)
        else:
            comment = self.create_comment(number, body)
            # what GitHub says wrote it is who we are (an app's token has its own bot)
            self._login = _author(comment) or self._login
        again = self._sticky(number, marker)
        if len(again) > 1:
            keep = again[0]
            if keep['id'] != comment['id']:
                comment = self.update_comment(keep['id'], body)
            for extra in again[1:]:
                self.delete_comment(extra['id'])
        return comment

    def update_sticky_comment(
        self, number: int, body: str, *, marker: str = C.STICKY_COMMENT_MARKER
    ) -> dict[str, Any] | None:
        """Update our sticky comment if there is one; never create it."""
        if marker not in body:
            body = f'{marker}\n{body}'
        mine = self._sticky(number, marker)
        return self.update_comment(mine[0]['id'], body) if mine else None

    def _sticky(self, number: int, marker: str) -> list[dict[str, Any]]:
        """The comments of ours that carry MARKER, oldest first."""
        me = self.identity()
        found = [
            c
            for c in self.list_comments(number)
            if marker in (c.get('body') or '') and _author(c) == me
        ]
        return sorted(found, key=lambda c: int(c['id']))

    # -- pull requests -----------------------------------------------------

    def list_pulls(self, head: str, *, state: str = 'open') -> list[dict[str, Any]]:
        owner = self.repository.split('/')[0]
        qs = urllib.parse.urlencode({'head': f'{owner}:{head}', 'state': state})
        return self.paginate(f'/repos/{self.repository}/pulls?{qs}')

    def open_or_update_pull(
        self,
        *,
        head: str,
        base: str,
        title: str,
        body: str,
    ) -> dict[str, Any]:
        """The open pull request from branch HEAD into BASE, created or updated."""
        existing = self.list_pulls(head)
        if existing:
            number = existing[0]['number']
            resp = self.request(
                'PATCH', f'/repos/{self.repository}/pulls/{number}', {'title': title, 'body': body}
            )
            return dict(resp.data)
        resp = self.request(
            'POST',
            f'/repos/{self.repository}/pulls',
            {'head': head, 'base': base, 'title': title, 'body': body},
        )
        return dict(resp.data)

    def close_pull(self, number: int) -> dict[str, Any]:
        resp = self.request(
            'PATCH', f'/repos/{self.repository}/pulls/{number}', {'state': 'closed'}
        )
        return dict(resp.data)


def _author(comment: dict[str, Any]) -> str | None:
    user = comment.get('user')
    return str(user['login']) if isinstance(user, dict) and 'login' in user else None


class _Retry(Exception):
    def __init__(self, final: GitHubError, after: float | None) -> None:
        super().__init__(final.message)
        self.final = final
        self.after = after


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read() or b'{}')
    except (ValueError, OSError):
        return exc.reason or ''
    return str(data.get('message', exc.reason)) if isinstance(data, dict) else str(exc.reason)


def _classify(status: int, headers: dict[str, str], message: str, shown: str) -> Exception:
    after = _retry_after(headers)
    limited = status == 429 or (
        status == 403
        and (headers.get('x-ratelimit-remaining') == '0' or 'rate limit' in message.lower())
    )
    if limited:
        return _Retry(
            RateLimitedError(
                f'{shown}: GitHub rate limit hit ({message})',
                hint='wait and re-run; the limit resets within the hour',
            ),
            after,
        )
    if status >= 500:
        return _Retry(
            GitHubError(
                f'{shown}: GitHub answered {status} ({message})',
                hint='GitHub had an outage; re-run the job',
            ),
            after,
        )
    if status == 401:
        return GitHubError(
            f'{shown}: the GitHub token was rejected (401 {message})',
            hint='check that GITHUB_TOKEN is set and not expired',
        )
    if status == 403:
        return ForbiddenError(
            f'{shown}: the GitHub token lacks permission (403 {message})',
            hint='grant the workflow `permissions: pull-requests: write` (and contents: write '
            'to push branches); tokens of fork PRs are read-only',
        )
    if status == 404:
        return GitHubError(
            f'{shown}: not found (404 {message})',
            hint='check GITHUB_REPOSITORY and the PR number; a token without '
            'access to a private repository also gets 404',
        )
    return GitHubError(f'{shown}: GitHub answered {status} ({message})')


def _retry_after(headers: dict[str, str]) -> float | None:
    if 'retry-after' in headers:
        try:
            return float(headers['retry-after'])
        except ValueError:
            return None
    reset = headers.get('x-ratelimit-reset')
    if headers.get('x-ratelimit-remaining') == '0' and reset and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None
