"""What reviews copied from blogs carry besides Markdown: raw HTML, template tags left over
from Liquid or Jinja, and embedded players. Read here once, so the email, the page, the text
part and the narration all see the same review."""

from __future__ import annotations

import html.parser
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qs, urlsplit

if TYPE_CHECKING:  # document imports images, which imports this
    from pipeline.source.document import Block

# {{ page.excerpt }}, {% if page.rating > 3.5 %}, {%- endif -%}, {# a comment #}, also when a
# writer's editor wrapped one over two lines. Bounded, so a stray brace never swallows the
# review or backtracks.
TEMPLATE_TAG = re.compile(r"\{%-?[^%]{0,400}?-?%\}|\{\{[^{}]{0,400}?\}\}|\{#[^#]{0,400}?#\}")
_IFRAME = re.compile(r"<iframe\b([^<>]{0,2000})>(?:[^<]{0,2000}</iframe\s*>)?", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_IMG = re.compile(r"<img\b([^<>]{0,2000})>", re.IGNORECASE)
_EMBEDS = (  # host suffix, what the link says, how the embed URL becomes the page a reader opens
    ("youtube.com", "Watch on YouTube", lambda u: _youtube(u)),
    ("youtube-nocookie.com", "Watch on YouTube", lambda u: _youtube(u)),
    ("vimeo.com", "Watch on Vimeo", lambda u: "https://vimeo.com/" + u.path.rstrip("/").rsplit("/", 1)[-1]),
    ("spotify.com", "Listen on Spotify", lambda u: "https://open.spotify.com" + u.path.replace("/embed", "", 1)),
)


def _src(attributes: str) -> str | None:
    """The src of a tag's attribute text, quoted or not."""
    found = _SRC.search(attributes)
    return next(g for g in found.groups() if g is not None) if found else None


def image_sources(fragment: str) -> list[str]:
    """The src of every <img> in a piece of raw HTML."""
    return [src for m in _IMG.finditer(fragment) if (src := _src(m.group(1))) is not None]


def template_tags(text: str) -> list[tuple[int, str]]:
    """(line, tag) of every template tag in the text, code included: a review is prose."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(0)) for m in TEMPLATE_TAG.finditer(text)]


_EMPTY_PARAGRAPH = re.compile(r"<p>[ \t]*</p>\n?")


def strip_template_tags(text: str) -> str:
    """The text without its template tags, nor the paragraphs that held only a tag."""
    return _EMPTY_PARAGRAPH.sub("", TEMPLATE_TAG.sub("", text))


def _youtube(url: SplitResult) -> str:
    video = url.path.rstrip("/").rsplit("/", 1)[-1]
    if url.path.startswith("/watch"):
        video = parse_qs(url.query).get("v", [""])[0]
    return f"https://www.youtube.com/watch?v={video}"


def embed_link(src: str) -> tuple[str, str] | None:
    """(page URL, link text) for a player's embed URL; None when it is not a web URL."""
    if src.startswith("//"):
        src = "https:" + src
    url = urlsplit(src)
    if url.scheme not in ("http", "https") or not url.netloc:
        return None
    host = url.hostname or ""
    for suffix, label, page in _EMBEDS:
        if host == suffix or host.endswith("." + suffix):
            return page(url), label
    return src, f"{OTHER_EMBED}{host.removeprefix('www.')}"


OTHER_EMBED = "Open the embedded content on "


def is_embed_link(block: Block) -> bool:
    """A paragraph that is only the link an embed was made into ("Watch on YouTube"): the
    reader sees a link; a listener would hear words that point at nothing."""
    labels = {label for _, label, _ in _EMBEDS}
    return (
        block.kind == "paragraph"
        and len(block.spans) == 1
        and block.spans[0].href is not None
        and (block.text in labels or block.text.startswith(OTHER_EMBED))
    )


def _video_id(url: SplitResult) -> str:
    return url.path.rstrip("/").rsplit("/", 1)[-1]


# The page a reader opens (what embed_link makes) → the host's own player, loaded only when the
# reader presses play on the web page (site/page.py); the privacy-enhanced one where there is one.
_PLAYERS = (
    ("www.youtube.com", "/watch", lambda u: "https://www.youtube-nocookie.com/embed/" + parse_qs(u.query)["v"][0]),
    ("vimeo.com", "/", lambda u: "https://player.vimeo.com/video/" + _video_id(u)),
    ("open.spotify.com", "/", lambda u: "https://open.spotify.com/embed" + u.path),
)
_PLAYER_URL = re.compile(r"https://[a-z.-]{1,40}/[A-Za-z0-9/_-]{1,200}")


def embed_player(href: str, label: str) -> str | None:
    """The player's URL for a link an embed was made into ("Watch on YouTube"), else None."""
    if label not in {name for _, name, _ in _EMBEDS}:
        return None
    url = urlsplit(href)
    for host, path, player in _PLAYERS:
        if url.scheme == "https" and url.hostname == host and url.path.startswith(path):
            try:
                made = player(url)
            except (KeyError, IndexError):
                return None
            return made if _PLAYER_URL.fullmatch(made) else None
    return None


def embeds_to_links(text: str) -> str:
    """An <iframe> shows nothing in mail and is dropped by the sanitiser: make it a plain link."""

    def link(match: re.Match) -> str:
        src = _src(match.group(1))
        found = embed_link(src) if src is not None else None
        if found is None:
            return ""
        href, label = found
        return f'<p><a href="{html.escape(href)}">{label}</a></p>'

    return _IFRAME.sub(link, text)


@dataclass(frozen=True)
class HtmlPiece:
    """One piece of a raw HTML block: a heading (level 1-6) or a block of the given kind,
    with (text, href, kind) runs as the Markdown reader makes them."""

    kind: str  # heading | paragraph | list_item | quote | table_row | image
    runs: tuple[tuple[str, str | None, str], ...]
    level: int = 0


_BLOCKS = {
    "p",
    "div",
    "li",
    "blockquote",
    "tr",
    "section",
    "article",
    "figure",
    "figcaption",
    "dd",
    "dt",
    "ul",
    "ol",
    "table",
    "header",
    "footer",
    "aside",
    "pre",
    "hr",
}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP = {"script", "style", "template", "noscript", "iframe", "svg", "math", "head", "title"}


class _Reader(html.parser.HTMLParser):
    """Events of raw HTML into pieces: entities decoded once (convert_charrefs), block elements
    and <br> end a piece, headings become headings, cells of a row are joined with ' | '."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[HtmlPiece] = []
        self.runs: list[tuple[str, str | None, str]] = []
        self.open: list[str] = []
        self.href: str | None = None
        self.heading = 0
        self.skip = 0
        self.cells = 0

    def _kind(self) -> str:
        if "tr" in self.open:
            return "table_row"
        for tag in reversed(self.open):
            if tag == "li":
                return "list_item"
            if tag == "blockquote":
                return "quote"
        return "paragraph"

    def flush(self, kind: str | None = None) -> None:
        text = "".join(r[0] for r in self.runs)
        if text.strip() or any(r[2] == "image" for r in self.runs):
            if self.heading:
                self.pieces.append(HtmlPiece("heading", tuple(self.runs), self.heading))
            else:
                only_images = all(r[2] == "image" or not r[0].strip() for r in self.runs)
                self.pieces.append(HtmlPiece("image" if only_images else (kind or self._kind()), tuple(self.runs)))
        self.runs = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _SKIP:
            self.skip += 1
            return
        if tag in _HEADINGS:
            self.flush()
            self.heading = int(tag[1])
        elif tag == "br":
            self.flush()
        elif tag in ("td", "th"):
            if self.cells:
                self.runs.append((" | ", None, "text"))
            self.cells += 1
        elif tag in _BLOCKS:
            self.flush()
            if tag == "tr":
                self.cells = 0
        elif tag == "a":
            self.href = attributes.get("href")
        elif tag == "img" and attributes.get("alt"):
            self.runs.append((attributes["alt"] or "", self.href, "image"))
        if tag not in ("br", "img", "hr") and tag not in ("td", "th"):
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIP:
            self.skip -= 1
        elif self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in _HEADINGS and self.heading:
            self.flush()
            self.heading = 0
        elif tag in _BLOCKS:
            self.flush()
        elif tag == "a":
            self.href = None
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.runs.append((data, self.href, "code" if "code" in self.open else "text"))


def read_html(fragment: str) -> list[HtmlPiece]:
    """The pieces of a raw HTML block, in order."""
    reader = _Reader()
    reader.feed(fragment)
    reader.close()
    reader.flush()
    return reader.pieces
