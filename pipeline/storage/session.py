"""Which storage a run talks to: the configured endpoint (or AWS), else the embedded store."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.errors import InputError, ServiceError
from pipeline.report import Reporter
from pipeline.retry import poll_until
from pipeline.storage.bucket import TIMEOUT_S, Bucket, Item, Target
from pipeline.storage.embedded import EmbeddedStore, embedded_credentials, embedded_port, start_embedded_store
from pipeline.storage.links import Layout, Links, make_links


@dataclass
class StorageSession:
    bucket: Bucket
    links: Links
    embedded: EmbeddedStore | None = None
    missing: bool = False  # a dry run found no bucket where a real run would create one


def configured_endpoint(config: Config) -> str | None:
    return (
        config.storage.endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


def uses_embedded(config: Config) -> bool:
    """No endpoint anywhere, and no sign of real AWS credentials: use the embedded store."""
    return configured_endpoint(config) is None and not (
        os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
    )


def embedded_dir(config: Config) -> Path:
    return config.base_dir / ".publish" / "s3"


def planned_links(config: Config) -> Links:
    """The public URLs a run will use, without contacting storage."""
    if uses_embedded(config):
        return make_links(config.storage, f"http://127.0.0.1:{embedded_port()}")
    return make_links(config.storage, configured_endpoint(config))


def start_embedded(config: Config) -> EmbeddedStore:
    data_dir = embedded_dir(config) / "data"
    access, secret = embedded_credentials(data_dir)
    return start_embedded_store(data_dir, embedded_port(), access, secret)


def wait_until_writable(bucket: Bucket, probe_key: str, timeout: float = 30) -> None:
    """A freshly started SeaweedFS answers S3 before its volume server has registered; reads
    and writes fail until then. Probe with a real write and read."""
    failed: list[ServiceError] = []

    def writable() -> bool | None:
        try:
            bucket.ensure_bucket()
            bucket.put(Item(probe_key, "text/plain", "no-store", data=b"ready"))
            if bucket.get(probe_key) is not None:
                bucket.delete(probe_key)
                return True
        except ServiceError as exc:
            failed.append(exc)
        return None

    poll_until(
        writable,
        timeout,
        lambda: 0.25,
        lambda: failed[-1] if failed else ServiceError(f"storage: {probe_key} written but not read back"),
    )


@dataclass
class ListBuckets:
    private: Bucket | None  # None: it does not exist and was not to be created
    public: Bucket  # the show's own, for its catalogue
    layout: Layout


@contextlib.contextmanager
def open_subscriptions(
    config: Config, keep_running: bool = False, create: bool = True, timeout_s: float = TIMEOUT_S, attempts: int = 4
) -> Iterator[ListBuckets]:
    """The private bucket of the subscriber list, on the same S3 as the show's files (whose
    catalogue names the list): created without a public-read policy, so an anonymous request
    is refused. Its `private` is None when it does not exist and `create` is off."""
    name, storage = config.subscriptions.bucket_for(config.storage), config.storage
    layout = Layout(storage.prefix)
    if not uses_embedded(config):
        endpoint = configured_endpoint(config)
        bucket = Bucket(
            Target(name, storage.region, endpoint, create_bucket=storage.create_bucket and create), timeout_s, attempts
        )
        public = Bucket(Target(storage.bucket, storage.region, endpoint))
        try:
            bucket.ensure_bucket()
        except ServiceError as exc:
            if create or "does not exist" not in exc.what:
                raise
            yield ListBuckets(None, public, layout)
            return
        yield ListBuckets(bucket, public, layout)
        return
    server = start_embedded(config)
    try:
        bucket = Bucket(
            Target(name, storage.region, server.endpoint, server.access_key, server.secret_key, create_bucket=True),
            timeout_s,
            attempts,
        )
        public = Bucket(Target(storage.bucket, storage.region, server.endpoint, server.access_key, server.secret_key))
        wait_until_writable(bucket, ".publish-ready")
        yield ListBuckets(bucket, public, layout)
    finally:
        if not keep_running:
            server.stop()


@contextlib.contextmanager
def open_storage(config: Config, keep_running: bool = False, dry_run: bool = False) -> Iterator[StorageSession]:
    storage = config.storage
    if not uses_embedded(config):
        endpoint = configured_endpoint(config)
        bucket = Bucket(
            Target(
                storage.bucket,
                storage.region,
                endpoint,
                create_bucket=storage.create_bucket,
                public_read=storage.create_bucket,
            )
        )
        exists = bucket.ensure_bucket(create=not dry_run)
        yield StorageSession(bucket, make_links(storage, endpoint), missing=not exists)
        return
    server = start_embedded(config)
    try:
        bucket = Bucket(
            Target(
                storage.bucket,
                storage.region,
                server.endpoint,
                server.access_key,
                server.secret_key,
                create_bucket=True,
                public_read=True,
            )
        )
        wait_until_writable(bucket, make_links(storage, server.endpoint).layout.key(".publish-ready"))
        yield StorageSession(bucket, make_links(storage, server.endpoint), server)
    finally:
        if not keep_running:
            server.stop()


def serve_embedded(config: Config, reporter: Reporter, home: str) -> None:
    """Run the embedded store in the foreground until Ctrl-C (`publish serve`); `home` is the
    show's home page, to say where to look."""
    if not uses_embedded(config):
        raise InputError.at(
            str(config.path or "publish.toml"),
            "an endpoint is configured; `publish serve` runs only the embedded store",
        )
    with open_storage(config, keep_running=True) as storage:
        server = storage.embedded
        if server is None or server.process is None:
            reporter.info(f"already serving {storage.links.feed_url} (another `publish serve` runs it)")
            return
        try:  # a signal from here on stops the store too
            reporter.info(f"serving  {home}  (the show's home; feed: {storage.links.feed_url}; Ctrl-C to stop)")
            server.process.wait()
        finally:
            server.stop()
