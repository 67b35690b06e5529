"""Keeping two publishers from losing each other's episode in catalog.json.

Where the server honours conditional writes (AWS S3 since 2024, R2, MinIO, SeaweedFS), the
catalogue is updated with If-Match / If-None-Match and a lost race is simply retried. Where it
does not, a lock object with an expiry serialises the update: write our claim, wait for
concurrent claims to land, read it back, and go ahead only if ours is the one that stuck. That
relies on S3's read-after-write consistency, and an expired claim (a publisher that crashed)
is taken over."""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid
from collections.abc import Iterator

from pipeline.errors import ServiceError
from pipeline.retry import poll_until
from pipeline.storage.bucket import Bucket, Item, PreconditionFailed

LOCK_TTL_S = 120.0  # longer than a catalogue + feed write ever takes
SETTLE_S = 0.5  # for a concurrent claim to land before we read ours back
WAIT_S = 180.0


def conditional_writes_work(bucket: Bucket, probe_key: str) -> bool:
    """Probe: a second create-only write of the same key must be refused. Any refusal proves
    it, including one caused by a probe left behind by a killed run or a concurrent publisher."""
    probe = Item(probe_key, "text/plain", "no-store", data=b"probe")
    try:
        bucket.put(probe, if_none_match=True)
        bucket.put(probe, if_none_match=True)
        return False
    except PreconditionFailed:
        return True
    except ServiceError:
        return False  # e.g. 501 NotImplemented for the header
    finally:
        with contextlib.suppress(ServiceError):
            bucket.delete(probe_key)


def choose_locking(bucket: Bucket, setting: str, probe_key: str) -> str:
    if setting != "auto":
        return setting
    return "conditional" if conditional_writes_work(bucket, probe_key) else "lock-object"


def _claim(owner: str) -> bytes:
    """What a lock object holds: a random owner and times, nothing about the machine or its
    user (the bucket's public-read policy covers the lock while it exists)."""
    now = time.time()
    return json.dumps({"owner": owner, "since": round(now), "expires": now + LOCK_TTL_S}).encode()


def _describe(holder: dict) -> str:
    if holder.get("host"):  # a lock written by an older publish
        return f"{holder['host']} (pid {holder.get('pid', '?')})"
    since = holder.get("since")
    started = time.strftime("%H:%M:%S UTC", time.gmtime(float(since))) if isinstance(since, (int, float)) else "?"
    return f"another publisher (since {started})"


def _holder(bucket: Bucket, key: str) -> dict | None:
    current = bucket.get(key)
    if current is None:
        return None
    try:
        holder = json.loads(current[0])
        return holder if isinstance(holder, dict) else {}
    except ValueError:
        return {}  # unreadable: treat as expired


@contextlib.contextmanager
def object_lock(bucket: Bucket, key: str, wait_s: float = WAIT_S) -> Iterator[None]:
    owner = uuid.uuid4().hex
    seen: list[dict] = [{}]

    def claimed() -> bool | None:
        holder = _holder(bucket, key)
        if holder is None or float(holder.get("expires", 0)) < time.time():
            bucket.put(Item(key, "application/json", "no-store", data=_claim(owner)))
            time.sleep(SETTLE_S)
            holder = _holder(bucket, key)
            if holder and holder.get("owner") == owner:
                return True
        seen[0] = holder or {}
        return None

    poll_until(
        claimed,
        wait_s,
        lambda: random.uniform(0.2, 0.6),
        lambda: ServiceError(
            f"storage: {key} is held by {_describe(seen[0])}",
            "another publisher is busy; run the same command again when it is done "
            f"(a stale lock expires after {LOCK_TTL_S:.0f} s)",
        ),
    )
    try:
        yield
    finally:
        holder = _holder(bucket, key)
        if holder and holder.get("owner") == owner:
            bucket.delete(key)
