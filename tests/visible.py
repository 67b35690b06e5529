"""What a reader sees of an HTML file: the text nodes an HTML5 parser (html5lib, as browsers
parse) puts outside head, style, script and template, and the elements themselves."""

from __future__ import annotations

import re
from pathlib import Path

import html5lib

HIDDEN = {"head", "style", "script", "template", "title", "noscript"}
# Markup or template code that a reader must never see as text.
LEAKED = re.compile(
    r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]{0,80})?/?>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);|\{\{|\{%|%\}|\}\}"
)


def parse(html: str):
    return html5lib.parse(html, namespaceHTMLElements=False)


def _texts(element, out: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in HIDDEN:
        if element.tail:
            out.append(element.tail)
        return
    if element.text and isinstance(element.tag, str):
        out.append(element.text)
    for child in element:
        _texts(child, out)
    if element.tail:
        out.append(element.tail)


def visible_text(html: str) -> str:
    out: list[str] = []
    _texts(parse(html), out)
    return " ".join(" ".join(out).split())


def leaks(html: str) -> list[str]:
    """Pieces of markup, entities or template code in the visible text."""
    return LEAKED.findall(visible_text(html))


def paragraphs(html: str) -> list[str]:
    """The text of each <p> element, whitespace folded."""
    return [" ".join("".join(p.itertext()).split()) for p in parse(html).iter("p")]


def read(path: Path) -> str:
    return Path(path).read_text("utf-8")
