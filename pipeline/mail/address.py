"""A subscriber's address as publish compares, signs and names it: one normal form, and one
keyed digest of it that every token, record name, send-log entry and Message-ID is made from."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable


def normalize_address(email: str) -> str:
    """The form an address is compared, signed and named in, and the one place that decides it
    (not a library's output, which could change and rename every record): Unicode NFC, lower
    case (local parts are case-sensitive in theory only; every mailbox provider treats them
    case-insensitively), and an internationalised domain in its Unicode form."""
    local, at, domain = unicodedata.normalize("NFC", email.strip()).lower().rpartition("@")
    if at and any(label.startswith("xn--") for label in domain.split(".")):
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("ascii").decode("idna")
    return f"{local}{at}{domain}" if at else domain


def address_mac(key: str | bytes, purpose: bytes, address: str) -> hmac.HMAC:
    """HMAC-SHA256 under `key` of `purpose` (which names the use, so no two uses share a value)
    followed by the normalised address."""
    secret = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(secret, purpose + normalize_address(address).encode("utf-8"), hashlib.sha256)


def message_id(slug: str, address: str, secret: str, domain: str | None) -> str:
    """The Message-ID of an issue's email to one address: the same on every run, so a mail
    system can spot a duplicate; keyed, so it does not reveal the address."""
    tag = address_mac(secret, f"message-id:{slug}:".encode(), address)
    return f"<{slug}.{tag.hexdigest()[:24]}@{domain or 'localhost'}>"


_MESSAGE_ID = re.compile(r"<?((?:test-)?[a-z0-9-]{1,80})\.([0-9a-f]{24})@[^<>@\s]{1,255}>?")


def message_id_slug(given: str, address: str, secrets: Iterable[str]) -> str | None:
    """The issue's slug when `given` is the Message-ID of its email to `address` under one of
    `secrets` (a bounce or complaint is about a message this list sent, to that address); else
    None. Constant-time in the digest."""
    found = _MESSAGE_ID.fullmatch(given.strip())
    if found is None:
        return None
    slug, tag = found.groups()
    made = [address_mac(s, f"message-id:{slug}:".encode(), address).hexdigest()[:24] for s in secrets]
    return slug if any([hmac.compare_digest(m, tag) for m in made]) else None
