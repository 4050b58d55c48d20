"""HTML of mails: sanitised with nh3 before anyone sees it, and turned into plain text when a
mail has no text alternative. Pure.

Design note: the allow-list is small on purpose: text structure, links and tables. Scripts,
styles, forms, frames, event handlers and ``javascript:`` URLs never pass; images are left
out too (remote ones tell the sender when and where the mail was read; ``cid:`` ones would
need attachment serving, not built yet), their ``alt`` text stays. The agent's page shows the
result in a sandboxed frame on top of this.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "li", "ol", "p", "pre",
    "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"},
              "th": {"colspan", "rowspan"}, "ol": {"start"}}
# Removed with everything inside them (not only the tags).
DROP_WITH_CONTENT = {"script", "style", "title", "head", "noscript", "template", "iframe",
                     "object", "embed", "svg", "math", "select", "textarea", "button"}
BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "table", "ul", "ol", "hr", "dd", "dt"}
_SPACES = re.compile(r"\s+")
MAX_HTML = 2_000_000  # characters; past this the text alternative alone is kept


def sanitize_html(html: str, *, drop_quotes: bool = False) -> str:
    """Only the allowed tags and attributes; links get ``rel="noopener noreferrer"``.
    ``drop_quotes`` also removes ``<blockquote>`` with its content (a reply's quoted mail)."""
    drop = DROP_WITH_CONTENT | ({"blockquote"} if drop_quotes else set())
    return nh3.clean(html[:MAX_HTML], tags=TAGS - drop, clean_content_tags=drop,
                     attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_WITH_CONTENT:
            self.skip += 1
        elif tag in BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_WITH_CONTENT:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCKS and tag != "li":
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(_SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """Readable text of ``html``: blocks on their own lines, list items dashed, no markup."""
    parser = _Text()
    try:
        parser.feed(html[:MAX_HTML])
        parser.close()
    except Exception:  # noqa: BLE001, S110 - lenient parser: a failure keeps what it read
        pass
    lines = [" ".join(unescape(line).split()) for line in "".join(parser.out).split("\n")]
    text: list[str] = []
    blank = False
    for line in lines:
        if not line:
            blank = bool(text)
            continue
        if blank:
            text.append("")
        text.append(line)
        blank = False
    return "\n".join(text)
