"""What is online, from the bucket's catalogue alone: `publish feed` builds the home pages and
the feed again and puts those that changed; `publish check` verifies the feed, every file it
names and the catalogue's sizes over HTTP."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.feed.rss import show_guid
from pipeline.feed.verify import verify_published_feed
from pipeline.report import Reporter
from pipeline.site.home import home_url
from pipeline.storage.session import open_storage
from pipeline.storage.upload import publish_feed_from_catalog, publish_home_from_catalog, read_catalog


def republish(config: Config, reporter: Reporter) -> dict:
    """Rebuild the home pages and feed.xml from the bucket's catalogue; upload what changed."""
    with open_storage(config) as storage:
        catalog = read_catalog(storage.bucket, storage.links.layout)
        written = publish_home_from_catalog(storage.bucket, storage.links, config, catalog)
        written.update(publish_feed_from_catalog(storage.bucket, storage.links, config, catalog))
        reporter.info(f"home     {home_url(storage.links)}")
        reporter.info(
            f"feed     {storage.links.feed_url} ({len(catalog.episodes)} episodes"
            f"{', uploaded' if written else ', unchanged'})"
        )
        return {"feed_url": storage.links.feed_url, "episodes": len(catalog.episodes), "uploaded": written}


def verify_bucket(config: Config, reporter: Reporter) -> dict:
    """Verify what listeners get: the feed, every file it names, and the catalogue's sizes."""
    with open_storage(config) as storage:
        catalog = read_catalog(storage.bucket, storage.links.layout)
        problems, checked = verify_published_feed(
            storage.links.feed_url, show_guid(config.show, catalog, storage.links)
        )
        for episode in catalog.episodes:
            if episode.audio is None:
                continue
            found = storage.bucket.head(episode.audio.key)
            if found is None:
                problems.append(f"{episode.audio.key}: missing from the bucket (episode '{episode.slug}')")
            elif found.size != episode.audio.bytes:
                problems.append(f"{episode.audio.key}: {found.size} bytes, the catalogue says {episode.audio.bytes}")
        for problem in problems:
            reporter.warn(problem)
        reporter.info(
            f"check    {checked} feed items, {len(catalog.episodes)} catalogue entries, {len(problems)} problems"
        )
        return {"feed_url": storage.links.feed_url, "items": checked, "problems": problems}
