"""The list's own store, in the private bucket: who unsubscribed, under names that depend on
nothing the writer may change.

`list.json` is made once, with a create-only write, and holds the list's id (a UUID, also kept
in the public catalogue so a misspelt or swapped bucket is noticed), a random key that names the
records, and every list identity (show title and From domain) the list has been sent under, so
links already in inboxes keep verifying after a retitle. A record is
`subscribers/<HMAC(name key, address)>`: retitling the show, changing the From domain or
rotating PUBLISH_SECRET renames nothing. Records of the first scheme (`unsubscribed/`, named
with the secret and the identity) are still read, and copied to the new names when seen."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets as random_secrets
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.config import Config
from pipeline.errors import InputError, ServiceError
from pipeline.feed.catalog import Catalog
from pipeline.mail.address import address_mac
from pipeline.mail.compose import list_identity
from pipeline.storage.bucket import TIMEOUT_S, Bucket, Item, PreconditionFailed
from pipeline.timefmt import utc_stamp

LIST_KEY = "list.json"
PREFIX = "subscribers/"
LEGACY_PREFIX = "unsubscribed/"


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

    def add(self, address: str, source: str = "link") -> None:
        self.bucket.put(
            Item(
                self.key(address),
                "application/json",
                "no-store",
                data=json.dumps({"status": "unsubscribed", "unsubscribed_at": utc_stamp(), "source": source}).encode(),
            )
        )

    def remove(self, address: str) -> None:
        self.bucket.delete(self.key(address))
        for key in self.legacy_keys(address):
            self.bucket.delete(key)

    def contains(self, address: str) -> bool:
        return self.bucket.head(self.key(address)) is not None or any(
            self.bucket.head(key) is not None for key in self.legacy_keys(address)
        )

    def recorded(self, carry_over: bool = True) -> Recorded:
        """Every recorded unsubscribe, read once per send (two listings, not a request per address).
        With `carry_over`, a first-scheme record met is copied to its lasting name (not in a dry run)."""
        return Recorded(self, set(self.bucket.list_keys(PREFIX)), set(self.bucket.list_keys(LEGACY_PREFIX)), carry_over)

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
class Recorded:
    store: ListStore
    keys: set[str]
    legacy: set[str]
    carry_over: bool = True

    def __len__(self) -> int:
        return len(self.keys) + len(self.legacy)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        if self.store.key(address) in self.keys:
            return True
        if self.legacy and self.store.legacy_keys(address) & self.legacy:
            if self.carry_over:
                self.store.add(address, source="first-scheme record")  # carried over to a name that lasts
                self.keys.add(self.store.key(address))
            return True
        return False


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
