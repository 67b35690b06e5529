"""Who unsubscribed: one object per address in a private bucket, named by a keyed hash of
the address and the list, never the address itself. The unsubscribe service writes it;
`publish send` reads it, so an unsubscribe needs no edit of the writer's list."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from pipeline.mail.unsubscribe import normalize_address
from pipeline.storage import Bucket, Item

PREFIX = "unsubscribed/"


class OptOuts:
    def __init__(self, bucket: Bucket, secret: str, list_id: str):
        self.bucket, self._secret, self._list = bucket, secret.encode("utf-8"), list_id.strip().lower()

    def key(self, address: str) -> str:
        message = f"optout\0{self._list}\0{normalize_address(address)}".encode()
        return PREFIX + hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]

    def add(self, address: str) -> None:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.bucket.put(Item(self.key(address), "application/json", "no-store",
                             data=json.dumps({"unsubscribed_at": at}).encode()))

    def remove(self, address: str) -> None:
        self.bucket.delete(self.key(address))

    def contains(self, address: str) -> bool:
        return self.bucket.head(self.key(address)) is not None

    def keys(self) -> set[str]:
        """Every recorded unsubscribe (read once per send: one listing, not a request per address)."""
        return set(self.bucket.list_keys(PREFIX))
