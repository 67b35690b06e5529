"""pipeline/storage/locking.py: the lock object that serialises catalogue updates where the
server ignores conditional writes."""

import json
import os

import pytest


def test_lock_object_serialises_and_a_stale_lock_expires(project):
    import threading
    import time

    from pipeline.storage import locking
    from pipeline.storage.bucket import Item

    bucket = project.bucket_client()
    bucket.ensure_bucket()
    assert locking.conditional_writes_work(bucket, "probe")  # SeaweedFS honours If-None-Match
    inside, overlaps = [], []

    def worker():
        with locking.object_lock(bucket, "catalog.json.lock"):
            if inside:
                overlaps.append(1)
            inside.append(1)
            time.sleep(0.2)
            inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [] and bucket.head("catalog.json.lock") is None
    stale = json.dumps({"owner": "crashed", "host": "elsewhere", "pid": 1, "expires": time.time() - 1})
    bucket.put(Item("catalog.json.lock", "application/json", "no-store", data=stale.encode()))
    started = time.monotonic()
    with locking.object_lock(bucket, "catalog.json.lock"):
        assert json.loads(bucket.get("catalog.json.lock")[0])["owner"] != "crashed"
    assert time.monotonic() - started < 5
    live = json.dumps({"owner": "busy", "host": "elsewhere", "pid": 7, "expires": time.time() + 60})
    bucket.put(Item("catalog.json.lock", "application/json", "no-store", data=live.encode()))
    from pipeline.errors import ServiceError

    with pytest.raises(ServiceError) as caught:
        with locking.object_lock(bucket, "catalog.json.lock", wait_s=1):
            pass
    assert "held by elsewhere (pid 7)" in caught.value.what


def test_lock_objects_hold_nothing_about_the_machine(project):
    import socket as sockets

    from pipeline.storage.locking import object_lock

    bucket = project.bucket_client()
    bucket.ensure_bucket()
    with object_lock(bucket, "catalog.json.lock"):
        held = bucket.get("catalog.json.lock")[0].decode()
    assert sockets.gethostname() not in held and str(os.getpid()) not in held
