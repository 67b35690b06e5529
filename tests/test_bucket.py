"""pipeline/storage/bucket.py against a real S3 (SeaweedFS): objects with their type and
checksum, conditional writes that lose a race instead of overwriting, and a read-modify-write
that retries until it wins."""

import threading

import pytest

from pipeline.storage.bucket import Item, PreconditionFailed, needs_upload, update_with_retry


def test_an_object_comes_back_with_its_type_size_and_checksum(project):
    bucket = project.bucket_client()
    bucket.ensure_bucket()
    item = Item("episodes/x/page.html", "text/html; charset=utf-8", "public, max-age=60", data=b"<p>x</p>")
    bucket.put(item)
    found = bucket.head(item.key)
    assert (found.size, found.content_type, found.sha256) == (8, "text/html; charset=utf-8", item.sha256)
    assert bucket.get(item.key)[0] == b"<p>x</p>"
    assert not needs_upload(item, found) and needs_upload(Item(item.key, "text/html", "", data=b"<p>y</p>"), found)
    assert bucket.head("episodes/x/missing.html") is None and bucket.get("episodes/x/missing.html") is None


def test_a_conditional_write_never_overwrites_a_change_it_did_not_see(project):
    bucket = project.bucket_client()
    bucket.ensure_bucket()
    bucket.put(Item("catalog.json", "application/json", "no-store", data=b"1"), if_none_match=True)
    with pytest.raises(PreconditionFailed):  # it exists now: a second create loses
        bucket.put(Item("catalog.json", "application/json", "no-store", data=b"2"), if_none_match=True)
    seen = bucket.get("catalog.json")[1]
    bucket.put(Item("catalog.json", "application/json", "no-store", data=b"3"), if_match=seen)
    with pytest.raises(PreconditionFailed):  # written against what is no longer there
        bucket.put(Item("catalog.json", "application/json", "no-store", data=b"4"), if_match=seen)
    assert bucket.get("catalog.json")[0] == b"3"


def test_concurrent_read_modify_writes_all_land(project):
    """Eight writers each add their line to one object at once: every line is there, once."""
    bucket = project.bucket_client()
    bucket.ensure_bucket()

    def add(n: int) -> None:
        update_with_retry(bucket, "log.txt", lambda current: (current or b"") + f"{n}\n".encode(), "text/plain")

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(bucket.get("log.txt")[0].split()) == [str(n).encode() for n in range(8)]
