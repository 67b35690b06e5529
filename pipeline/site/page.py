"""The episode's web page: the review with a player, its chapters and the transcript that follows
the audio, links to the neighbouring issues, and the tags that make a shared link look right."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.audio.transcript import Cue
from pipeline.config import Config
from pipeline.feed.catalog import Catalog, Episode
from pipeline.source.document import Issue
from pipeline.source.rawhtml import embed_player
from pipeline.storage.links import Links
from pipeline.templating import render
from pipeline.textutil import is_web_url
from pipeline.timefmt import clock, long_date, minutes_seconds


@dataclass(frozen=True)
class Chapter:
    start: float
    title: str

    @property
    def clock(self) -> str:
        return clock(self.start)

    @property
    def duration(self) -> str:
        """The start as an HTML duration (a <time>'s datetime): PT83.5S."""
        return "PT" + f"{self.start:.3f}".rstrip("0").rstrip(".") + "S"


@dataclass(frozen=True)
class PageAudio:
    url: str
    duration_s: float
    transcript_url: str | None = None
    cues: tuple[Cue, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    words_url: str | None = None  # transcript.json: the word being spoken is marked


@dataclass(frozen=True)
class Neighbour:
    title: str
    url: str


@dataclass(frozen=True)
class PageImage:
    url: str
    width: int
    height: int
    alt: str


# A paragraph that is only the link an embedded player was made into (source/rawhtml.py).
_EMBED_LINK = re.compile(r'<p><a href="(https://[^"<>]{1,300})"(?: rel="noopener")?>([^<>]{1,80})</a></p>')


def click_to_load(body_html: str) -> str:
    """On the web page, the link an embedded player became (the email keeps the link) is a
    player the reader loads by pressing play: nothing is fetched from the video's host before."""

    def facade(match: re.Match) -> str:
        href, label = html.unescape(match.group(1)), html.unescape(match.group(2))
        player = embed_player(href, label)
        if player is None:
            return match.group(0)
        host = label.rsplit(" on ", 1)[-1]
        return (
            f'<figure class="embed" data-player="{html.escape(player)}" data-host="{html.escape(host)}">'
            f'<button type="button">&#9654;&#xFE0E; Play here</button>'
            f"<figcaption>Loads from {html.escape(host)} when you press play · "
            f'<a href="{html.escape(href)}" rel="noopener">{html.escape(label)}</a></figcaption></figure>'
        )

    return _EMBED_LINK.sub(facade, body_html)


def read_chapters(path: Path) -> tuple[Chapter, ...]:
    data = json.loads(path.read_text("utf-8"))
    return tuple(Chapter(float(c["startTime"]), str(c["title"])) for c in data.get("chapters", ()))


def build_page(
    issue: Issue,
    config: Config,
    web_url: str,
    feed_url: str,
    audio: PageAudio | None = None,
    cover: PageImage | None = None,
    episode: int | None = None,
    previous: Neighbour | None = None,
    following: Neighbour | None = None,
    home_url: str | None = None,
) -> str:
    """The episode's page; `home_url` is the show's home page (else [show] site_url)."""
    show = config.show
    duration_text = minutes_seconds(audio.duration_s) if audio else None
    header = issue.header_image if issue.header_image and is_web_url(issue.header_image) else None
    body = click_to_load(issue.body_html)
    return render(
        "page.html",
        language=show.language,
        title=issue.title,
        subtitle=issue.subtitle,
        show_title=show.title,
        summary=issue.summary,
        feed_url=feed_url,
        web_url=web_url,
        site_url=home_url or show.site_url,
        cover=cover,
        header_image=header,
        audio=audio,
        duration_text=duration_text,
        date_iso=issue.date.isoformat(),
        date_text=long_date(issue.date),
        author=issue.byline(show.author),
        episode=episode,
        body_html=body,
        players=body != issue.body_html,
        previous=previous,
        following=following,
        signup_action=config.subscriptions.link("subscribe"),
        signup_source=web_url,
    )


def neighbour_episodes(catalog: Catalog, slug: str) -> tuple[Episode | None, Episode | None]:
    """The episodes before and after this one, in episode order (None at either end, or both
    when the slug is not in the catalogue)."""
    ordered = sorted(catalog.episodes, key=lambda e: (e.number, e.date))
    index = next((i for i, e in enumerate(ordered) if e.slug == slug), None)
    if index is None:
        return None, None
    return (ordered[index - 1] if index else None), (ordered[index + 1] if index + 1 < len(ordered) else None)


def neighbours(catalog: Catalog, slug: str, links: Links) -> tuple[Neighbour | None, Neighbour | None]:
    """The issues before and after this one, as the page links to them."""

    def link(episode: Episode | None) -> Neighbour | None:
        return Neighbour(episode.title, links.web_url(episode.slug)) if episode else None

    before, after = neighbour_episodes(catalog, slug)
    return link(before), link(after)


NAV = re.compile(r'<nav class="issues" aria-label="More issues">.*?</nav>', re.S)


def with_neighbours(page: str, previous: Neighbour | None, following: Neighbour | None) -> str | None:
    """An episode's published page with its links to the issues around it rendered again: a page
    published last has no "next" until the next issue exists. None if the page has no such links."""
    nav = render("_nav.html", previous=previous, following=following)
    found = NAV.search(page)
    return page[: found.start()] + nav + page[found.end() :] if found else None
