"""One-click unsubscribe tokens (RFC 8058): an HMAC of the address and the list, so the site
that receives the click can check it without a database of tokens.

On the receiving site::

    from pipeline.mail.unsubscribe import verify
    if verify(email, token, os.environ["PUBLISH_SECRET"], list_id="screen-reviews.example.com"):
        remove_subscriber(email)

`list_id` is the part of the messages' List-Id header between < and > (`publish send --dry-run`
shows it). Answer both GET (a person clicking the footer link) and POST with the body
`List-Unsubscribe=One-Click` (the mail client's button); neither may ask for more.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

# Versioned, so a change of scheme still verifies the links already in inboxes. v1 signed the
# address alone, so two shows sharing a secret accepted each other's links; v2 adds the list.
_V1 = b"publish-unsubscribe-v1\x00"
_V2 = b"publish-unsubscribe-v2\x00"
V2_PREFIX = "v2."


def normalize_address(email: str) -> str:
    """The form an address is compared and signed in. Local parts are case-sensitive in theory
    only; every mailbox provider treats them case-insensitively."""
    return email.strip().lower()


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _digest(secret: str | bytes, message: bytes) -> str:
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_token(email: str, secret: str | bytes, list_id: str | None = None) -> str:
    """A v2 token bound to `list_id` when given (what `publish send` makes), else v1."""
    address = normalize_address(email).encode("utf-8")
    if list_id is None:
        return _digest(secret, _V1 + address)
    return V2_PREFIX + _digest(secret, _V2 + list_id.strip().lower().encode("utf-8") + b"\x00" + address)


def verify(email: str, token: str, secret: str | bytes, list_id: str | None = None) -> bool:
    """True when `token` was made for `email` with `secret` (and, for a v2 token, for
    `list_id`). Constant-time; never raises, whatever the input."""
    if not all(isinstance(v, str) for v in (email, token)) or not secret:
        return False
    try:
        token = token.strip()
        if token.startswith(V2_PREFIX):
            if not isinstance(list_id, str):
                return False
            expected = make_token(email, secret, list_id)
        else:
            expected = make_token(email, secret)
        return hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8"))
    except (UnicodeError, TypeError, ValueError):
        return False
