"""Podcasting 2.0 and current iTunes tags for each item: transcripts, chapters, explicit; and
Podlove Simple Chapters (psc:chapters), which apps such as gPodder read instead of the JSON."""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseEntryExtension
from feedgen.util import xml_elem

from pipeline.feed.podcast import ITUNES_NS, PODCAST_NS

PSC_NS = "http://podlove.org/simple-chapters"


def npt(seconds: float) -> str:
    """A chapter's start as Podlove writes it (normal play time): 01:02:05.250."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


class PodcastIndexEntryExtension(BaseEntryExtension):
    def __init__(self) -> None:
        self.transcripts: list[tuple[str, str]] = []  # (url, type)
        self.chapters: tuple[str, str] | None = None
        self.explicit: bool | None = None
        self.simple_chapters: tuple[tuple[float, str], ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS, "psc": PSC_NS}

    def extend_rss(self, item: Any) -> Any:
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
        if self.simple_chapters:
            chapters = xml_elem(f"{{{PSC_NS}}}chapters", item)
            chapters.set("version", "1.2")
            for start, title in self.simple_chapters:
                chapter = xml_elem(f"{{{PSC_NS}}}chapter", chapters)
                chapter.set("start", npt(start))
                chapter.set("title", title)
        return item
