"""Podcasting 2.0 and current iTunes tags for each item: transcripts, chapters, explicit."""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseEntryExtension
from feedgen.util import xml_elem

from pipeline.feed.podcast import ITUNES_NS, PODCAST_NS


class PodcastIndexEntryExtension(BaseEntryExtension):
    def __init__(self) -> None:
        self.transcripts: list[tuple[str, str]] = []  # (url, type)
        self.chapters: tuple[str, str] | None = None
        self.explicit: bool | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

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
        return item
