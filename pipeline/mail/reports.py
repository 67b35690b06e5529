"""What a bounce mailbox receives, read as news about subscribers (mail/feedback.py): delivery
status notifications (RFC 3464, `multipart/report; report-type=delivery-status`) and complaint
feedback reports (ARF, RFC 5965, `report-type=feedback-report`, as Yahoo and Microsoft send
them).

A report counts only when it is about a message this list sent, to the address it names: the
original message's Message-ID (which names the issue and carries a keyed digest of the
recipient: mail/address.py) must match that address under one of the secrets, or its
List-Unsubscribe link must carry a token that verifies (a complaint whose recipient the
provider blanked out). Anything else in the mailbox (a bounce of some other mail, an
out-of-office reply, a forged report) is passed over and counted as not ours."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import Any

from pipeline.mail.address import message_id_slug, normalize_address
from pipeline.mail.feedback import Feedback
from pipeline.mail.unsubscribe import verify_key_token

MAX_REPORT_BYTES = 2 * 1024 * 1024  # a DSN with the whole original message and its images
COMPLAINT_TYPES = {"abuse", "fraud", "virus", "other"}  # not-spam, auth-failure: not complaints
_TOKEN = re.compile(r"[?&]token=(v3\.[0-9a-f]{1,64}\.[A-Za-z0-9_-]{1,64})")


@dataclass(frozen=True)
class Reading:
    """What one message in the mailbox was: news (possibly none) or not ours."""

    news: tuple[Feedback, ...]
    ours: bool


def read_report(raw: bytes, secrets: Iterable[str], list_id: str) -> Reading:
    """The feedback one message carries, matched to this list's subscribers."""
    if len(raw) > MAX_REPORT_BYTES:
        return Reading((), False)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    if message.get_content_type() != "multipart/report":
        return Reading((), False)
    report_id = _report_id(message, raw)
    original = _original_headers(message)
    secrets = tuple(secrets)
    report_type = str(message.get_param("report-type", "")).lower()
    if report_type == "delivery-status":
        return _delivery_status(message, original, secrets, report_id)
    if report_type == "feedback-report":
        return _feedback_report(message, original, secrets, list_id, report_id)
    return Reading((), False)


def _report_id(message: Message, raw: bytes) -> str:
    given = str(message.get("Message-ID", "")).strip()
    return given[:200] if given else "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _parts(message: Message, content_type: str) -> list[Message]:
    return [part for part in message.walk() if part.get_content_type() == content_type]


def _original_headers(message: Message) -> Message | None:
    """The headers of the message the report is about: a message/rfc822 part, or a
    text/rfc822-headers one (RFC 6522)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner: Any = part.get_payload()
            if isinstance(inner, list) and inner:
                return inner[0]
        if kind == "text/rfc822-headers":
            text: Any = part.get_payload(decode=True) or b""
            return email.message_from_bytes(text.lstrip(b"\r\n"), policy=email.policy.default)
    return None


def _address_of(field: str) -> str:
    """`rfc822; user@example.org` (RFC 3464's address-type; value) or a plain address."""
    value = field.split(";", 1)[1] if ";" in field else field
    found = getaddresses([value.strip()])
    return normalize_address(found[0][1]) if found and "@" in found[0][1] else ""


def _matches(original: Message | None, address: str, secrets: tuple[str, ...]) -> bool:
    if original is None or not address:
        return False
    return message_id_slug(str(original.get("Message-ID", "")), address, secrets) is not None


def _link_name(original: Message | None, secrets: tuple[str, ...], list_id: str) -> str:
    """The record a List-Unsubscribe link in the original message names, when its token verifies."""
    if original is None:
        return ""
    found = _TOKEN.search(str(original.get("List-Unsubscribe", "")))
    return (verify_key_token(found.group(1), secrets, list_id) or "") if found else ""


def _delivery_status(message: Message, original: Message | None, secrets: tuple[str, ...], report_id: str) -> Reading:
    news, ours = [], False
    for part in _parts(message, "message/delivery-status"):
        blocks: Any = part.get_payload()
        for block in blocks[1:] if isinstance(blocks, list) else ():
            address = _address_of(str(block.get("Final-Recipient", "")))
            if not _matches(original, address, secrets):
                continue
            ours = True
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            reason = " ".join(str(block.get("Diagnostic-Code", "") or status).split())
            if action == "failed":
                kind = "hard" if status.startswith("5") else "soft"
            elif action == "delivered":
                kind = "delivered"
            else:
                continue  # delayed, relayed, expanded: not a bounce yet
            news.append(
                Feedback(kind, address, reason=f"{status} {reason}".strip(), event_id=report_id, source="mailbox")
            )
    return Reading(tuple(news), ours)


def _feedback_report(
    message: Message, original: Message | None, secrets: tuple[str, ...], list_id: str, report_id: str
) -> Reading:
    for part in _parts(message, "message/feedback-report"):
        fields: Any = part.get_payload()
        report: Any = fields[0] if isinstance(fields, list) and fields else part
        kind = str(report.get("Feedback-Type", "")).strip().lower()
        if kind not in COMPLAINT_TYPES:
            return Reading((), False)
        reason = f"feedback report ({kind}) from {str(report.get('Reporting-MTA', '') or report.get('User-Agent', ''))}"
        for field in (str(report.get("Original-Rcpt-To", "")), str(original.get("To", "")) if original else ""):
            address = _address_of(field)
            if _matches(original, address, secrets):
                return Reading(
                    (Feedback("complaint", address, reason=reason, event_id=report_id, source="mailbox"),), True
                )
        name = _link_name(original, secrets, list_id)
        if name:
            return Reading(
                (Feedback("complaint", name=name, reason=reason, event_id=report_id, source="mailbox"),), True
            )
    return Reading((), False)
