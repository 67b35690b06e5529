"""What a review is once read: a frozen Issue with its sections, blocks and inline spans, so
later stages never parse Markdown again."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.errors import Problem
from pipeline.source.images import LocalImage
from pipeline.source.sanitize import sanitize_html

SUBTITLE_CHARS = 300  # a summary longer than this is a description, not a subtitle


@dataclass(frozen=True)
class Span:
    """A run of inline text: plain, a link (href), inline code, or an image (alt text)."""

    text: str
    href: str | None = None
    kind: str = "text"


@dataclass(frozen=True)
class Block:
    """paragraph | list_item | quote | image | code | table_row | html"""

    kind: str
    spans: tuple[Span, ...]
    depth: int = 0
    ordinal: int | None = None

    @property
    def text(self) -> str:
        return " ".join("".join(s.text for s in self.spans).split())


@dataclass(frozen=True)
class Section:
    title: str | None
    level: int
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Issue:
    source: Path
    title: str
    date: dt.date
    slug: str
    summary: str
    author: str | None
    episode: int | None
    explicit: bool | None
    tags: tuple[str, ...]
    body_html: str
    sections: tuple[Section, ...]
    footnotes: tuple[Block, ...]
    warnings: tuple[Problem, ...] = ()
    images: tuple[LocalImage, ...] = ()
    image: str | None = None  # the header image: a URL, or the ref of one of `images`
    draft: bool = False  # `draft: true` or `published: false`: never published
    names: tuple[str, ...] = ()  # languages of the names in the review, for the voice
    slug_given: bool = False  # the front matter's `slug:`, not one derived from the file name or title
    summary_given: bool = False  # the front matter's `summary:`, not the review's first sentences

    def byline(self, show_author: str) -> str:
        return byline(self.author, show_author)

    @property
    def subtitle(self) -> str:
        """The line under the title on the page and in the email (Substack's subtitle): the
        writer's own summary when it is one short enough to be read as one; a summary taken
        from the review's first sentences would only repeat them."""
        return self.summary if self.summary_given and len(self.summary) <= SUBTITLE_CHARS else ""

    @property
    def header_image(self) -> str | None:
        """The image shown above the review (front matter `image:`), unless the review shows the
        same image itself: then it is shown once, where the writer put it."""
        if not self.image:
            return None
        return None if f'src="{html.escape(self.image)}"' in self.body_html else self.image

    def with_image_urls(self, url_for: Callable[[LocalImage], str]) -> Issue:
        """The issue with every local image's src made the absolute URL `url_for(image)`."""
        if not self.images:
            return self
        urls = {image.ref: url_for(image) for image in self.images}

        def rewrite(tag: str, attribute: str, value: str) -> str:
            return urls.get(value, value) if (tag, attribute) == ("img", "src") else value

        image = urls.get(self.image, self.image) if self.image else None
        return replace(self, body_html=sanitize_html(self.body_html, attribute_filter=rewrite), image=image)

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(b for s in self.sections for b in s.blocks)

    @property
    def word_count(self) -> int:
        return sum(len(b.text.split()) for b in self.blocks)


def byline(author: str | None, show_author: str) -> str:
    """Who wrote it: the issue's own author, else the show's. The one place this rule lives."""
    return author or show_author
