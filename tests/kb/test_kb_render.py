"""Article markdown becomes HTML with no way to run a script, and text with no markup; the
search syntax cannot reach either database's query language."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from contactcenter.kb.query import parse
from contactcenter.kb.render import MARK_END, MARK_START, Renderer, mark_up

# Ways to get a script into HTML, as an author could type them in markdown.
XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    '[x](https://example.com "title\\" onmouseover=\\"alert(1)")',
    "<a href='javascript:alert(1)'>x</a>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<details open ontoggle=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "```html\n<script>alert(1)</script>\n```",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "[x](&#106;avascript:alert(1))",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("markdown", XSS)
def test_no_markdown_renders_a_script(markdown):
    out = Renderer().render(f"Intro\n\n{markdown}\n\nOutro").html
    parsed = _Elements()
    parsed.feed(out)
    assert parsed.tags <= ALLOWED, out
    assert not [name for name, _ in parsed.attributes if name.startswith("on")], out
    urls = [value for name, value in parsed.attributes if name in ("href", "src")]
    assert all(u.startswith(("https://", "http://", "mailto:")) for u in urls), out


ALLOWED = {"p", "a", "img", "pre", "code", "em", "strong"}


class _Elements(HTMLParser):
    """The tags and attributes of HTML, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.add(tag)
        self.attributes += [(name.lower(), (value or "").strip().lower()) for name, value in attrs]


def test_markdown_renders_and_its_text_has_no_markup():
    r = Renderer().render("# Title\n\nSome **bold** and `code`, a [link](https://x.example/a)"
                          " and ![a diagram](https://x.example/d.png).\n\n| a | b |\n|---|---|\n"
                          "| 1 | 2 |\n\n<b>raw</b>")
    assert "<strong>bold</strong>" in r.html and "<code>code</code>" in r.html
    assert '<a href="https://x.example/a" rel="noopener noreferrer nofollow">link</a>' in r.html
    assert '<img src="https://x.example/d.png" alt="a diagram"' in r.html
    assert "<table>" in r.html and "&lt;b&gt;raw&lt;/b&gt;" in r.html
    assert r.text.splitlines() == ["Title", "Some bold and code, a link and a diagram.", "a",
                                   "b", "1", "2", "<b>raw</b>"]


def test_highlight_marks_are_the_only_markup_of_a_snippet():
    # The database hands back the article's text with two private-use characters around each
    # match; the text itself is escaped, and an article cannot bring those characters along.
    assert mark_up(f"a <b>&{MARK_START}x{MARK_END} {MARK_START}y") == \
        "a &lt;b&gt;&amp;<mark>x</mark> <mark>y</mark>"
    assert MARK_START not in Renderer().render(f"a {MARK_START}b{MARK_END}").text


@pytest.mark.parametrize(("typed", "websearch", "fts5"), [
    ("how do I reset my password", "reset password", '("reset" AND "password")'),
    ('"reset link" -sms', '"reset link" -sms', '("reset link" NOT "sms")'),
    ("refund or voucher card", "refund or voucher card",
     '("refund") OR ("voucher" AND "card")'),
    # FTS5's and tsquery's own operators are only words here.
    ('title:x NEAR(a b) c* ^d & e | !f <-> g', '"title x" "near a" b c d e f g',
     '("title x" AND "near a" AND "b" AND "c" AND "d" AND "e" AND "f" AND "g")'),
    ("the", "the", '("the")'),  # stop words only: kept rather than asking nothing
    ("-excluded", "", ""),  # nothing asked for: no search at all
])
def test_the_query_syntax_is_parsed_once_for_both_databases(typed, websearch, fts5):
    query = parse(typed, "en")
    assert query.websearch() == websearch
    assert query.fts5() == fts5
