"""The list's own store, in the private bucket: one record per subscriber (mail/records.py),
under names that depend on nothing the writer may change.

`list.json` is made once, with a create-only write, and holds the list's id (a UUID, also kept
in the public catalogue so a misspelt or swapped bucket is noticed), a random key that names the
records, and every list identity (show title and From domain) the list has been sent under, so
links already in inboxes keep verifying after a retitle. A record is
`subscribers/<HMAC(name key, address)>`, so a listing reveals no address, and retitling the
show, changing the From domain or rotating PUBLISH_SECRET renames nothing. Every write is
conditional (If-None-Match to create, If-Match to update). Records of the first scheme
(`unsubscribed/`, named with the secret and the identity) are still read as unsubscribes, and
copied to the new names when seen. `snapshot.json.gz` holds the last full read with each
record's ETag, so reading the whole list is one listing plus a GET per record changed since."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import random
import secrets as random_secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pipeline.config import Config
from pipeline.errors import InputError, ServiceError
from pipeline.feed.catalog import Catalog
from pipeline.mail.address import address_mac, normalize_address
from pipeline.mail.compose import list_identity
from pipeline.mail.records import Record, unsubscribe
from pipeline.storage.bucket import TIMEOUT_S, Bucket, Item, PreconditionFailed
from pipeline.storage.locking import conditional_writes_work
from pipeline.timefmt import utc_stamp

LIST_KEY = "list.json"
PREFIX = "subscribers/"
LEGACY_PREFIX = "unsubscribed/"
SNAPSHOT_KEY = "snapshot.json.gz"  # the last full read, a cache (ListStore.view)
READERS = 16  # records read at once
MAX_RACES = 20
PROBE_KEY = ".conditional-write-probe"
DELETE = object()
Step = Callable[["Record | None"], "Record | None | object"]


@dataclass(frozen=True)
class ListInfo:
    list_id: str
    name_key: bytes
    identities: tuple[str, ...]
    created: str

    def to_json(self) -> bytes:
        return (
            json.dumps(
                {
                    "version": 1,
                    "list_id": self.list_id,
                    "created": self.created,
                    "name_key": base64.b64encode(self.name_key).decode("ascii"),
                    "identities": list(self.identities),
                },
                indent=1,
            ).encode("utf-8")
            + b"\n"
        )

    @staticmethod
    def from_json(raw: bytes, where: str) -> ListInfo:
        try:
            data = json.loads(raw.decode("utf-8"))
            key = base64.b64decode(data["name_key"], validate=True)
            identities = data.get("identities", [])
            if (
                data.get("version") != 1
                or len(key) < 16
                or not isinstance(identities, list)
                or not all(isinstance(i, str) for i in identities)
            ):
                raise ValueError("unexpected fields")
            return ListInfo(str(uuid.UUID(data["list_id"])), key, tuple(identities), str(data.get("created", "")))
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeError) as exc:
            raise ServiceError(
                f"storage: {where} is damaged ({exc})",
                "restore it from a backup of the private bucket; it names every record",
            ) from None


def new_list(identity: str) -> ListInfo:
    return ListInfo(str(uuid.uuid4()), random_secrets.token_bytes(32), (identity,), utc_stamp())


def _legacy_key(secret: str, identity: str, address: str) -> str:
    purpose = f"optout\0{identity.strip().lower()}\0".encode()
    return LEGACY_PREFIX + address_mac(secret, purpose, address).hexdigest()[:40]


class ListStore:
    """The private bucket of one list. `open_list` checks it is the show's own before anyone
    reads or writes it."""

    def __init__(self, bucket: Bucket, info: ListInfo, secrets: Iterable[str] = ()):
        self.bucket, self.info, self._secrets = bucket, info, tuple(secrets)
        # With a dict here (an import sets one), what this process writes is kept with the
        # ETags the writes returned, so reading the whole list afterwards needs no request for it.
        self.recent: dict[str, tuple[str, Record]] | None = None
        self._legacy: bool | None = None

    @property
    def earlier_secrets(self) -> tuple[str, ...]:
        return self._secrets[1:]

    @property
    def list_ids(self) -> tuple[str, ...]:
        """What an unsubscribe token may be bound to: the list's id, then every identity it had."""
        return (self.info.list_id, *self.info.identities)

    def key(self, address: str) -> str:
        return PREFIX + address_mac(self.info.name_key, b"subscriber\0", address).hexdigest()[:40]

    def legacy_keys(self, address: str) -> set[str]:
        return {_legacy_key(s, i, address) for s in self._secrets for i in self.info.identities}

    def read(self, address: str, key: str = "") -> tuple[Record | None, str | None]:
        """The record (under `key` when given, else the address's) and its ETag (None: not
        stored under its lasting name yet). A first-scheme opt-out reads as an unsubscribe, to
        be written under the lasting name."""
        key = key or self.key(address)
        found = self.bucket.get(key)
        if found is not None:
            return _parse(found[0], key), found[1]
        if address and self._has_legacy() and any(self.bucket.head(k) is not None for k in self.legacy_keys(address)):
            return Record("unsubscribed", normalize_address(address), history=({"event": "unsubscribed"},)), None
        return None, None

    def _has_legacy(self) -> bool:
        """Whether the store holds any first-scheme record: asked once (nothing writes them
        any more), so a store without them costs no request per address for them."""
        if self._legacy is None:
            self._legacy = bool(self.bucket.list_keys(LEGACY_PREFIX))
        return self._legacy

    def change(self, address: str, step: Step, key: str = "") -> Record | None:
        """Apply `step` to the address's record (or the one named `key`: an unsubscribe link's
        token names a record, not an address) and write the result with a conditional request
        (If-None-Match to create, If-Match to update), again from a fresh read whenever another
        writer got there first: two services on one store never lose an update. `step` returns
        the record to write, None for no change, or DELETE. Returns what the store holds now."""
        key = key or self.key(address)
        for _ in range(MAX_RACES):
            current, etag = self.read(address, key)
            wanted = step(current)
            if wanted is None and current is not None and etag is None:
                wanted = current  # a first-scheme record: carried over to its lasting name
            if wanted is None:
                return current
            try:
                if wanted is DELETE:
                    self.bucket.delete(key)
                    for legacy in self.legacy_keys(address) if address else ():
                        self.bucket.delete(legacy)
                    return None
                assert isinstance(wanted, Record)
                item = Item(key, "application/json", "no-store", data=wanted.to_json())
                written = self.bucket.put(item, if_match=etag, if_none_match=etag is None)
                if self.recent is not None:
                    self.recent[key] = (written, wanted)
                return wanted
            except PreconditionFailed:
                time.sleep(random.uniform(0.0, 0.05))
        raise ServiceError(
            f"storage: the record of one subscriber kept changing under {MAX_RACES} tries to update it",
            "try again; something is writing it in a loop",
        )

    def add(self, address: str, source: str = "link", key: str = "") -> None:
        """An unsubscribe from the link (or a journal replayed): of the address, or of the
        record named `key` (a link that carries no address)."""
        known = normalize_address(address) if address else ""
        self.change(
            address, lambda record: unsubscribe(record, known or (record.address if record else ""), source), key
        )

    def record_key(self, name: str) -> str:
        """The store's key of a record named in a link's token (its last part)."""
        return PREFIX + name

    def record_name(self, address: str) -> str:
        """What a link's token names: the last part of the address's record key."""
        return self.key(address)[len(PREFIX) :]

    def view(self, save: bool = True) -> ListView:
        """The whole list as it is now: one listing (1,000 names a request), the snapshot of the
        last read, and a GET of each record written since (many at once). With `save`, the
        snapshot is brought up to date for the next reader (it is a cache, checked by ETag
        against the listing every time, so a stale one costs requests, never correctness)."""
        listed = self.bucket.list_etags(PREFIX)
        snapshot = {**self._snapshot(), **(self.recent or {})}
        records: dict[str, Record] = {}
        fresh: dict[str, tuple[str, Record]] = {}
        stale = []
        for key, etag in listed.items():
            kept = snapshot.get(key)
            if kept is not None and kept[0] == etag:
                records[key] = kept[1]
            else:
                stale.append(key)

        def fetch(key: str) -> None:
            found = self.bucket.get(key)
            if found is not None:  # deleted since the listing: gone
                records[key] = _parse(found[0], key)
                fresh[key] = (found[1], records[key])

        with ThreadPoolExecutor(READERS) as pool:
            list(pool.map(fetch, stale))
        if save and (fresh or self.recent or len(snapshot) != len(records)):
            etags = {key: fresh[key][0] if key in fresh else listed[key] for key in records}
            self._save_snapshot(records, etags)
            self.recent = {} if self.recent is not None else None
        return ListView(self, records, set(self.bucket.list_keys(LEGACY_PREFIX)), carry_over=save)

    def _snapshot(self) -> dict[str, tuple[str, Record]]:
        found = self.bucket.get(SNAPSHOT_KEY)
        if found is None:
            return {}
        try:
            data = json.loads(gzip.decompress(found[0]))
            return {key: (etag, Record.from_dict(record)) for key, (etag, record) in data["records"].items()}
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return {}  # a damaged cache: every record is read again, and a good one written

    def _save_snapshot(self, records: dict[str, Record], etags: dict[str, str]) -> None:
        data = {
            "version": 1,
            "written": utc_stamp(),
            "records": {k: [etags[k], r.to_dict()] for k, r in records.items()},
        }
        body = gzip.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)
        self.bucket.put(Item(SNAPSHOT_KEY, "application/gzip", "no-store", data=body))

    def remember_identity(self, identity: str) -> None:
        """Add the identity the list is sent under now, so its links keep verifying later."""
        if identity in self.info.identities:
            return
        for _ in range(10):
            found = self.bucket.get(LIST_KEY)
            if found is None:
                raise ServiceError(
                    f"storage: {LIST_KEY} vanished from the subscriber store",
                    "restore it from a backup of the private bucket",
                )
            current = ListInfo.from_json(found[0], LIST_KEY)
            updated = ListInfo(current.list_id, current.name_key, (*current.identities, identity), current.created)
            try:
                self.bucket.put(
                    Item(LIST_KEY, "application/json", "no-store", data=updated.to_json()), if_match=found[1]
                )
            except PreconditionFailed:
                continue
            self.info = updated
            return


@dataclass
class ListView:
    """The list as one read found it, by record name."""

    store: ListStore
    records: dict[str, Record]
    legacy: set[str]
    carry_over: bool = True

    def record_of(self, address: str) -> Record | None:
        found = self.records.get(self.store.key(address))
        if found is None and self.legacy and self.store.legacy_keys(address) & self.legacy:
            if self.carry_over:
                self.store.add(address, source="first-scheme record")  # carried over to a name that lasts
            found = Record("unsubscribed", normalize_address(address))
            self.records[self.store.key(address)] = found
        return found

    def suppressed(self, address: str) -> bool:
        """Never to be mailed: unsubscribed, bounced or complained."""
        found = self.record_of(address)
        return found is not None and found.suppressed

    def with_status(self, *statuses: str) -> list[Record]:
        """Records of these statuses (every one when none is named), oldest first."""
        chosen = [r for r in self.records.values() if not statuses or r.status in statuses]
        return sorted(chosen, key=lambda r: (r.created, r.address))

    @property
    def suppressed_count(self) -> int:
        return sum(1 for r in self.records.values() if r.suppressed) + len(self.legacy)


def _parse(raw: bytes, key: str) -> Record:
    try:
        return Record.from_json(raw)
    except (ValueError, UnicodeError, TypeError) as exc:
        raise ServiceError(
            f"storage: the subscriber record {key} is damaged ({exc})",
            "restore it from a backup of the private bucket (nothing was sent)",
        ) from None


@contextlib.contextmanager
def open_list(
    config: Config,
    secrets: Iterable[str],
    create: bool = True,
    keep_running: bool = False,
    timeout_s: float = TIMEOUT_S,
    attempts: int = 4,
) -> Iterator[ListStore | None]:
    """The show's subscriber store, checked to be the show's own and private. With `create`,
    a show that has none gets one (its id kept in the catalogue); without, nothing is written
    (a dry run), and None is yielded where there is no store yet. Refuses (InputError) a store
    that is missing or another list's while the catalogue names one: a misspelt or swapped
    [subscriptions] bucket would lose every unsubscribe."""
    from pipeline.storage.session import open_subscriptions
    from pipeline.storage.upload import record_list_id

    name = config.subscriptions.bucket_for(config.storage)
    where = str(config.path or "publish.toml")
    with open_subscriptions(
        config, keep_running=keep_running, create=create, timeout_s=timeout_s, attempts=attempts
    ) as buckets:
        try:  # None: the show is not published yet
            published = buckets.public.get(buckets.layout.catalog)
        except ServiceError as exc:
            if "does not exist" not in exc.what:
                raise
            published = None
        catalog = (
            Catalog.from_json(published[0], f"bucket {buckets.public.target.bucket}/{buckets.layout.catalog}")
            if published
            else None
        )
        shows_id = catalog.list_id if catalog is not None else ""
        found = buckets.private.get(LIST_KEY) if buckets.private is not None else None
        info = ListInfo.from_json(found[0], f"{name}/{LIST_KEY}") if found else None
        if shows_id and info is None:
            raise InputError.at(
                where,
                f"[subscriptions] bucket '{name}' holds no subscriber list, but this show's "
                f"list is {shows_id}: set the bucket that holds it (nothing was sent or recorded)",
            )
        if shows_id and info is not None and info.list_id != shows_id:
            raise InputError.at(
                where,
                f"[subscriptions] bucket '{name}' holds another show's list ({info.list_id}; "
                f"this show's is {shows_id}): set the bucket that holds this show's list",
            )
        if info is None:
            if buckets.private is None or not create:
                yield None
                return
            info = _create(buckets.private, list_identity(config))
        assert buckets.private is not None  # a list was found in it, or made
        if buckets.private.anonymous_can_read(LIST_KEY):
            raise ServiceError(
                f"storage: the subscriber store '{name}' can be read by anyone",
                "remove its public-read policy (or choose another [subscriptions] bucket); "
                "nothing about a subscriber may be public",
            )
        if create and not conditional_writes_work(buckets.private, PROBE_KEY):
            raise ServiceError(
                f"storage: the subscriber store '{name}' ignores conditional writes (If-None-Match)",
                "use an S3 that honours them (AWS S3, R2, MinIO, SeaweedFS do): without them two "
                "writers could lose a subscriber's update",
            )
        if catalog is not None and not shows_id and create:
            record_list_id(buckets.public, config, buckets.layout, info.list_id)
        store = ListStore(buckets.private, info, secrets)
        yield store


def _create(bucket: Bucket, identity: str) -> ListInfo:
    info = new_list(identity)
    try:
        bucket.put(Item(LIST_KEY, "application/json", "no-store", data=info.to_json()), if_none_match=True)
        return info
    except PreconditionFailed:  # another process made it first: theirs is the list
        found = bucket.get(LIST_KEY)
        assert found is not None
        return ListInfo.from_json(found[0], LIST_KEY)
