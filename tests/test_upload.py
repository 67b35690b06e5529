"""pipeline/storage/upload.py against a real S3: the episode's files arrive whole, and the
catalogue is written so that what is built from it follows every publisher's change."""

from pipeline.config import Config
from pipeline.feed.catalog import Catalog
from pipeline.report import Reporter
from pipeline.storage.bucket import Item
from pipeline.storage.links import Layout, Links
from pipeline.storage.upload import upload_files, write_catalog
from tests.test_feed import episode

LINKS = Links("https://media.example.com/pod", Layout(""))


def test_only_changed_files_are_uploaded_and_each_checked(project):
    bucket = project.bucket_client()
    bucket.ensure_bucket()
    items = [Item(f"episodes/a/{n}.txt", "text/plain", "no-store", data=f"file {n}".encode()) for n in range(3)]
    first = upload_files(bucket, items, Reporter(quiet=True))
    assert (first.uploaded, first.skipped, first.bytes) == (3, 0, 18)
    items[1] = Item("episodes/a/1.txt", "text/plain", "no-store", data=b"file one, edited")
    again = upload_files(bucket, items, Reporter(quiet=True))
    assert (again.uploaded, again.skipped) == (1, 2)
    assert bucket.get("episodes/a/1.txt")[0] == b"file one, edited"


def test_a_catalogue_changed_by_another_publisher_meanwhile_is_yielded_in_turn(project):
    """While this publisher puts the pages and feed built from the catalogue it wrote, another
    adds its episode: the newer catalogue comes next, so the last feed put names both."""
    bucket = project.bucket_client()
    bucket.ensure_bucket()
    seen = []
    for catalog, written in write_catalog(bucket, LINKS, Config(), episode(1)):
        seen.append((sorted(e.slug for e in catalog.episodes), written > 0))
        if len(seen) == 1:  # the other publisher, between our write and our feed
            theirs = Catalog.from_json(bucket.get("catalog.json")[0]).upsert(episode(2))
            bucket.put(Item("catalog.json", "application/json", "no-store", data=theirs.to_json()))
    assert seen == [(["episode-1"], True), (["episode-1", "episode-2"], False)]
