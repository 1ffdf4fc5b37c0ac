"""Text from a pull request changes nothing in the PR comment but the words shown.

The comment is rendered by cmark-gfm (GitHub's own Markdown parser, through
cmarkgfm), with raw HTML let through as GitHub lets `<details>` and `<img>`
through: the tags of a comment about hostile keys and values must be exactly
the tags of the same comment about plain ones.
"""

from __future__ import annotations

import html.parser
import re

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gitops_config.ignore import Ignored
from gitops_config.ignore import IgnoreRule
from gitops_config.model import Change
from gitops_config.model import ChangeKind
from gitops_config.model import Finding
from gitops_config.model import Location
from gitops_config.model import Severity
from gitops_config.pipeline.results import Cause
from gitops_config.pipeline.results import EnvDiff
from gitops_config.pipeline.results import Review
from gitops_config.report import comment
from gitops_config.report.markdown_text import code
from gitops_config.report.markdown_text import plain

# GitHub's mention and issue-reference syntax, as its filters find them in text
MENTION = re.compile(r'(?:^|[^\w`])@[A-Za-z0-9]')
REFERENCE = re.compile(r'(?:^|[^\w&])#[0-9]')
HOSTILE = [
    'k``</details><img src=https://evil.example/x.png>@acme/admins',
    '`</summary></details><script>alert(1)</script>',
    'see #12 and @octocat | <b>bold</b> **strong** [link](https://evil.example)',
    '\\`` `` `',
    ' padded ',
    '&lt;img&gt; &#64;team',
]


class _Html(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tags.append('/' + tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(markdown: str) -> _Html:
    parsed = _Html()
    parsed.feed(
        cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    )
    return parsed


def _review(text: str) -> Review:
    change = Change(
        'prod',
        f'{text}.yaml',
        f'labels["{text}"]',
        ChangeKind.CHANGED,
        text,
        f'{text}!',
        detail=text,
        document=text,
    )
    finding = Finding(
        'policy/x',
        Severity.ERROR,
        f'{text} is not allowed',
        Location(f'values/{text}.yaml', 3, 1),
        'prod',
    )
    ignored = Ignored(change, IgnoreRule(path='**', reason=text))
    env = EnvDiff(
        'prod',
        [change, change],
        [ignored],
        (Cause(f'values/{text}', 'layer'),),
        errors=(f'prod: {text} did not render',),
        findings=(finding,),
    )
    return Review(
        text, 'working tree', (env, EnvDiff('dev', [change])), sealed=False, fingerprints=False
    )


def _shown(parsed: _Html) -> str:
    return ''.join(parsed.text).replace('\u200b', '')


def _assert_inert(text: str) -> None:
    hostile = _parse(comment.build(_review(text)))
    benign = _parse(comment.build(_review('x')))
    assert hostile.tags == benign.tags
    shown = ''.join(hostile.text)
    assert not MENTION.search(shown), shown
    assert not REFERENCE.search(shown), shown
    # the key, the file and the finding show as written (on one line)
    for written in (f'labels["{text}"]', f'values/{text}.yaml:3:1', f'{text} is not allowed'):
        assert ' '.join(written.splitlines()) in _shown(hostile)


def test_hostile_keys_and_values_render_as_text() -> None:
    for text in HOSTILE:
        _assert_inert(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet='ab `<>/&@#|*_[]()!\\\n-~:;=', min_size=1, max_size=24))
def test_any_text_renders_as_text(text: str) -> None:
    if not text.strip():
        return  # nothing to show
    _assert_inert(text)


def test_a_code_span_is_fenced_past_every_backtick_run() -> None:
    assert code('a``b') == '```a``b```'
    assert code('`a') == '`` `a ``'
    assert code('plain') == '`plain`'
    assert code('a|b', in_table=True) == '`a\\|b`'
    assert plain('<img src=x> @team #1') == '\\<img src=x\\> @\u200bteam #\u200b1'


def test_a_comment_cut_to_its_limit_still_shows_text_as_text() -> None:
    """Past every trim (thousands of errors), the comment is cut to the limit: never
    inside a code span, whose opening fence left alone would let the rest of the line
    (`<img>`, `</details>`) render."""
    errors = tuple(
        f'templates/{i:03}``</details><img src=https://evil.example/x.png>.j2:1: broken'
        for i in range(60)
    )
    review = Review(
        'a', 'b', (EnvDiff('prod', [], errors=errors),), sealed=False, fingerprints=False
    )
    full = len(comment.build(review, limit=10**6))
    for limit in range(full // 2, full // 2 + 160):
        body = comment.build(review, limit=limit)
        assert len(body) <= limit
        tags = _parse(body).tags
        assert 'img' not in tags, (limit, body[-200:])
        assert tags.count('/details') <= tags.count('details'), (limit, body[-200:])
        assert 'comment limit: cut the lines after the last one shown.' in body
