"""One-click unsubscribe tokens (RFC 8058): an HMAC of the address, so the site that receives
the click can check it without a database of tokens.

On the receiving site::

    from pipeline.unsubscribe import verify
    if verify(request.args["email"], request.args["token"], os.environ["PUBLISH_SECRET"]):
        remove_subscriber(request.args["email"])

Answer both GET (a person clicking the footer link) and POST with the body
`List-Unsubscribe=One-Click` (the mail client's button); neither may ask for more.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

# Versioned, so a future change of scheme can still verify the links already in inboxes.
_DOMAIN = b"publish-unsubscribe-v1\x00"


def normalize_address(email: str) -> str:
    """The form an address is compared and signed in. Local parts are case-sensitive in theory
    only; every mailbox provider treats them case-insensitively."""
    return email.strip().lower()


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def make_token(email: str, secret: str | bytes) -> str:
    digest = hmac.new(_key(secret), _DOMAIN + normalize_address(email).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(email: str, token: str, secret: str | bytes) -> bool:
    """True when `token` was made for `email` with `secret`. Constant-time; never raises on
    malformed input."""
    if not isinstance(email, str) or not isinstance(token, str) or not secret:
        return False
    return hmac.compare_digest(make_token(email, secret).encode("ascii"), token.strip().encode("utf-8", "replace"))
