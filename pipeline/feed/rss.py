"""The podcast feed: RSS 2.0 + iTunes (feedgen) + Podcasting 2.0 (our extension).

Every item comes from the catalogue, so no published episode is ever lost from the feed.
"""
from __future__ import annotations

import datetime as dt
import html
import uuid

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from pipeline import __version__
from pipeline.config import LANGUAGE_RE, ShowConfig
from pipeline.feed.catalog import AudioInfo, Catalog, Episode
from pipeline.source.document import byline
from pipeline.source.sanitize import sanitize_html
from pipeline.storage.links import Links
from pipeline.textutil import FEED_DESCRIPTION_LIMIT, is_web_url, shorten, xml_safe

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
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


class PodcastIndexExtension(BaseExtension):
    """Channel tags feedgen lacks or writes in an outdated form: the podcast: namespace,
    itunes:explicit as true/false (Apple's current rule) and Apple's current categories."""

    def __init__(self):
        self.guid: str | None = None
        self.locked_owner: str | None = None
        self.explicit: bool | None = None
        self.category: tuple[str, str | None] | None = None

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, feed):
        channel = feed[0]
        if self.guid:
            xml_elem(f"{{{PODCAST_NS}}}guid", channel).text = self.guid
        if self.locked_owner:
            locked = xml_elem(f"{{{PODCAST_NS}}}locked", channel)
            locked.text, _ = "yes", locked.set("owner", self.locked_owner)
        if self.explicit is not None:
            xml_elem(f"{{{ITUNES_NS}}}explicit", channel).text = "true" if self.explicit else "false"
        if self.category:
            top = xml_elem(f"{{{ITUNES_NS}}}category", channel)
            top.set("text", self.category[0])
            if self.category[1]:
                xml_elem(f"{{{ITUNES_NS}}}category", top).set("text", self.category[1])
        return feed


class PodcastIndexEntryExtension(BaseEntryExtension):
    def __init__(self):
        self.transcripts: list[tuple[str, str]] = []       # (url, type)
        self.chapters: tuple[str, str] | None = None
        self.explicit: bool | None = None

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, item):
        if self.explicit is not None:
            xml_elem(f"{{{ITUNES_NS}}}explicit", item).text = "true" if self.explicit else "false"
        for url, kind in self.transcripts:
            element = xml_elem(f"{{{PODCAST_NS}}}transcript", item)
            element.set("url", url)
            element.set("type", kind)
        if self.chapters:
            element = xml_elem(f"{{{PODCAST_NS}}}chapters", item)
            element.set("url", self.chapters[0])
            element.set("type", self.chapters[1])
        return item


def _pub_date(episode: Episode) -> dt.datetime:
    return dt.datetime.combine(episode.day, dt.time(12, 0), dt.UTC)


def last_change(catalog: Catalog) -> dt.datetime:
    """lastBuildDate is the catalogue's latest change, so the same catalogue gives the same bytes."""
    stamps = [dt.datetime.fromisoformat(e.updated) for e in catalog.episodes if e.updated]
    return max(stamps) if stamps else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def build_feed(show: ShowConfig, catalog: Catalog, links: Links, cover_key: str,
               now: dt.datetime | None = None) -> bytes:
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


def _add_item(fg: FeedGenerator, show: ShowConfig, episode: Episode, audio: AudioInfo, links: Links,
              cover_url: str) -> None:
    entry = fg.add_entry(order="append")
    entry.guid(episode.guid, permalink=False)
    entry.title(xml_text(episode.title))
    entry.link(href=links.url(episode.page_key))
    description = fit_bytes(xml_text(episode.summary))
    # Apps render <description> as HTML: a summary's "<" must stay text there.
    entry.description(fit_bytes(html.escape(description, quote=False)))
    entry.content(xml_text(sanitize_html(episode.content_html)))    # catalog.json is input too
    entry.pubDate(_pub_date(episode))
    entry.enclosure(links.url(audio.key), str(audio.bytes), "audio/mpeg")
    entry.author(name=byline(xml_text(episode.author), show.author), email=show.owner_email)
    entry.podcast.itunes_summary(fit_bytes(html.escape(description, quote=False)))   # rendered as HTML too
    entry.podcast.itunes_duration(max(1, round(audio.duration_s)))
    entry.podcast.itunes_episode(episode.number)
    entry.podcast.itunes_episode_type("full")
    entry.podcast.itunes_image(cover_url)
    entry.podcast.itunes_author(byline(xml_text(episode.author), show.author))
    item_ext = entry.podcastindex
    item_ext.explicit = episode.explicit
    item_ext.transcripts = [(links.url(audio.transcript_key), "text/vtt")]
    if audio.words_key:
        item_ext.transcripts.append((links.url(audio.words_key), "application/json"))
    item_ext.chapters = (links.url(audio.chapters_key), "application/json+chapters")


# --- validation: used before every upload and by `publish check` ---------------------------

REQUIRED_CHANNEL = ("title", "description", "link", "language", f"{{{ITUNES_NS}}}image",
                    f"{{{ITUNES_NS}}}category", f"{{{ITUNES_NS}}}explicit", f"{{{ITUNES_NS}}}author",
                    f"{{{ITUNES_NS}}}owner")


def _name(tag: str) -> str:
    return tag.replace(f"{{{ITUNES_NS}}}", "itunes:").replace(f"{{{PODCAST_NS}}}", "podcast:")


def validate_feed(xml: bytes, sizes: dict[str, int] | None = None) -> list[str]:
    """Problems that Apple or a podcast app would reject, as '<field>: <reason>' strings.

    `sizes` maps enclosure URLs to the real byte sizes of their files, when known."""
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        return [f"feed: not well-formed XML: {exc}"]
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        return ["feed: not an RSS 2.0 document"]
    problems = [f"channel {_name(tag)}: missing" for tag in REQUIRED_CHANNEL
                if channel.find(tag) is None or not (channel.findtext(tag) or channel.find(tag).attrib
                                                     or len(channel.find(tag)))]
    if not LANGUAGE_RE.match(channel.findtext("language") or ""):
        problems.append(f"channel language: '{channel.findtext('language')}' is not a valid code")
    if channel.findtext(f"{{{ITUNES_NS}}}explicit") not in ("true", "false"):
        problems.append("channel itunes:explicit: must be true or false")
    if len((channel.findtext("description") or "").encode()) > APPLE_DESCRIPTION_LIMIT:
        problems.append("channel description: over Apple's 4000-byte limit")
    guids: set[str] = set()
    for item in channel.findall("item"):
        title = item.findtext("title") or "(untitled)"
        where = f"item '{shorten(title, 60)}'"
        guid = item.findtext("guid")
        if not guid:
            problems.append(f"{where} guid: missing")
        elif guid in guids:
            problems.append(f"{where} guid: '{guid}' is used by another item")
        guids.add(guid or "")
        if len((item.findtext("description") or "").encode()) > APPLE_DESCRIPTION_LIMIT:
            problems.append(f"{where} description: over Apple's 4000-byte limit")
        enclosure = item.find("enclosure")
        if enclosure is None:
            problems.append(f"{where} enclosure: missing")
            continue
        url, length, kind = enclosure.get("url", ""), enclosure.get("length", ""), enclosure.get("type")
        if not is_web_url(url):
            problems.append(f"{where} enclosure url: '{url}' is not an http(s) URL")
        if kind != "audio/mpeg":
            problems.append(f"{where} enclosure type: '{kind}', expected audio/mpeg")
        if not length.isdigit() or int(length) <= 0:
            problems.append(f"{where} enclosure length: '{length}' is not a byte count")
        elif sizes is not None and url in sizes and sizes[url] != int(length):
            problems.append(f"{where} enclosure length: feed says {length} bytes, the file has {sizes[url]}")
        if not (item.findtext(f"{{{ITUNES_NS}}}duration") or "").isdigit():
            problems.append(f"{where} itunes:duration: missing or not whole seconds")
    return problems


def check_cover(path) -> list[str]:
    """Apple's artwork rules, read from the file itself."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            fmt, mode, (width, height) = image.format, image.mode, image.size
    except FileNotFoundError:
        return ["cover: file not found"]
    except (UnidentifiedImageError, OSError) as exc:
        return [f"cover: not a readable image ({exc})"]
    problems = []
    if fmt not in ("JPEG", "PNG"):
        problems.append(f"cover: {fmt} image; Apple accepts JPEG or PNG")
    if mode != "RGB":
        problems.append(f"cover: colour mode {mode}; Apple wants RGB")
    if width != height:
        problems.append(f"cover: {width}x{height} is not square")
    elif not 1400 <= width <= 3000:
        problems.append(f"cover: {width}x{height}; Apple wants 1400 to 3000 pixels square")
    return problems
