"""The storage half of putting one episode online, in steps publish.py calls in an order that
keeps the public feed true at every moment: the episode's files first, then the catalogue (a
conditional write), then what is built from it — the home pages, the neighbours' pages, and
feed.xml last."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.buildfolder import BuiltFiles
from pipeline.config import Config
from pipeline.errors import ServiceError
from pipeline.feed.catalog import Catalog, Episode
from pipeline.feed.rss import build_feed, show_guid
from pipeline.feed.validate import validate_feed
from pipeline.report import Reporter
from pipeline.site.home import build_home
from pipeline.site.page import neighbour_episodes, neighbours, with_neighbours
from pipeline.source.document import Issue
from pipeline.storage.bucket import (
    CHAPTERS_TYPE,
    CONTENT_TYPES,
    IMMUTABLE,
    PAGE_CACHE,
    SHORT_CACHE,
    Bucket,
    Item,
    needs_upload,
    update_with_retry,
)
from pipeline.storage.links import Layout, Links
from pipeline.storage.locking import choose_locking, object_lock
from pipeline.textutil import human_size

# Written after the episode's own files, in this order, when they changed.
LAST_WRITTEN = ("catalog.json", "feed.xml")


@dataclass(frozen=True)
class UploadResult:
    uploaded: int
    skipped: int
    bytes: int
    episode: int | None = None  # the number the catalogue ended with (None on a dry run)
    planned: int | None = None  # dry run: how many objects would be written

    def as_json(self) -> dict:
        if self.planned is not None:
            return {
                "uploaded": self.uploaded,
                "skipped": self.skipped,
                "bytes": self.bytes,
                "planned": self.planned,
                "dry_run": True,
            }
        return {"uploaded": self.uploaded, "skipped": self.skipped, "bytes": self.bytes}


def read_catalog(bucket: Bucket, layout: Layout) -> Catalog:
    found = bucket.get(layout.catalog)
    return Catalog.from_json(found[0], f"bucket {bucket.target.bucket}/{layout.catalog}") if found else Catalog()


def page_item(episode: Episode, page: Path) -> Item:
    return Item(episode.page_key, CONTENT_TYPES[".html"], PAGE_CACHE, page)


def episode_items(episode: Episode, files: BuiltFiles, layout: Layout) -> list[Item]:
    """What of build/<slug>/ goes public: the page, the email's web copies and the audio."""
    items = [
        page_item(episode, files.page),
        Item(layout.episode(episode.slug, "email.html"), CONTENT_TYPES[".html"], PAGE_CACHE, files.email_html),
        Item(layout.episode(episode.slug, "email.txt"), CONTENT_TYPES[".txt"], PAGE_CACHE, files.email_text),
    ]
    if files.audio is not None and episode.audio is not None:
        audio = episode.audio
        items += [
            Item(audio.key, "audio/mpeg", IMMUTABLE, files.audio.mp3),
            Item(audio.transcript_key, CONTENT_TYPES[".vtt"], SHORT_CACHE, files.audio.transcript),
            Item(audio.chapters_key, CHAPTERS_TYPE, SHORT_CACHE, files.audio.chapters),
        ]
        if audio.words_key:
            items.append(Item(audio.words_key, CONTENT_TYPES[".json"], SHORT_CACHE, files.audio.words))
    return items


def image_items(issue: Issue, layout: Layout) -> list[Item]:
    """The review's own images, named by their content, so they can be cached for good."""
    return [
        Item(layout.episode(issue.slug, image.name), CONTENT_TYPES[Path(image.name).suffix], IMMUTABLE, data=image.data)
        for image in issue.images
    ]  # the bytes that were checked


def shared_items(config: Config, layout: Layout) -> list[Item]:
    cover = config.show.cover
    return [Item(layout.cover(cover), CONTENT_TYPES[cover.suffix.lower()], "public, max-age=86400", cover)]


def _merge_episode(episode: Episode, guid: str) -> Callable[[bytes | None], bytes]:
    """The catalogue change: upsert our episode into whatever is there now, renumbering a new
    episode whose number a concurrent publisher took first; the show's guid kept, or set once."""

    def change(current: bytes | None) -> bytes:
        catalog = (Catalog.from_json(current) if current else Catalog()).with_guid(guid)
        mine = episode
        clash = next((e for e in catalog.episodes if e.number == mine.number and e.slug != mine.slug), None)
        if clash and catalog.find(mine.slug) is None:
            mine = replace(mine, number=catalog.next_number())
        return catalog.upsert(mine).to_json()

    return change


def plan_upload(bucket: Bucket, links: Links, items: list[Item], reporter: Reporter) -> UploadResult:
    """A dry run: what would be uploaded and what is unchanged; nothing is written."""
    pending = [item for item in items if needs_upload(item, bucket.head(item.key))]
    skipped = len(items) - len(pending)
    for item in pending:
        reporter.info(f"would upload {item.key} ({human_size(item.size)})")
    reporter.info(f"would skip {skipped} unchanged; then write {links.layout.catalog} and {links.layout.feed}")
    return UploadResult(0, skipped, 0, planned=len(pending) + len(LAST_WRITTEN))


def upload_files(bucket: Bucket, items: list[Item], reporter: Reporter) -> UploadResult:
    """The episode's own files, four at a time, those that changed; each checked to have arrived
    whole. Nothing public names them yet: the catalogue and the feed are written after."""
    pending = [item for item in items if needs_upload(item, bucket.head(item.key))]
    progress = reporter.progress("upload", len(pending))

    def put(item: Item) -> None:
        bucket.put(item)
        progress.advance()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(put, pending))
    for item in pending:  # what we wrote is there, whole, with its type
        found = bucket.head(item.key)
        if found is None or found.size != item.size:
            raise ServiceError(f"storage: {item.key} did not arrive whole", "run the same command again")
    return UploadResult(len(pending), len(items) - len(pending), sum(item.size for item in pending))


@contextlib.contextmanager
def catalog_update(
    bucket: Bucket, config: Config, layout: Layout, change: Callable[[bytes | None], bytes]
) -> Iterator[Callable[[], tuple[bytes, str, bool]]]:
    """The one way catalog.json is changed: conditionally, or under a lock object where the
    server ignores conditions. Yields the update to call (it returns body, ETag, changed)."""
    current = bucket.get(layout.catalog)
    unchanged = current is not None and change(current[0]) == current[0]
    locking = (
        "conditional" if unchanged else choose_locking(bucket, config.storage.locking, layout.key(".publish-probe"))
    )
    guard = contextlib.nullcontext() if locking == "conditional" else object_lock(bucket, layout.catalog + ".lock")
    with guard:
        yield lambda: update_with_retry(
            bucket, layout.catalog, change, CONTENT_TYPES[".json"], conditional=locking == "conditional"
        )


def record_list_id(bucket: Bucket, config: Config, layout: Layout, list_id: str) -> str:
    """Keep the subscriber list's id in the catalogue (once); returns the id the catalogue has."""

    def change(current: bytes | None) -> bytes:
        if current is None:
            raise ServiceError(
                f"storage: {layout.catalog} vanished while the list id was recorded", "run the same command again"
            )
        return Catalog.from_json(current).with_list_id(list_id).to_json()

    if bucket.get(layout.catalog) is None:
        return ""  # nothing published yet: the first publish keeps what the store says
    with catalog_update(bucket, config, layout, change) as update:
        body, _, _ = update()
    return Catalog.from_json(body).list_id


def write_catalog(bucket: Bucket, links: Links, config: Config, episode: Episode) -> Iterator[tuple[Catalog, int]]:
    """Merge the episode into catalog.json (conditionally, or under a lock object where the
    server ignores conditions) and yield the catalogue as written, with the bytes written (0:
    it was current). The caller then puts what is built from it; if another publisher changed
    the catalogue meanwhile, its newer catalogue is yielded in turn (at most ten times), so
    the last pages and feed put are built from what the bucket holds. The lock is held until
    the caller is done. A concurrent publisher may have made this episode renumber."""
    layout = links.layout
    change = _merge_episode(episode, show_guid(config.show, Catalog(), links))
    with catalog_update(bucket, config, layout, change) as update:
        body, etag, changed = update()
        yield Catalog.from_json(body), len(body) if changed else 0
        for _ in range(10):
            latest = bucket.head(layout.catalog)
            found = bucket.get(layout.catalog) if latest is not None and latest.etag != etag else None
            if found is None:
                return
            body, etag = found
            yield Catalog.from_json(body), 0


def publish_home_from_catalog(bucket: Bucket, links: Links, config: Config, catalog: Catalog) -> dict[str, int]:
    """The show's home pages, 404, sitemap and robots.txt: those that changed."""
    items = [
        Item(f.key, f.content_type, PAGE_CACHE, data=f.body)
        for f in build_home(config, catalog, links, links.layout.cover(config.show.cover))
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        changed = [
            item
            for item, found in zip(items, pool.map(lambda i: bucket.head(i.key), items), strict=True)
            if needs_upload(item, found)
        ]
        list(pool.map(bucket.put, changed))
    return {item.key: item.size for item in changed}


def link_neighbour_pages(bucket: Bucket, links: Links, catalog: Catalog, slug: str) -> dict[str, int]:
    """The published pages of the issues before and after this one, their "previous" and "next"
    links rendered again (the page published last had no "next"); only what changed is put."""
    written: dict[str, int] = {}
    for other in (e for e in neighbour_episodes(catalog, slug) if e is not None):
        found = bucket.get(other.page_key)
        page = found[0].decode("utf-8", "replace") if found else None
        updated = with_neighbours(page, *neighbours(catalog, other.slug, links)) if page else None
        if updated is not None and updated != page:
            item = Item(other.page_key, CONTENT_TYPES[".html"], PAGE_CACHE, data=updated.encode("utf-8"))
            bucket.put(item)
            written[item.key] = item.size
    return written


def publish_feed_from_catalog(bucket: Bucket, links: Links, config: Config, catalog: Catalog) -> dict[str, int]:
    feed = build_feed(config.show, catalog, links, links.layout.cover(config.show.cover))
    problems = validate_feed(feed)
    if problems:
        raise ServiceError("the feed built from the bucket's catalogue is invalid: " + "; ".join(problems[:3]))
    item = Item(links.layout.feed, CONTENT_TYPES[".xml"], SHORT_CACHE, data=feed)
    if not needs_upload(item, bucket.head(item.key)):
        return {}
    bucket.put(item)
    return {item.key: len(feed)}
