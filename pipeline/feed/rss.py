"""The podcast feed: RSS 2.0 + iTunes (feedgen) + Podcasting 2.0 (our extension).

Every item comes from the catalogue, so no published episode is ever lost from the feed.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid

from feedgen.feed import FeedGenerator

from pipeline import __version__
from pipeline.config import ShowConfig
from pipeline.feed.catalog import AudioInfo, Catalog, Episode
from pipeline.feed.podcast import PodcastIndexExtension
from pipeline.feed.podcast_entry import PodcastIndexEntryExtension
from pipeline.source.document import byline
from pipeline.source.sanitize import sanitize_html
from pipeline.storage.links import Links
from pipeline.textutil import FEED_DESCRIPTION_LIMIT, shorten, xml_safe

PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
APPLE_DESCRIPTION_LIMIT = FEED_DESCRIPTION_LIMIT


def xml_text(text: str) -> str:
    """Text XML can hold: a catalogue written by another tool may carry control characters."""
    return xml_safe(text)


def podcast_guid(feed_url: str) -> str:
    """podcast:guid as the Podcasting 2.0 spec defines it: UUIDv5 of the URL without scheme
    and trailing slashes."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def show_guid(show: ShowConfig, catalog: Catalog, links: Links) -> str:
    """[show] guid if given, else the one the catalogue keeps, else made from the feed URL (at
    the first publish, which then keeps it, so moving the feed does not change the podcast)."""
    return show.guid or catalog.podcast_guid or podcast_guid(links.feed_url)


def fit_bytes(text: str, limit: int = APPLE_DESCRIPTION_LIMIT) -> str:
    """Shorten text at a word boundary until its UTF-8 form fits `limit` bytes."""
    while len(text.encode("utf-8")) > limit:
        text = shorten(text, max(1, len(text) - max(16, (len(text.encode("utf-8")) - limit) // 2)))
    return text


def _pub_date(episode: Episode) -> dt.datetime:
    return dt.datetime.combine(episode.day, dt.time(12, 0), dt.UTC)


def last_change(catalog: Catalog) -> dt.datetime:
    """lastBuildDate is the catalogue's latest change, so the same catalogue gives the same bytes."""
    stamps = [dt.datetime.fromisoformat(e.updated) for e in catalog.episodes if e.updated]
    return max(stamps) if stamps else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def build_feed(
    show: ShowConfig, catalog: Catalog, links: Links, cover_key: str, now: dt.datetime | None = None
) -> bytes:
    """The feed XML for every episode in the catalogue that has audio, newest first."""
    now = now or last_change(catalog)
    cover_url = links.url(cover_key)
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension)
    fg.title(show.title)
    fg.description(fit_bytes(html.escape(xml_text(show.description), quote=False)))
    # feedgen writes the *last* link as the RSS <link>: the site must come after self.
    fg.link(href=links.feed_url, rel="self", type="application/rss+xml")
    fg.link(href=show.site_url, rel="alternate")
    fg.language(show.language)
    first_year = min((e.day.year for e in catalog.episodes), default=now.year)
    years = f"{first_year}–{now.year}" if first_year < now.year else str(now.year)
    fg.copyright(f"© {years} {show.author}")
    fg.generator("publish", version=__version__)
    fg.lastBuildDate(now)
    fg.image(url=cover_url, title=show.title, link=show.site_url)
    fg.podcast.itunes_image(cover_url)
    fg.podcast.itunes_author(show.author)
    fg.podcast.itunes_owner(name=show.author, email=show.owner_email)
    fg.podcast.itunes_type("episodic")
    fg.podcast.itunes_summary(fit_bytes(html.escape(xml_text(show.description), quote=False)))
    ext = fg.podcastindex
    ext.guid = show_guid(show, catalog, links)
    ext.locked_owner = show.owner_email
    ext.explicit = show.explicit
    ext.category = (show.category, show.subcategory or None)
    for episode in catalog.episodes:
        if episode.audio is not None:
            _add_item(fg, show, episode, episode.audio, links, cover_url)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def _add_item(
    fg: FeedGenerator, show: ShowConfig, episode: Episode, audio: AudioInfo, links: Links, cover_url: str
) -> None:
    entry = fg.add_entry(order="append")
    entry.guid(episode.guid, permalink=False)
    entry.title(xml_text(episode.title))
    entry.link(href=links.url(episode.page_key))
    description = fit_bytes(xml_text(episode.summary))
    # Apps render <description> as HTML: a summary's "<" must stay text there.
    entry.description(fit_bytes(html.escape(description, quote=False)))
    entry.content(xml_text(sanitize_html(episode.content_html)))  # catalog.json is input too
    entry.pubDate(_pub_date(episode))
    entry.enclosure(links.url(audio.key), str(audio.bytes), "audio/mpeg")
    entry.author(name=byline(xml_text(episode.author), show.author), email=show.owner_email)
    entry.podcast.itunes_summary(fit_bytes(html.escape(description, quote=False)))  # rendered as HTML too
    entry.podcast.itunes_duration(max(1, round(audio.duration_s)))
    entry.podcast.itunes_episode(episode.number)
    entry.podcast.itunes_episode_type("full")
    entry.podcast.itunes_image(links.url(episode.artwork_key) if episode.artwork_key else cover_url)
    entry.podcast.itunes_author(byline(xml_text(episode.author), show.author))
    item_ext = entry.podcastindex
    item_ext.explicit = episode.explicit
    item_ext.transcripts = [(links.url(audio.transcript_key), "text/vtt")]
    if audio.words_key:
        item_ext.transcripts.append((links.url(audio.words_key), "application/json"))
    item_ext.chapters = (links.url(audio.chapters_key), "application/json+chapters")
    item_ext.simple_chapters = tuple((start, xml_text(title)) for start, title in audio.chapters)
