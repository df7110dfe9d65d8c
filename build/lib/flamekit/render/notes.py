"""Write-up notes (pipeline stage: render): Markdown -> sanitized HTML for the report.

Markdown is rendered by markdown-it-py (CommonMark + tables + strikethrough) and the
result is cleaned by nh3 (the ammonia sanitizer) with an allow-list: headings,
paragraphs, lists, tables, code, emphasis, quotes, links (http, https, mailto or
in-page ``#``) and images whose ``src`` is a ``data:image/{png,jpeg,gif,webp}`` URI.
No script, no style, no event handler, no remote load: the report's CSP
(``img-src data:``) would block a remote image anyway; we drop it before that.
"""
from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "dl", "dt", "dd",
        "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "em", "strong", "del", "s",
        "blockquote", "a", "img", "sup", "sub", "kbd", "span"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"},
              "td": {"align"}, "ol": {"start"}, "code": {"class"}}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
_LINK = re.compile(r"^(https?:|mailto:|#)", re.I)
_CODE_CLASS = re.compile(r"^language-[\w+-]{1,40}$")


def _filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if _DATA_IMAGE.match(value) else None
    if tag == "a" and attr == "href":
        return value if _LINK.match(value) else None
    if tag == "code" and attr == "class":
        return value if _CODE_CLASS.match(value) else None
    return value


def render_notes(markdown: str) -> str:
    """Render Markdown to sanitized HTML (images only as data: URIs; no script, no handlers)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])
    raw = md.render(markdown)
    return nh3.clean(raw, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_filter,
                     url_schemes={"http", "https", "mailto", "data"}, link_rel="noopener noreferrer",
                     strip_comments=True)
