"""Verify what listeners fetch, over plain HTTP through the public URL: the feed (validated
again as fetched), every enclosure, transcript and chapters file it names.

The chain of checks has three names: *validate* what was built (feed/validate.py, before any
upload), *verify* what is online (here, after each upload and for `publish check`), and
`publish check`, the command that runs the verification on a whole bucket."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from lxml import etree

from pipeline.feed.podcast import PODCAST_NS
from pipeline.feed.validate import validate_feed

TIMEOUT = 15


def _request(url: str, method: str = "GET", headers: dict | None = None) -> Any:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    return urllib.request.urlopen(request, timeout=TIMEOUT)


def fetch(url: str) -> bytes:
    with _request(url) as answer:
        return answer.read()


def check_url(url: str, length: int | None = None, kind: str | None = None, ranged: bool = False) -> str | None:
    """None if the URL serves what it should, else what is wrong."""
    try:
        with _request(url, "HEAD") as answer:
            size = answer.headers.get("Content-Length")
            served = (answer.headers.get("Content-Type") or "").split(";")[0]
        if length is not None and size is not None and int(size) != length:
            return f"{url}: {size} bytes, the feed says {length}"
        if kind and served != kind:
            return f"{url}: served as {served or 'no type'}, expected {kind}"
        if ranged:
            with _request(url, headers={"Range": "bytes=0-1"}) as answer:
                if answer.status != 206:
                    return f"{url}: no byte-range support (status {answer.status}); podcast apps need it to seek"
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: unreachable ({getattr(exc, 'reason', exc)})"
    return None


def verify_published_feed(feed_url: str, guid: str | None = None) -> tuple[list[str], int]:
    """(problems, items checked): the feed fetched, validated, and every file it names fetched;
    with `guid`, the feed's podcast:guid must be it (apps know the podcast by it)."""
    try:
        xml = fetch(feed_url)
    except urllib.error.HTTPError as exc:
        return [f"{feed_url}: HTTP {exc.code}"], 0
    except (urllib.error.URLError, OSError) as exc:
        return [f"{feed_url}: unreachable ({getattr(exc, 'reason', exc)})"], 0
    problems = [f"feed.xml: {p}" for p in validate_feed(xml)]
    if problems and any("well-formed" in p for p in problems):
        return problems, 0
    channel = etree.fromstring(xml).find("channel")
    found = channel.findtext(f"{{{PODCAST_NS}}}guid") if channel is not None else None
    if guid and found != guid:
        problems.append(
            f"feed.xml: podcast:guid is {found!r}, the catalogue's is {guid!r} (apps would see "
            "a new podcast; run `publish feed` to write it again)"
        )
    items = etree.fromstring(xml).findall("channel/item")
    for item in items:
        enclosure = item.find("enclosure")
        if enclosure is not None:
            problem = check_url(enclosure.get("url"), int(enclosure.get("length") or 0), "audio/mpeg", ranged=True)
            if problem:
                problems.append(problem)
        for tag in ("transcript", "chapters"):
            element = item.find(f"{{{PODCAST_NS}}}{tag}")
            if element is not None:
                problem = check_url(element.get("url"))
                if problem:
                    problems.append(problem)
    return problems, len(items)
