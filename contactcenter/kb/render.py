"""Markdown to safe HTML, and to the plain text that is searched.

Design note: two layers, so neither has to be perfect. markdown-it-py runs with raw HTML off,
so a ``<script>`` written in an article is text, escaped like any other; its own link check
refuses ``javascript:`` and friends. Then nh3 (ammonia) keeps only the tags and attributes an
article needs and only http(s)/mailto/relative URLs, whatever a future markdown plugin might
emit. The help center adds a third (``script-src 'none'`` on its pages). The plain text comes
from the same parse (the inline tokens' text, code, image alt texts), so markup never reaches
the search index and a snippet never shows a ``**``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# A snippet's highlight marks travel as these two private-use characters from the database to
# ``mark_up``, which escapes the text and only then turns them into <mark> tags; an article
# cannot contain them (``render`` drops them), so it cannot open a mark of its own.
MARK_START = "\ue000"
MARK_END = "\ue001"

_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
         "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub",
         "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"}
# No style attributes: the pages' CSP refuses inline styles anyway (table alignment is lost).
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_SCHEMES = {"http", "https", "mailto"}


@dataclass(frozen=True, slots=True)
class Rendered:
    """An article body as HTML for pages and as text for the index."""

    html: str
    text: str


class Renderer:
    """Markdown (CommonMark, tables, strikethrough) to sanitized HTML and plain text."""

    def __init__(self) -> None:
        self._md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

    def render(self, markdown: str) -> Rendered:
        source = markdown.replace(MARK_START, "").replace(MARK_END, "")
        tokens = self._md.parse(source)
        raw = self._md.renderer.render(tokens, self._md.options, {})
        html = nh3.clean(raw, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_SCHEMES,
                         link_rel="noopener noreferrer nofollow")
        return Rendered(html, _text(tokens))


def _text(tokens: list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type in ("fence", "code_block"):
            parts.append(token.content.strip())
        elif token.type == "inline":
            line = []
            for child in token.children or ():
                if child.type in ("text", "code_inline", "image"):
                    line.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    line.append(" ")
            parts.append("".join(line))
    return "\n".join(p for p in parts if p)


def mark_up(snippet: str) -> str:
    """A snippet from the database (text with MARK_START/MARK_END) as safe HTML with <mark>."""
    escaped = html.escape(snippet, quote=True)
    # A cut snippet may leave a mark open: close what is open, drop what was never opened.
    out, depth = [], 0
    for ch in escaped:
        if ch == MARK_START:
            if depth == 0:
                out.append("<mark>")
            depth += 1
        elif ch == MARK_END:
            if depth == 1:
                out.append("</mark>")
            depth = max(0, depth - 1)
        else:
            out.append(ch)
    if depth:
        out.append("</mark>")
    return "".join(out)
