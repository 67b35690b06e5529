"""The unsubscribe service: the page and the one-click endpoint that the footer link and the
List-Unsubscribe header point at (RFC 8058), as an ASGI app (Starlette).

A GET (or HEAD) never unsubscribes (mail scanners and link previews follow links): it shows a
page that asks for one click. A POST with `List-Unsubscribe=One-Click` (a mail client's button)
or from that page records the unsubscribe in the list's private store (mail/liststore.py),
which `publish send` reads. "Undo" takes a token of its own, made on the confirmation page and
valid for an hour: the footer's token cannot re-subscribe anyone. Tokens are checked in
constant time against the current and earlier secrets and every id the list has had.

When the store cannot be reached, an unsubscribe is written to a local journal (fsync'd) and
answered as done; the journal is replayed into the store as soon as it answers again. Slow
clients are dropped: a request's head must arrive within HEAD_TIMEOUT_S of the connection, its
body within BODY_TIMEOUT_S.

    publish unsubscribe-server --port 8080             # runs it with uvicorn
    PUBLISH_CONFIG=publish.toml uvicorn --factory pipeline.mail.service:from_environment
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from pipeline.config import Config, load_config
from pipeline.errors import ServiceError
from pipeline.mail.journal import Journal
from pipeline.mail.liststore import ListStore, open_list
from pipeline.mail.secret import read_secrets
from pipeline.mail.unsubscribe import make_undo_token, verify_any, verify_undo
from pipeline.templating import render

MAX_BODY = 10 * 1024  # a one-click POST is 26 bytes; the page's form a few hundred
HEAD_TIMEOUT_S = 10.0  # from the connection (or the last answer) to a request's whole head
BODY_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
CONCURRENCY = 512  # open connections at most; beyond, uvicorn answers 503
REPLAY_EVERY_S = 5.0
# A store that does not answer is given up on in seconds (then the journal takes the
# unsubscribe), not after boto's default minutes.
STORE_TIMEOUT_S, STORE_ATTEMPTS = 3.0, 2
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


class TooLarge(Exception):
    pass


class TooSlow(Exception):
    pass


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge
    return body


async def _form(request: Request) -> dict[str, str]:
    """The body's fields, read at most MAX_BODY bytes in at most BODY_TIMEOUT_S. Multipart is
    parsed as such; any other body as urlencoded, whatever type it declares: RFC 8058's
    `List-Unsubscribe=One-Click` must count even with no or a wrong Content-Type."""
    try:
        body = await asyncio.wait_for(_body(request), BODY_TIMEOUT_S)
    except TimeoutError:
        raise TooSlow from None
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


def create_app(
    config: Config,
    secrets: tuple[str, ...],
    store: ListStore,
    journal: Journal | None = None,
    restart_store: Callable[[], Any] | None = None,
) -> Starlette:
    """The service's app. `restart_store` starts the embedded store again when it has gone (it
    was another command's, which exited): called while journalled unsubscribes wait for it;
    what it returns is stopped when the service stops."""
    service = UnsubscribeService(
        config,
        secrets,
        store,
        journal or Journal(config.base_dir / ".publish" / "unsubscribe-journal.jsonl"),
        restart_store,
    )
    path = urlsplit(config.email.unsubscribe_url).path or "/unsubscribe"
    return Starlette(
        routes=[Route(path, service.unsubscribe, methods=["GET", "HEAD", "POST"])], lifespan=service.lifespan
    )


class UnsubscribeService:
    """The unsubscribe endpoint: a confirmation page for a GET, the unsubscribe for its form's
    POST or a mail client's one-click POST, and Undo for an hour after."""

    def __init__(
        self,
        config: Config,
        secrets: tuple[str, ...],
        store: ListStore,
        journal: Journal,
        restart_store: Callable[[], Any] | None,
    ):
        self.show, self.secrets, self.store, self.journal = config.show, secrets, store, journal
        self.restart_store = restart_store

    def page(
        self,
        status: int,
        heading: str,
        message: str,
        address: str = "",
        token: str = "",
        action: str = "",
        button: str = "",
        headers: dict | None = None,
    ) -> HTMLResponse:
        show = self.show
        html = render(
            "unsubscribe.html",
            language=show.language,
            show_title=show.title,
            site_url=show.site_url,
            heading=heading,
            message=message,
            address=address,
            token=token,
            action=action,
            button=button,
        )
        return HTMLResponse(html, status, headers={**HEADERS, **(headers or {})})

    def invalid(self) -> HTMLResponse:
        return self.page(
            400,
            "This link does not work",
            "It may have been cut short by your mail program. Use the unsubscribe link in the "
            "newsletter's footer, or reply to the newsletter and we will take you off the list.",
        )

    def unavailable(self) -> HTMLResponse:
        return self.page(
            503,
            "Please try again in a minute",
            "We could not record this just now. Nothing has changed yet; the same link will work again shortly.",
            headers={"Retry-After": "60"},
        )

    async def record(self, address: str) -> bool:
        """The unsubscribe, in the store or, while it does not answer, in the journal."""
        try:
            await run_in_threadpool(self.store.add, address)
            return True
        except ServiceError:
            try:
                await run_in_threadpool(self.journal.append, address)
                return True
            except OSError:
                return False

    async def unsubscribe(self, request: Request) -> Response:
        try:
            form = await _form(request) if request.method == "POST" else {}
        except TooLarge:
            return PlainTextResponse("request too large", 413, headers=HEADERS)
        except TooSlow:
            return PlainTextResponse("request body too slow", 408, headers=HEADERS)
        address = form.get("email") or request.query_params.get("email", "")
        token = form.get("token") or request.query_params.get("token", "")
        if not address:
            return self.invalid()
        if form.get("action") == "undo":
            return await self.undo(address, token)
        if not verify_any(address, token, self.secrets, self.store.list_ids):
            return self.invalid()
        if request.method in ("GET", "HEAD"):  # a GET never unsubscribes: scanners follow links
            return self.page(
                200,
                "Unsubscribe?",
                f"You will get no more emails from {self.show.title}.",
                address,
                token,
                "unsubscribe",
                "Unsubscribe",
            )
        return await self.confirmed(
            address, one_click=form.get("List-Unsubscribe") == "One-Click", asked=form.get("action") == "unsubscribe"
        )

    async def confirmed(self, address: str, one_click: bool, asked: bool) -> Response:
        """A POST with a valid token: the form's button, or a mail client's one-click (RFC 8058)."""
        if not one_click and not asked:
            return self.invalid()
        if not await self.record(address):
            return self.unavailable()
        if one_click:
            return Response(status_code=200, headers=HEADERS)
        undo = make_undo_token(address, self.secrets[0], self.store.info.list_id, time.time())
        return self.page(
            200,
            "You are unsubscribed",
            f"You will get no more emails from {self.show.title}. Clicked by mistake?",
            address,
            undo,
            "undo",
            "Undo",
        )

    async def undo(self, address: str, token: str) -> Response:
        if not verify_undo(address, token, self.secrets[0], self.store.info.list_id, time.time()):
            return self.page(
                400,
                "This Undo has expired",
                "Undo works for an hour after unsubscribing. To subscribe again, reply to any issue of the newsletter.",
            )
        try:
            await run_in_threadpool(self.store.remove, address)
        except ServiceError:
            return self.unavailable()
        return self.page(
            200,
            "You are subscribed again",
            f"Welcome back: the next issue of {self.show.title} will reach you as before.",
            address,
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Journalled unsubscribes replayed into the store every few seconds while it answers."""
        started: list[Any] = []
        task = asyncio.create_task(self._replay_forever(started))
        try:
            yield
        finally:
            task.cancel()
            for server in started:
                await run_in_threadpool(server.stop)

    async def _replay_forever(self, started: list[Any]) -> None:
        journal = self.journal
        while True:
            if journal.path.exists() or journal.replaying.exists():
                try:
                    await run_in_threadpool(journal.replay, self.store)
                except (ServiceError, OSError):
                    if self.restart_store is not None:
                        with contextlib.suppress(ServiceError, OSError):
                            started.append(await run_in_threadpool(self.restart_store))
            await asyncio.sleep(REPLAY_EVERY_S)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's head: a client that
    connects and then sends its headers slowly, or not at all, is dropped after HEAD_TIMEOUT_S
    (uvicorn alone waits for ever, and enough such clients use up the process's files)."""

    _head_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._drop)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _drop(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:
            self._disarm()  # a whole head arrived: the body has its own deadline
        elif self.cycle is None or self.cycle.response_complete:
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def run(app: Starlette, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        http=GuardedH11Protocol,
        limit_concurrency=CONCURRENCY,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )


def from_environment() -> Starlette:
    """For any ASGI host: the config from PUBLISH_CONFIG (else ./publish.toml) and the secret
    from the variable it names. The private bucket must be reachable (a configured S3)."""
    config = load_config(Path(os.environ["PUBLISH_CONFIG"]) if os.environ.get("PUBLISH_CONFIG") else None)
    secrets = read_secrets(config)
    store = open_list(
        config, secrets, keep_running=True, timeout_s=STORE_TIMEOUT_S, attempts=STORE_ATTEMPTS
    ).__enter__()  # for the process's life
    assert store is not None
    return create_app(config, secrets, store)
