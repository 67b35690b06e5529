"""Where each published thing lives: bucket keys and the public URLs built from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import StorageConfig


@dataclass(frozen=True)
class Layout:
    """Bucket keys under the configured prefix. Slugs are validated [a-z0-9-]+,
    so no key can leave its prefix."""

    prefix: str = ""

    def key(self, *parts: str) -> str:
        base = self.prefix.strip("/")
        return "/".join(p for p in (base, *parts) if p)

    def episode(self, slug: str, name: str) -> str:
        return self.key("episodes", slug, name)

    def cover(self, image: Path) -> str:
        return self.key("cover" + image.suffix.lower())

    @property
    def feed(self) -> str:
        return self.key("feed.xml")

    @property
    def catalog(self) -> str:
        return self.key("catalog.json")


@dataclass(frozen=True)
class Links:
    base_url: str
    layout: Layout

    def url(self, key: str) -> str:
        return f"{self.base_url.rstrip('/')}/{key}"

    @property
    def feed_url(self) -> str:
        return self.url(self.layout.feed)

    def web_url(self, slug: str) -> str:
        return self.url(self.layout.episode(slug, "index.html"))


def public_base_url(storage: StorageConfig, endpoint_url: str | None) -> str:
    """The URL listeners use: configured, else endpoint/bucket (path style)."""
    if storage.public_url:
        return storage.public_url.rstrip("/")
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{storage.bucket}"
    return f"https://{storage.bucket}.s3.{storage.region}.amazonaws.com"


def make_links(storage: StorageConfig, endpoint_url: str | None) -> Links:
    return Links(public_base_url(storage, endpoint_url), Layout(storage.prefix))
