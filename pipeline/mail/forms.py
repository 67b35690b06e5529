"""Reading a form posted to the service: at most MAX_BODY bytes, within BODY_TIMEOUT_S."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pipeline.mail.pages import HEADERS

MAX_BODY = 10 * 1024  # a one-click POST is 26 bytes; a form a few hundred
BODY_TIMEOUT_S = 10.0


class TooLarge(Exception):
    pass


class TooSlow(Exception):
    pass


async def _body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return body


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, at most `limit` bytes in at most BODY_TIMEOUT_S (TooLarge, TooSlow)."""
    try:
        return await asyncio.wait_for(_body(request, limit), BODY_TIMEOUT_S)
    except TimeoutError:
        raise TooSlow from None


async def read_form(request: Request) -> dict[str, str]:
    """The body's fields, read at most MAX_BODY bytes in at most BODY_TIMEOUT_S. Multipart is
    parsed as such; any other body as urlencoded, whatever type it declares: RFC 8058's
    `List-Unsubscribe=One-Click` must count even with no or a wrong Content-Type."""
    body = await read_body(request, MAX_BODY)
    if not body:
        return {}
    multipart = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
    scope = (
        request.scope
        if multipart
        else {
            **request.scope,
            "headers": [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
            + [(b"content-type", b"application/x-www-form-urlencoded")],
        }
    )

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(scope, replay).form(max_files=0, max_fields=20)
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def posted(request: Request) -> dict[str, str] | Response:
    """The fields a POST carries ({} for a GET or HEAD), or the answer that refuses the body:
    413 when it is too large, 408 when it is too slow."""
    if request.method != "POST":
        return {}
    try:
        return await read_form(request)
    except TooLarge:
        return PlainTextResponse("request too large", 413, headers=HEADERS)
    except TooSlow:
        return PlainTextResponse("request body too slow", 408, headers=HEADERS)
