"""A subscriber's address as publish compares, signs and names it: one normal form, and one
keyed digest of it that every token, record name, send-log entry and Message-ID is made from."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import unicodedata


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
