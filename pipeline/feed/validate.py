"""Checks on what publish built, before anything is uploaded: the feed as Apple and podcast
apps read it, and the cover by Apple's artwork rules. (What is online is verified over HTTP
by verify.py, which runs these checks again on what it fetched.)"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from pipeline.config import LANGUAGE_RE
from pipeline.feed.podcast import ITUNES_NS, PODCAST_NS
from pipeline.feed.rss import APPLE_DESCRIPTION_LIMIT
from pipeline.textutil import is_web_url, shorten

REQUIRED_CHANNEL = (
    "title",
    "description",
    "link",
    "language",
    f"{{{ITUNES_NS}}}image",
    f"{{{ITUNES_NS}}}category",
    f"{{{ITUNES_NS}}}explicit",
    f"{{{ITUNES_NS}}}author",
    f"{{{ITUNES_NS}}}owner",
)


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
    problems = _channel_problems(channel)
    guids: set[str] = set()
    for item in channel.findall("item"):
        problems += _item_problems(item, guids, sizes)
    return problems


def _channel_problems(channel: etree._Element) -> list[str]:
    problems = [
        f"channel {_name(tag)}: missing"
        for tag in REQUIRED_CHANNEL
        if channel.find(tag) is None
        or not (channel.findtext(tag) or channel.find(tag).attrib or len(channel.find(tag)))
    ]
    if not LANGUAGE_RE.match(channel.findtext("language") or ""):
        problems.append(f"channel language: '{channel.findtext('language')}' is not a valid code")
    if channel.findtext(f"{{{ITUNES_NS}}}explicit") not in ("true", "false"):
        problems.append("channel itunes:explicit: must be true or false")
    if len((channel.findtext("description") or "").encode()) > APPLE_DESCRIPTION_LIMIT:
        problems.append("channel description: over Apple's 4000-byte limit")
    return problems


def _item_problems(item: etree._Element, guids: set[str], sizes: dict[str, int] | None) -> list[str]:
    """One item's problems; `guids` collects the guids seen so far, to catch one used twice."""
    problems = []
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
        return [*problems, f"{where} enclosure: missing"]
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


def validate_cover(path: Path) -> list[str]:
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
