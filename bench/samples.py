"""Catalogue entries and ports for the benchmarks: their own, so the bench never imports the tests."""

from __future__ import annotations

import socket

from pipeline.feed.catalog import AudioInfo, Episode
from pipeline.storage.links import Layout, Links

LINKS = Links("https://media.example.com/pod", Layout(""))


def episode(n: int, day: str | None = None, tags: tuple[str, ...] = (), audio: bool = True) -> Episode:
    """Episode n of a show, its audio and pages where publish puts them."""
    slug = f"episode-{n}"
    sound = AudioInfo(
        f"episodes/{slug}/{slug}-abc{n}.mp3",
        1_000_000 + n,
        "f" * 64,
        600.4 + n,
        f"episodes/{slug}/transcript.vtt",
        f"episodes/{slug}/chapters.json",
    )
    day = day or f"2020-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}"
    return Episode(
        slug=slug,
        guid=f"guid-{n}",
        number=n,
        title=f"Review <{n}>",
        date=day,
        summary=f"Summary {n} & more.",
        content_html=f"<p>Body {n}</p>",
        author="",
        explicit=False,
        page_key=f"episodes/{slug}/index.html",
        audio=sound if audio else None,
        tags=tags,
        updated=f"{day}T12:00:00+00:00",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
