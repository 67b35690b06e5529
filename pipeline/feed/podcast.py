"""Podcasting 2.0 and current iTunes tags for the channel, as a feedgen extension (feedgen's
`ext/<name>.py` pairing; the item's half is podcast_entry.py)."""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseExtension
from feedgen.util import xml_elem

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"


class PodcastIndexExtension(BaseExtension):
    """Channel tags feedgen lacks or writes in an outdated form: the podcast: namespace,
    itunes:explicit as true/false (Apple's current rule) and Apple's current categories."""

    def __init__(self) -> None:
        self.guid: str | None = None
        self.locked_owner: str | None = None
        self.explicit: bool | None = None
        self.category: tuple[str, str | None] | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, feed: Any) -> Any:
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
