"""The one way HTML from a review reaches an email, a page or the feed: nh3 with our allowed
tags, attributes and URL schemes; markup nested too deep refused before any parser sees it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pipeline.errors import InputError
from pipeline.source.images import is_local, is_relative

MAX_NESTING = 200  # elements inside elements; real reviews stay under 20
ALLOWED_TAGS = (nh3.ALLOWED_TAGS - {"center", "map", "area"}) | {"section"}
ALLOWED_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "id", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "li": {"id"},
    "th": {"align", "colspan", "rowspan", "scope", "style"},
    "td": {"align", "colspan", "rowspan", "style"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# A cell's style may align it; nothing else (position, background images, z-index) survives.
STYLE_PROPERTIES = {"text-align", "vertical-align", "width"}


def sanitize_html(html: str, **extra: Any) -> str:
    """The only way HTML from an issue reaches an email, page or feed."""
    options = {
        "tags": ALLOWED_TAGS,
        "attributes": ALLOWED_ATTRIBUTES,
        "url_schemes": URL_SCHEMES,
        "link_rel": "noopener",
        "filter_style_properties": STYLE_PROPERTIES,
        **extra,
    }
    return nh3.clean(html, **options)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]{0,30})(?:\s[^<>]{0,2000})?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def check_nesting(path: Path, body: str, body_line: int) -> None:
    """Refuse HTML nested deeper than MAX_NESTING before a parser or sanitiser sees it: their
    cost grows with depth (100,000 nested <div> ran for minutes). One linear scan that counts
    as HTML does: a self-closed non-void tag (`<div/>`) opens, and only a close that matches an
    open tag closes (up to it); any other close (`</x>`) is ignored."""
    stack: list[str] = []
    open_names: Counter[str] = Counter()
    for match in _TAG.finditer(body):
        closing, name = match.group(1), match.group(2).lower()
        if name in _VOID:
            continue
        if closing:
            if open_names[name]:
                while stack:
                    top = stack.pop()
                    open_names[top] -= 1
                    if top == name:
                        break
            continue
        stack.append(name)
        open_names[name] += 1
        if len(stack) > MAX_NESTING:
            line = body_line + body.count("\n", 0, match.start())
            raise InputError.at(path, f"HTML nested more than {MAX_NESTING} levels deep; simplify the markup", line)


# An image whose source was dropped (an SVG, a `src=x` naming nothing) shows its alt text instead
# of a broken frame. nh3 writes attributes double-quoted and escaped, so the text is safe as it is.
_SRCLESS_IMG = re.compile(r'<img(?![^>]*\ssrc=)(?:[^>]*?\salt="([^"]*)")?[^>]*>')


def _drop_unloadable_images(tag: str, attribute: str, value: str) -> str | None:
    if (tag, attribute) == ("img", "src") and is_relative(value) and not is_local(value):
        return None
    return value


def render_html(md: MarkdownIt, tokens: list[Token], env: dict) -> str:
    """The review's body as safe HTML: sanitised, with images no reader could load shown as
    their alt text."""
    html = sanitize_html(md.renderer.render(tokens, md.options, env), attribute_filter=_drop_unloadable_images)
    return heading_levels(_SRCLESS_IMG.sub(lambda m: m.group(1) or "", html))


_HEADING = re.compile(r"<(/?)h([1-6])\b")


def heading_levels(html: str) -> str:
    """The review's headings renumbered under the page's and the email's own <h1> (the title):
    the levels it uses, in order, become h2, h3…, so none is skipped (a blog's <h3> straight
    after the title is an h2 here; screen readers and the W3C validator expect no gap)."""
    used = sorted({int(level) for _, level in _HEADING.findall(html)})
    mapping = {level: min(6, index + 2) for index, level in enumerate(used)}
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{mapping[int(m.group(2))]}", html)
