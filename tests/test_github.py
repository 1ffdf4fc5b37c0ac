from __future__ import annotations

import pytest

from gitops_config import constants as C
from gitops_config.github import Client
from gitops_config.github import GitHubError
from gitops_config.github import RateLimitedError
from gitops_config.redact import Secret
from tests._helpers.github import AUTHOR
from tests._helpers.github import BOT
from tests._helpers.github import TOKEN
from tests._helpers.github import FakeGitHub


def _client(
    fake: FakeGitHub,
    token: str = TOKEN,
    sleeps: list[float] | None = None,
) -> Client:
    return Client(
        Secret(token),
        'acme/config',
        api_url=fake.url,
        retries=3,
        backoff=0.5,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


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


def test_a_comment_of_someone_else_carrying_the_marker_is_left_alone(
    github: FakeGitHub,
) -> None:
    """A PR author pastes the marker into their own comment: it is not ours."""
    theirs = github.add_comment(4, f'{C.STICKY_COMMENT_MARKER}\nmy own words', user=AUTHOR)
    client = _client(github)
    first = client.upsert_sticky_comment(4, 'first run')
    second = _client(github).upsert_sticky_comment(4, 'second run')
    assert first['id'] == second['id'] != theirs['id']
    assert github.comments[4][0] == {**theirs, 'body': f'{C.STICKY_COMMENT_MARKER}\nmy own words'}
    assert [c['user']['login'] for c in github.comments[4]] == ['pr-author', BOT['login']]
    assert github.comments[4][1]['body'].endswith('second run')
    assert not any(
        m in ('PATCH', 'DELETE') and p.endswith(f'/{theirs["id"]}') for m, p in github.requests
    )


def test_update_only_never_touches_a_comment_of_someone_else(github: FakeGitHub) -> None:
    github.add_comment(4, f'{C.STICKY_COMMENT_MARKER}\nmy own words', user=AUTHOR)
    assert _client(github).update_sticky_comment(4, 'no changes') is None
    assert github.comments[4][0]['body'].endswith('my own words')


def test_a_user_token_owns_what_get_user_names(github: FakeGitHub) -> None:
    """A personal token: its comments are the ones by the user GET /user returns; the
    Actions bot's are someone else's."""
    github.users['ghp_personal'] = AUTHOR
    bots = github.add_comment(6, f"{C.STICKY_COMMENT_MARKER}\nthe bot's")
    client = _client(github, token='ghp_personal')
    mine = client.upsert_sticky_comment(6, 'by the user')
    assert client.identity() == 'pr-author'
    assert client.upsert_sticky_comment(6, 'again')['id'] == mine['id'] != bots['id']
    assert github.comments[6][0]['body'].endswith("the bot's")


def test_an_app_token_learns_its_bot_from_the_comment_it_wrote(github: FakeGitHub) -> None:
    """An app's installation token cannot ask GET /user either, and its comments are
    its own bot's: runs still end with one comment, and a user's is never touched."""
    app = {'login': 'review-app[bot]', 'id': 99, 'type': 'Bot'}
    github.users['ghs_app'] = app
    github.installation_tokens.add('ghs_app')
    github.add_comment(8, f'{C.STICKY_COMMENT_MARKER}\nmy own words', user=AUTHOR)
    for run in ('first', 'second', 'third'):
        _client(github, token='ghs_app').upsert_sticky_comment(8, f'{run} run')
    assert [c['user']['login'] for c in github.comments[8]] == ['pr-author', 'review-app[bot]']
    assert github.comments[8][1]['body'].endswith('third run')
    assert github.comments[8][0]['body'].endswith('my own words')


def test_5xx_is_retried_with_backoff(github: FakeGitHub) -> None:
    sleeps: list[float] = []
    github.fail = [(502, {}, {'message': 'Bad Gateway'}), (503, {}, {'message': 'busy'})]
    client = _client(github, sleeps=sleeps)
    client.upsert_sticky_comment(1, 'hello')
    assert sleeps == [0.5, 1.0]
    assert len(github.comments[1]) == 1


def test_secondary_rate_limit_honours_retry_after(github: FakeGitHub) -> None:
    sleeps: list[float] = []
    github.fail = [
        (403, {'Retry-After': '7'}, {'message': 'You have exceeded a secondary rate limit'})
    ]
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
    assert info.value.hint is not None
    assert 'pull-requests: write' in info.value.hint


def test_unknown_repository_is_a_clear_404(github: FakeGitHub) -> None:
    github.fail = [(404, {}, {'message': 'Not Found'})]
    with pytest.raises(GitHubError, match='not found'):
        _client(github).list_comments(1)


def test_open_or_update_pull(github: FakeGitHub) -> None:
    client = _client(github)
    pr = client.open_or_update_pull(
        head='promote/dev-to-prod-abc', base='main', title='t', body='one'
    )
    again = client.open_or_update_pull(
        head='promote/dev-to-prod-abc', base='main', title='t2', body='two'
    )
    assert pr['number'] == again['number'] == 1
    assert len(github.pulls) == 1
    assert github.pulls[0]['body'] == 'two'


def test_api_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('GITHUB_API_URL', 'http://127.0.0.1:9/api/v3/')
    monkeypatch.setenv('GITHUB_TOKEN', TOKEN)
    monkeypatch.setenv('GITHUB_REPOSITORY', 'acme/config')
    client = Client.from_env()
    assert client.api_url == 'http://127.0.0.1:9/api/v3'
    assert TOKEN not in repr(vars(client))
