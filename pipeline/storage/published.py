"""What is online, from the bucket's catalogue alone: `publish feed` builds the home pages and
the feed again and puts those that changed; `publish check` verifies the feed, every file it
names and the catalogue's sizes over HTTP; `publish remove` takes an episode back."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.errors import InputError, ServiceError
from pipeline.feed.catalog import Catalog, Episode
from pipeline.feed.rss import show_guid
from pipeline.feed.verify import verify_published_feed
from pipeline.report import Reporter
from pipeline.site.home import build_home, home_url
from pipeline.site.page import neighbours, with_neighbours
from pipeline.storage.bucket import CONTENT_TYPES, PAGE_CACHE, Item
from pipeline.storage.session import StorageSession, open_storage
from pipeline.storage.upload import catalog_update, publish_feed_from_catalog, publish_home_from_catalog, read_catalog
from pipeline.textutil import SLUG_RE
from pipeline.timefmt import utc_stamp


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


def remove_episode(config: Config, slug: str, reporter: Reporter) -> dict:
    """`publish remove SLUG`."""
    if not SLUG_RE.match(slug):
        raise InputError.at(slug, "is not an episode's slug (a-z, 0-9 and '-', as in its page's URL)")
    with open_storage(config) as storage:
        before = read_catalog(storage.bucket, storage.links.layout)
        if before.find(slug) is None and before.find_removed(slug) is None:
            known = ", ".join(e.slug for e in before.episodes[:10]) or "none yet"
            raise InputError.at(slug, f"no episode '{slug}' is published (published: {known})")
        return take_back(storage, config, slug, reporter)


def take_back(storage: StorageSession, config: Config, slug: str, reporter: Reporter) -> dict:
    """Take a published episode back, in the order that keeps every moment consistent: the
    catalogue first (its guid and number kept), then the home pages, the neighbours' links and
    the sitemap, then the feed, and only then its files, so the feed never names a missing one.
    Stopped anywhere, the same command finishes the job."""
    bucket, links = storage.bucket, storage.links

    def change(current: bytes | None) -> bytes:
        if current is None:
            raise ServiceError(f"storage: {links.layout.catalog} vanished", "run the same command again")
        return Catalog.from_json(current).remove(slug, utc_stamp()).to_json()

    with catalog_update(bucket, config, links.layout, change) as update:
        body, _, _ = update()
    catalog = Catalog.from_json(body)
    written = publish_home_from_catalog(bucket, links, config, catalog)
    kept = {f.key for f in build_home(config, catalog, links, links.layout.cover(config.show.cover))}
    listings = [*bucket.list_keys(links.layout.key("tags") + "/"), *bucket.list_keys(links.layout.key("page") + "/")]
    stale = {key for key in listings if key not in kept}  # a tag only it had, a page of the listing less
    for other in _beside(catalog, slug):
        found = bucket.get(other.page_key)
        page = found[0].decode("utf-8", "replace") if found else None
        updated = with_neighbours(page, *neighbours(catalog, other.slug, links)) if page else None
        if updated is not None and updated != page:
            bucket.put(Item(other.page_key, CONTENT_TYPES[".html"], PAGE_CACHE, data=updated.encode("utf-8")))
            written[other.page_key] = len(updated)
    written.update(publish_feed_from_catalog(bucket, links, config, catalog))
    folder = links.layout.episode(slug, "") + "/"  # the slash: episodes/x-2/ is another episode's
    gone = sorted({*bucket.list_keys(folder), *stale})
    for key in gone:
        bucket.delete(key)
    reporter.info(
        f"removed  {slug}: out of the feed, the home page and the sitemap; {len(gone)} files deleted "
        "(its guid and number are kept: publishing it again brings back the same episode)"
    )
    return {"slug": slug, "feed_url": links.feed_url, "uploaded": written, "deleted": gone}


def _beside(catalog: Catalog, slug: str) -> list[Episode]:
    """The episodes numbered just before and after a removed one: their pages link to it."""
    removed = catalog.find_removed(slug)
    if removed is None:
        return []
    before = [e for e in catalog.episodes if e.number < removed.number]
    after = [e for e in catalog.episodes if e.number > removed.number]
    return [
        *([max(before, key=lambda e: e.number)] if before else []),
        *([min(after, key=lambda e: e.number)] if after else []),
    ]
