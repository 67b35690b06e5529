"""The service's webhooks for bounces and complaints (mail/feedback.py applies them):

- `POST {service_url}/webhooks/ses`: Amazon SES notifications through an SNS topic, each
  message's signature verified (mail/sns.py); the subscription is confirmed when SNS asks.
- `POST {service_url}/webhooks/bounce`: any other provider or a script, with
  `Authorization: Bearer $PUBLISH_WEBHOOK_TOKEN` and a JSON body `{"email", "type":
  "hard"|"soft"|"complaint", "reason"?, "id"?}` (or a list of them). Off while the variable is
  unset.

A refused request changes nothing. A store that does not answer gets 503, so the provider
sends the news again later (SNS and every webhook provider retry); nothing accepted is lost."""

from __future__ import annotations

import hmac
import json
import logging
import os
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from pipeline.errors import ServiceError
from pipeline.mail import sns
from pipeline.mail.feedback import KINDS, Feedback, apply_all
from pipeline.mail.forms import TooLarge, TooSlow, read_body
from pipeline.mail.liststore import ListStore
from pipeline.mail.pages import HEADERS

MAX_WEBHOOK_BODY = 256 * 1024  # SES's notification with the message's headers is a few KB
MAX_ITEMS = 1000  # a provider's batch
TOKEN_VARIABLE = "PUBLISH_WEBHOOK_TOKEN"
log = logging.getLogger("publish.webhooks")


def _answer(text: str, status: int) -> Response:
    return PlainTextResponse(text, status, headers=HEADERS)


class Webhooks:
    def __init__(self, store: ListStore, topics: tuple[str, ...] = ()):
        self.store, self.topics = store, topics
        self.certificates = sns.CertificateCache()

    async def _body(self, request: Request) -> bytes | Response:
        try:
            return await read_body(request, MAX_WEBHOOK_BODY)
        except TooLarge:
            return _answer("request too large", 413)
        except TooSlow:
            return _answer("request body too slow", 408)

    async def _apply(self, news: list[Feedback]) -> Response:
        try:
            counts = await run_in_threadpool(apply_all, self.store, news)
        except ServiceError:
            return _answer("the list's store does not answer; send it again later", 503)
        return JSONResponse(dict(counts), headers=HEADERS)

    async def ses(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        try:
            message = await run_in_threadpool(sns.verify, body, self.certificates, self.topics)
        except sns.Refused as refused:
            log.warning("webhooks/ses: refused a message: %s", refused)
            return _answer("refused", 403)
        if message.kind == "SubscriptionConfirmation":
            try:
                await run_in_threadpool(sns.confirm_subscription, message)
            except sns.Refused as refused:
                log.warning("webhooks/ses: could not confirm the subscription: %s", refused)
                return _answer("could not confirm the subscription", 502)
            log.warning("webhooks/ses: subscribed to %s", message.topic_arn)
            return _answer("subscribed", 200)
        if message.kind != "Notification":
            return _answer("ok", 200)
        return await self._apply(ses_news(message))

    async def bounce(self, request: Request) -> Response:
        expected = os.environ.get(TOKEN_VARIABLE, "")
        if not expected:
            return _answer("not found", 404)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {expected}".encode()):
            return PlainTextResponse("unauthorized", 401, headers={**HEADERS, "WWW-Authenticate": "Bearer"})
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        try:
            news = generic_news(json.loads(body.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as bad:
            return _answer(f"bad request: {str(bad)[:200]}", 400)
        return await self._apply(news)


def generic_news(data: Any) -> list[Feedback]:
    """`{email, type, reason?, id?}`, or a list of them; ValueError names what is wrong."""
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} items a request")
    news = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("each item is a JSON object")
        address, kind = item.get("email"), item.get("type")
        if not isinstance(address, str) or "@" not in address or len(address) > 320:
            raise ValueError("'email' is an address")
        if kind not in KINDS[:3]:
            raise ValueError("'type' is hard, soft or complaint")
        reason, event = item.get("reason", ""), item.get("id", "")
        if not isinstance(reason, str) or not isinstance(event, str | int):
            raise ValueError("'reason' and 'id' are text")
        news.append(
            Feedback(kind, address, reason=reason, event_id=f"webhook:{event}" if event else "", source="webhook")
        )
    return news


def ses_news(message: sns.SnsMessage) -> list[Feedback]:
    """An SES notification (or event) as news: Permanent bounces hard, Transient and
    Undetermined soft, every complaint a complaint, a delivery what ends a run of soft bounces."""
    try:
        data = json.loads(message.message)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    kind = data.get("notificationType") or data.get("eventType")
    found: list[Feedback] = []
    if kind == "Bounce" and isinstance(data.get("bounce"), dict):
        bounce = data["bounce"]
        hard = bounce.get("bounceType") == "Permanent"
        event = "ses:" + str(bounce.get("feedbackId") or message.message_id)
        for recipient in _recipients(bounce, "bouncedRecipients"):
            reason = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}: {recipient.get('diagnosticCode', '')}"
            found.append(
                Feedback(
                    "hard" if hard else "soft",
                    str(recipient["emailAddress"]),
                    reason=reason,
                    event_id=event,
                    source="ses",
                )
            )
    elif kind == "Complaint" and isinstance(data.get("complaint"), dict):
        complaint = data["complaint"]
        event = "ses:" + str(complaint.get("feedbackId") or message.message_id)
        reason = f"complaint ({complaint.get('complaintFeedbackType') or 'unspecified'})"
        for recipient in _recipients(complaint, "complainedRecipients"):
            found.append(
                Feedback("complaint", str(recipient["emailAddress"]), reason=reason, event_id=event, source="ses")
            )
    elif kind == "Delivery" and isinstance(data.get("delivery"), dict):
        recipients = data["delivery"].get("recipients") or []
        for address in recipients if isinstance(recipients, list) else ():
            if isinstance(address, str):
                found.append(Feedback("delivered", address, event_id="ses:" + message.message_id, source="ses"))
    return found[:MAX_ITEMS]


def _recipients(block: dict, name: str) -> list[dict]:
    listed = block.get(name) or []
    return (
        [r for r in listed if isinstance(r, dict) and isinstance(r.get("emailAddress"), str)]
        if isinstance(listed, list)
        else []
    )
