"""The unsubscribe service: the page and the one-click endpoint that the footer link and the
List-Unsubscribe header point at (RFC 8058), as an ASGI app (Starlette).

A GET never unsubscribes (mail scanners and link previews follow links): it shows a page
that asks for one click. A POST with `List-Unsubscribe=One-Click` (a mail client's button)
or from that page records the unsubscribe in the private bucket `publish send` reads; "Undo"
removes it. The token is checked in constant time; nothing is recorded for a bad one.

    publish unsubscribe-server --port 8080             # runs it with uvicorn
    PUBLISH_CONFIG=publish.toml uvicorn --factory pipeline.mail.service:from_environment
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipeline.config import Config, load_config
from pipeline.mail.compose import list_identity
from pipeline.mail.optouts import OptOuts
from pipeline.mail.secret import read_secret
from pipeline.mail.unsubscribe import verify
from pipeline.remote import open_subscriptions
from pipeline.templating import render

MAX_BODY = 10 * 1024          # a one-click POST is 26 bytes; the page's form a few hundred


class TooLarge(Exception):
    pass


async def _form(request: Request) -> dict[str, str]:
    """The body's fields (urlencoded or multipart), read at most MAX_BODY bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge
    if not body:
        return {}

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}
    form = await Request(request.scope, replay).form(max_files=0, max_fields=20)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def create_app(config: Config, secret: str, optouts: OptOuts) -> Starlette:
    path = urlsplit(config.email.unsubscribe_url).path or "/unsubscribe"
    identity = list_identity(config)
    show = config.show

    def page(status: int, heading: str, message: str, address: str = "", token: str = "",
             action: str = "", button: str = "") -> HTMLResponse:
        html = render("unsubscribe.html", language=show.language, show_title=show.title, site_url=show.site_url,
                      heading=heading, message=message, address=address, token=token, action=action,
                      button=button)
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                                   "Content-Security-Policy": "default-src 'none'; "
                                                   "style-src 'unsafe-inline'; form-action 'self'"})

    def invalid() -> HTMLResponse:
        return page(400, "This link does not work",
                    "It may have been cut short by your mail program. Use the unsubscribe link in the "
                    "newsletter's footer, or reply to the newsletter and we will take you off the list.")

    async def unsubscribe(request: Request) -> Response:
        try:
            form = await _form(request) if request.method == "POST" else {}
        except TooLarge:
            return PlainTextResponse("request too large", 413)
        address = form.get("email") or request.query_params.get("email", "")
        token = form.get("token") or request.query_params.get("token", "")
        if not address or not verify(address, token, secret, list_id=identity):
            return invalid()
        if request.method == "GET":
            return page(200, "Unsubscribe?", f"You will get no more emails from {show.title}.",
                        address, token, "unsubscribe", "Unsubscribe")
        if form.get("List-Unsubscribe") == "One-Click":
            await run_in_threadpool(optouts.add, address)
            return Response(status_code=200)
        if form.get("action") == "undo":
            await run_in_threadpool(optouts.remove, address)
            return page(200, "You are subscribed again", f"Welcome back: the next issue of {show.title} will "
                        "reach you as before.", address)
        if form.get("action") != "unsubscribe":
            return invalid()
        await run_in_threadpool(optouts.add, address)
        return page(200, "You are unsubscribed", f"You will get no more emails from {show.title}. "
                    "Clicked by mistake?", address, token, "undo", "Undo")

    return Starlette(routes=[Route(path, unsubscribe, methods=["GET", "POST"])])


def from_environment() -> Starlette:
    """For any ASGI host: the config from PUBLISH_CONFIG (else ./publish.toml) and the secret
    from the variable it names. The private bucket must be reachable (a configured S3)."""
    config = load_config(Path(os.environ["PUBLISH_CONFIG"]) if os.environ.get("PUBLISH_CONFIG") else None)
    secret = read_secret(config)
    bucket = open_subscriptions(config, keep_running=True).__enter__()     # for the process's life
    assert bucket is not None
    return create_app(config, secret, OptOuts(bucket, secret, list_identity(config)))
