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
import datetime as dt
import hmac
from collections.abc import Iterable

from pipeline.mail.address import address_mac, normalize_address
from pipeline.timefmt import utc_now

__all__ = [
    "make_confirm_token",
    "make_key_token",
    "make_token",
    "normalize_address",
    "verify",
    "verify_any",
    "verify_confirm",
    "verify_key_token",
]

# Versioned, so a change of scheme still verifies the links already in inboxes. v1 signed the
# address alone, so two shows sharing a secret accepted each other's links; v2 adds the list.
_V1 = b"publish-unsubscribe-v1\x00"
_V2 = b"publish-unsubscribe-v2\x00"
V2_PREFIX = "v2."
# v1 tokens name no list, so any list that shares the secret would accept them: they stop
# verifying on this day (v2 has been in every footer since 2026-11).
V1_ACCEPTED_UNTIL = dt.date(2027, 6, 1)
_UNDO = b"publish-undo-v1\x00"
UNDO_VALID_S = 3600
KEY_CHARS = 40  # a record's name in the list's store (mail/liststore.py): 40 hex digits


def _digest(secret: str | bytes, purpose: bytes, email: str) -> str:
    digest = address_mac(secret, purpose, email).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_token(email: str, secret: str | bytes, list_id: str | None = None) -> str:
    """A v2 token bound to `list_id` when given (what `publish send` makes), else v1."""
    if list_id is None:
        return _digest(secret, _V1, email)
    return V2_PREFIX + _digest(secret, _V2 + list_id.strip().lower().encode("utf-8") + b"\x00", email)


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


def verify_any(
    email: str, token: str, secrets: Iterable[str], list_ids: Iterable[str], today: dt.date | None = None
) -> bool:
    """`verify` against each secret (the current one and those it replaced) and each id the list
    has had (its own id, then every earlier identity), so neither a rotated secret nor a
    retitled show breaks the links already in inboxes. Every pair is tried, whatever matches."""
    ids = tuple(list_ids)
    if not isinstance(token, str) or not token.strip().startswith(V2_PREFIX):
        if (today or utc_now().date()) >= V1_ACCEPTED_UNTIL:
            return False
        return any([verify(email, token, secret) for secret in secrets])
    return any([verify(email, token, secret, list_id) for secret in secrets for list_id in ids])


def make_undo_token(email: str, secret: str, list_id: str, now: float) -> str:
    """What the confirmation page's Undo carries: bound to this unsubscribe's time and valid for
    an hour, unlike the footer's token, which anyone holding a forwarded issue has."""
    until = int(now) + UNDO_VALID_S
    purpose = _UNDO + f"{list_id}\0{until}\0".encode()
    return f"u1.{until}.{_digest(secret, purpose, email)}"


def verify_undo(email: str, token: str, secret: str, list_id: str, now: float) -> bool:
    if not isinstance(email, str) or not isinstance(token, str):
        return False
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != "u1" or not parts[1].isdigit() or len(parts[1]) > 12:
        return False
    until = int(parts[1])
    if not now <= until <= now + UNDO_VALID_S:
        return False
    try:
        expected = make_undo_token(email, secret, list_id, until - UNDO_VALID_S)
        return hmac.compare_digest(expected.encode("ascii"), token.strip().encode("utf-8"))
    except (UnicodeError, TypeError, ValueError):
        return False


# Confirmation links of a sign-up (double opt-in): they name the waiting record (as v3
# unsubscribe links do, so no address is in the URL), the list and an expiry.
_CONFIRM = b"publish-confirm-v2\x00"
CONFIRM_VALID_S = 7 * 24 * 3600


def make_confirm_token(name: str, secret: str, list_id: str, now: float) -> str:
    until = int(now) + CONFIRM_VALID_S
    purpose = _CONFIRM + f"{list_id}\0{name}\0{until}".encode()
    mac = hmac.new(secret.encode("utf-8"), purpose, "sha256").digest()[:16]
    return f"c2.{name}.{until}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"


def verify_confirm(token: str, secrets: Iterable[str], list_id: str, now: float) -> str | None:
    """The record name a confirmation token was made for by any of `secrets` for this list,
    if it has not expired; else None. Constant-time; never raises."""
    if not isinstance(token, str):
        return None
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != "c2" or not parts[2].isdigit() or len(parts[2]) > 12:
        return None
    name, until = parts[1], int(parts[2])
    if len(name) != KEY_CHARS or any(c not in "0123456789abcdef" for c in name):
        return None
    if not now <= until <= now + CONFIRM_VALID_S:
        return None
    given = token.strip().encode("ascii", "replace")
    made = [make_confirm_token(name, s, list_id, until - CONFIRM_VALID_S).encode("ascii") for s in secrets]
    return name if any([hmac.compare_digest(expected, given) for expected in made]) else None


# v3: the token alone names the subscriber, so the link carries no address (an address in a
# URL leaks into logs and referrers, and spam filters score it). It holds the subscriber's
# record name in the list's store (mail/liststore.py: an HMAC of the address under the list's
# own key, so it reveals nothing) and a MAC of that name and the list's id under the secret.
_V3 = b"publish-unsubscribe-v3\x00"
V3_PREFIX = "v3."


def make_key_token(key: str, secret: str, list_id: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), _V3 + f"{list_id}\0{key}".encode(), "sha256").digest()[:16]
    return f"{V3_PREFIX}{key}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"


def verify_key_token(token: str, secrets: Iterable[str], list_id: str) -> str | None:
    """The record name a v3 token was made for by any of `secrets` for this list, else None.
    Constant-time; never raises."""
    if not isinstance(token, str):
        return None
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != V3_PREFIX[:-1] or len(parts[1]) != KEY_CHARS:
        return None
    key = parts[1]
    if any(c not in "0123456789abcdef" for c in key):
        return None
    given = token.strip().encode("ascii", "replace")
    made = [make_key_token(key, secret, list_id).encode("ascii") for secret in secrets]
    return key if any([hmac.compare_digest(expected, given) for expected in made]) else None
