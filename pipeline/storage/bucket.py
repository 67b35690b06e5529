"""S3-compatible storage on boto3: one bucket, objects with their real types, uploads that
skip what is unchanged, and conditional writes for the catalogue."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from pipeline.errors import ServiceError
from pipeline.retry import retry
from pipeline.textutil import sha256_of

MULTIPART_THRESHOLD = 16 * 1024 * 1024
SHORT_CACHE = "public, max-age=300"
# A server that accepts the connection and then says nothing fails the run after 4 tries of
# this long, instead of hanging it.
TIMEOUT_S = 30.0
POOL = 32  # connections a client keeps: the list is read with many requests at once
PAGE_CACHE = "public, max-age=600"
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".html": "text/html; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/rss+xml; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".txt": "text/plain; charset=utf-8",
}
CHAPTERS_TYPE = "application/json+chapters"


@dataclass(frozen=True)
class Item:
    """One object to put: from a file or from bytes."""

    key: str
    content_type: str
    cache_control: str
    path: Path | None = None
    data: bytes | None = None

    def bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes() if self.path else b""

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.data or b"")

    @cached_property
    def sha256(self) -> str:
        return sha256_of(self.path if self.path is not None else (self.data or b""))


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    sha256: str | None
    content_type: str | None
    etag: str


@dataclass(frozen=True)
class Target:
    bucket: str
    region: str
    endpoint_url: str | None = None
    access_key: str | None = None  # set only for the embedded server
    secret_key: str | None = None
    create_bucket: bool = False
    public_read: bool = False  # give the bucket a public-read policy when creating it


class PreconditionFailed(Exception):
    """A conditional write lost a race: someone else changed the object first."""


def describe_failure(exc: Exception, target: Target, action: str) -> ServiceError:
    where = target.endpoint_url or f"AWS S3 ({target.region})"
    if isinstance(exc, EndpointConnectionError) or "Could not connect" in str(exc):
        return ServiceError(
            f"storage: cannot reach {where} while trying to {action}",
            "check endpoint_url (or AWS_ENDPOINT_URL) and that the server is running; "
            "run the same command again to finish",
        )
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return ServiceError(
            f"storage: {where} did not answer in time while trying to {action}",
            "check that the server is up and not overloaded; run the same command again to finish",
        )
    if isinstance(exc, NoCredentialsError):
        return ServiceError(
            "storage: no credentials", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
        )
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
            return ServiceError(
                f"storage: {where} rejected the credentials ({code}) while trying to {action}",
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile",
            )
        if code in ("NoSuchBucket",):
            return ServiceError(
                f"storage: bucket '{target.bucket}' does not exist at {where}",
                "create it, or set [storage] create_bucket = true",
            )
        if code in ("AccessDenied", "403", "Forbidden"):
            return ServiceError(
                f"storage: access denied to bucket '{target.bucket}' while trying to {action}",
                "the credentials need s3:GetObject, s3:PutObject and s3:ListBucket",
            )
        return ServiceError(
            f"storage: {where} answered {code or 'an error'} while trying to {action}",
            "run the same command again to finish",
        )
    return ServiceError(
        f"storage: {type(exc).__name__} while trying to {action} at {where}", "run the same command again to finish"
    )


class Bucket:
    def __init__(self, target: Target, timeout_s: float = TIMEOUT_S, attempts: int = 4):
        self.target = target
        config = BotoConfig(
            region_name=target.region,
            retries={"mode": "standard", "max_attempts": attempts},
            connect_timeout=min(5.0, timeout_s),
            read_timeout=timeout_s,
            s3={"addressing_style": "path"} if target.endpoint_url else {},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=POOL,
        )
        session = boto3.session.Session()
        self.client = session.client(
            "s3",
            endpoint_url=target.endpoint_url or None,
            config=config,
            aws_access_key_id=target.access_key,
            aws_secret_access_key=target.secret_key,
        )
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD, max_concurrency=4
        )

    def _call(self, action: str, function: Callable, **kwargs: Any) -> Any:
        try:
            return function(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise describe_failure(exc, self.target, action) from None

    def ensure_bucket(self, create: bool = True) -> bool:
        """Whether the bucket exists. A missing one is created if the config allows it, unless
        `create` is off (a dry run), which returns False instead."""
        try:
            self.client.head_bucket(Bucket=self.target.bucket)
            return True
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "403":  # HEAD has no body: ask again to learn why
                self._call("open the bucket", self.client.list_objects_v2, Bucket=self.target.bucket, MaxKeys=1)
            if code not in ("404", "NoSuchBucket", "NotFound") or not self.target.create_bucket:
                if code in ("404", "NoSuchBucket", "NotFound"):
                    exc.response["Error"]["Code"] = "NoSuchBucket"
                raise describe_failure(exc, self.target, "open the bucket") from None
        except BotoCoreError as exc:
            raise describe_failure(exc, self.target, "open the bucket") from None
        if not create:
            return False
        self._call("create the bucket", self.client.create_bucket, Bucket=self.target.bucket)
        if self.target.public_read:
            self.make_public_read()
        return True

    def make_public_read(self) -> None:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{self.target.bucket}/*"],
                }
            ],
        }
        self._call(
            "set the public-read policy",
            self.client.put_bucket_policy,
            Bucket=self.target.bucket,
            Policy=json.dumps(policy),
        )

    def _read(self, key: str, function: Callable) -> Any:
        """function(Bucket, Key), or None when the object does not exist."""
        try:
            return function(Bucket=self.target.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise describe_failure(exc, self.target, f"read {key}") from None
        except BotoCoreError as exc:
            raise describe_failure(exc, self.target, f"read {key}") from None

    def head(self, key: str) -> ObjectInfo | None:
        answer = self._read(key, self.client.head_object)
        if answer is None:
            return None
        return ObjectInfo(
            answer["ContentLength"],
            answer.get("Metadata", {}).get("sha256"),
            answer.get("ContentType"),
            answer.get("ETag", ""),
        )

    def get(self, key: str) -> tuple[bytes, str] | None:
        answer = self._read(key, self.client.get_object)
        if answer is None:
            return None
        try:
            return answer["Body"].read(), answer.get("ETag", "")
        except BotoCoreError as exc:
            raise describe_failure(exc, self.target, f"read {key}") from None

    def put(self, item: Item, if_match: str | None = None, if_none_match: bool = False) -> str:
        """Write `item`; returns the new object's ETag ("" after a multipart upload). With
        `if_match` or `if_none_match`, raises PreconditionFailed when the object changed or exists."""
        extra = {
            "ContentType": item.content_type,
            "CacheControl": item.cache_control,
            "Metadata": {"sha256": item.sha256},
        }
        if item.path is not None and item.size >= MULTIPART_THRESHOLD and not (if_match or if_none_match):
            self._call(
                f"upload {item.key}",
                self.client.upload_file,
                Filename=str(item.path),
                Bucket=self.target.bucket,
                Key=item.key,
                ExtraArgs=extra,
                Config=self.transfer,
            )
            return ""
        body = item.bytes()
        conditions = {}
        if if_match:
            conditions["IfMatch"] = if_match
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        try:
            answer = self.client.put_object(Bucket=self.target.bucket, Key=item.key, Body=body, **extra, **conditions)
            return str(answer.get("ETag", ""))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise PreconditionFailed(item.key) from None
            raise describe_failure(exc, self.target, f"upload {item.key}") from None
        except BotoCoreError as exc:
            raise describe_failure(exc, self.target, f"upload {item.key}") from None

    def anonymous_can_read(self, key: str) -> bool:
        """Whether a request with no credentials gets `key`: for a private bucket, it must not."""
        from botocore import UNSIGNED

        config = BotoConfig(
            signature_version=UNSIGNED,
            region_name=self.target.region,
            connect_timeout=5,
            read_timeout=10,
            retries={"mode": "standard", "max_attempts": 2},
            s3={"addressing_style": "path"} if self.target.endpoint_url else {},
        )
        client = boto3.session.Session().client("s3", endpoint_url=self.target.endpoint_url or None, config=config)
        try:
            client.get_object(Bucket=self.target.bucket, Key=key)["Body"].close()
            return True
        except ClientError:
            return False
        except BotoCoreError as exc:
            raise describe_failure(exc, self.target, f"check that {key} is private") from None

    def delete(self, key: str) -> None:
        self._call(f"delete {key}", self.client.delete_object, Bucket=self.target.bucket, Key=key)

    def list_keys(self, prefix: str = "") -> list[str]:
        return list(self.list_etags(prefix))

    def list_etags(self, prefix: str = "") -> dict[str, str]:
        """Every key under `prefix` with its ETag, 1,000 to a request."""
        found: dict[str, str] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.target.bucket, Prefix=prefix):
                found.update((entry["Key"], entry.get("ETag", "")) for entry in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise describe_failure(exc, self.target, "list the bucket") from None
        return found


def needs_upload(item: Item, found: ObjectInfo | None) -> bool:
    if found is None or found.size != item.size:
        return True
    if found.sha256:
        return found.sha256 != item.sha256
    return found.etag.strip('"') != hashlib.md5(item.bytes()).hexdigest()


def update_with_retry(
    bucket: Bucket,
    key: str,
    change: Callable[[bytes | None], bytes],
    content_type: str,
    attempts: int = 20,
    conditional: bool = True,
) -> tuple[bytes, str, bool]:
    """Read-modify-write of one object with If-Match / If-None-Match, retried on a lost race.
    `conditional=False` writes plainly: for a caller that holds the object's lock.

    Returns the bytes now stored, the key's ETag, and whether anything was written."""

    def attempt() -> tuple[bytes, str, bool]:
        current = bucket.get(key)
        body = change(current[0] if current else None)
        if current and body == current[0]:
            return body, current[1], False
        item = Item(key, content_type, SHORT_CACHE, data=body)
        if not conditional:
            bucket.put(item)
        elif current:
            bucket.put(item, if_match=current[1])
        else:
            bucket.put(item, if_none_match=True)
        head = bucket.head(key)
        return body, head.etag if head else "", True

    return retry(
        attempt,
        PreconditionFailed,
        (random.uniform(0.05, 0.2) * n for n in range(1, attempts)),
        lambda _, tries: ServiceError(
            f"storage: {key} kept changing under us ({tries} attempts)",
            "another publisher is busy; run the same command again",
        ),
    )
