"""The show's home on the web, built from the catalogue alone (so any machine that publishes
rebuilds it): every issue newest first, 50 to a page, a page per tag, a subscribe box, a 404
page, sitemap.xml and robots.txt. Uploaded after the episode's files and before the feed."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from urllib.parse import quote

from pipeline.config import Config
from pipeline.feed.catalog import Catalog, Episode
from pipeline.storage.links import Links
from pipeline.templating import render
from pipeline.textutil import slugify
from pipeline.timefmt import listen_minutes, long_date

PER_PAGE = 50
SHOWN_TAGS = 30  # the most used tags, on every page


@dataclass(frozen=True)
class HomeFile:
    key: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Listing:
    title: str
    url: str
    date_text: str
    date_iso: str
    summary: str
    duration: str | None
    audio_url: str | None
    number: int
    image_url: str | None = None  # the issue's own header image


def home_url(links: Links) -> str:
    return links.url(links.layout.key("index.html"))


def _listing(episode: Episode, links: Links) -> Listing:
    audio = episode.audio
    duration = None
    if audio is not None:
        minutes = listen_minutes(audio.duration_s)
        duration = f"{minutes} min"
    return Listing(
        episode.title,
        links.url(episode.page_key),
        long_date(episode.day),
        episode.date,
        episode.summary,
        duration,
        links.url(audio.key) if audio else None,
        episode.number,
        links.url(episode.image_key) if episode.image_key else None,
    )


def subscribe_links(feed_url: str) -> list[tuple[str, str]]:
    """Links that open the feed in the common podcast apps."""
    bare = feed_url.split("://", 1)[-1]
    quoted = quote(feed_url, safe="")
    return [
        ("Apple Podcasts", f"podcast://{bare}"),
        ("Overcast", f"overcast://x-callback-url/add?url={quoted}"),
        ("Pocket Casts", f"pktc://subscribe/{bare}"),
        ("AntennaPod", f"https://antennapod.org/deeplink/subscribe?url={quoted}"),
    ]


def _page(
    config: Config,
    links: Links,
    cover_url: str,
    heading: str | None,
    items: list[Listing],
    page: int,
    pages: int,
    base: str,
    tags: list[tuple[str, str]],
    canonical: str,
) -> bytes:
    def page_url(n: int) -> str:
        return links.url(_listing_key(links, base, n))

    return _render_home(
        config,
        links,
        cover_url,
        heading=heading,
        items=items,
        page=page,
        pages=pages,
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < pages else None,
        apps=subscribe_links(links.feed_url),
        subscribe_url=config.show.subscribe_url,
        tags=tags,
        canonical=canonical,
        not_found=False,
    )


def _listing_key(links: Links, base: str, page: int) -> str:
    """Page `page` of a listing: the home's (`base` empty) or a tag's (`tags/<slug>`)."""
    return links.layout.key(*([base] if base else []), *(["page", str(page)] if page > 1 else []), "index.html")


def _render_home(config: Config, links: Links, cover_url: str, **page: object) -> bytes:
    """home.html with the show's part of every page, and this page's part."""
    show = config.show
    return render(
        "home.html",
        language=show.language,
        show_title=show.title,
        description=show.description,
        cover_url=cover_url,
        feed_url=links.feed_url,
        home_url=home_url(links),
        signup_action=config.subscriptions.link("subscribe"),
        signup_source=home_url(links),
        **page,
    ).encode("utf-8")


def build_home(config: Config, catalog: Catalog, links: Links, cover_key: str) -> list[HomeFile]:
    """Every file of the show's home, from the catalogue."""
    layout = links.layout
    cover_url = links.url(cover_key)
    episodes = sorted(catalog.episodes, key=lambda e: (e.date, e.number), reverse=True)
    by_tag: dict[str, tuple[str, list[Episode]]] = {}
    for episode in episodes:
        for tag in episode.tags:
            slug = slugify(tag)
            if slug:
                by_tag.setdefault(slug, (tag, []))[1].append(episode)
    # Every page shows the most used tags only: listing every tag on every tag page made each
    # publish cost the square of the tags in the catalogue.
    used = sorted(by_tag.items(), key=lambda item: (-len(item[1][1]), item[1][0].lower()))[:SHOWN_TAGS]
    tags = sorted(
        ((name, links.url(layout.key("tags", slug, "index.html"))) for slug, (name, _) in used),
        key=lambda t: t[0].lower(),
    )
    files: list[HomeFile] = []

    def listing_pages(chosen: list[Episode], base: str, heading: str | None) -> None:
        pages = max(1, math.ceil(len(chosen) / PER_PAGE))
        for page in range(1, pages + 1):
            key = _listing_key(links, base, page)
            items = [_listing(e, links) for e in chosen[(page - 1) * PER_PAGE : page * PER_PAGE]]
            files.append(
                HomeFile(
                    key,
                    _page(config, links, cover_url, heading, items, page, pages, base, tags, links.url(key)),
                    "text/html; charset=utf-8",
                )
            )

    listing_pages(episodes, "", None)
    for slug, (name, tagged) in sorted(by_tag.items()):
        listing_pages(tagged, f"tags/{slug}", f"Tagged “{name}”")
    missing = _render_home(
        config,
        links,
        cover_url,
        heading=None,
        items=[],
        page=1,
        pages=1,
        previous_url=None,
        next_url=None,
        apps=[],
        subscribe_url="",
        tags=[],
        canonical=home_url(links),
        not_found=True,
    )
    files.append(HomeFile(layout.key("404.html"), missing, "text/html; charset=utf-8"))
    files.append(HomeFile(layout.key("sitemap.xml"), sitemap(files, episodes, links), "application/xml"))
    robots = f"User-agent: *\nAllow: /\nSitemap: {links.url(layout.key('sitemap.xml'))}\n"
    files.append(HomeFile(layout.key("robots.txt"), robots.encode(), "text/plain; charset=utf-8"))
    return files


def sitemap(files: list[HomeFile], episodes: list[Episode], links: Links) -> bytes:
    """The catalogue's latest change as the listings' date, so an unchanged catalogue gives the
    same bytes (and nothing to upload)."""
    latest = max(((e.updated or e.date)[:10] for e in episodes), default="2000-01-01")
    urls = [(links.url(f.key), latest) for f in files if f.key.endswith("index.html")]
    urls += [(links.url(e.page_key), (e.updated or e.date)[:10]) for e in episodes]
    body = "".join(
        f"<url><loc>{html.escape(url, quote=False)}</loc><lastmod>{html.escape(day, quote=False)}</lastmod></url>"
        for url, day in urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{body}</urlset>\n"
    ).encode()
