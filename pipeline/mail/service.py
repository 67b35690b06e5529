"""The service: sign-up with double opt-in (mail/signup.py), and the unsubscribe page and
one-click endpoint that the footer link and the List-Unsubscribe header point at
(mail/optout.py), as one ASGI app (Starlette) over the list's private store.

Its paths: `{service_url}/subscribe` and `{service_url}/confirm` when [subscriptions]
service_url is set, the path of [email] unsubscribe_url, and the webhooks for bounces and
complaints, `{service_url}/webhooks/ses` and `/webhooks/bounce` (mail/webhooks.py). Slow clients are dropped: a
request's head must arrive within HEAD_TIMEOUT_S of the connection, its body within
BODY_TIMEOUT_S (mail/forms.py), and no body may pass MAX_BODY.

    publish service --port 8080             # runs it with uvicorn
    PUBLISH_CONFIG=publish.toml uvicorn --factory pipeline.mail.service:from_environment
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from pipeline.config import Config, load_config
from pipeline.errors import ServiceError
from pipeline.mail.journal import Journal
from pipeline.mail.liststore import ListStore, open_list
from pipeline.mail.optout import UnsubscribeService
from pipeline.mail.secret import read_secrets
from pipeline.mail.signup import Outbox, SignupService
from pipeline.mail.webhooks import Webhooks

HEAD_TIMEOUT_S = 10.0  # from the connection (or the last answer) to a request's whole head
KEEP_ALIVE_S = 5
CONCURRENCY = 512  # open connections at most; beyond, uvicorn answers 503
REPLAY_EVERY_S = 5.0
# A store that does not answer is given up on in seconds (then the journal takes the
# unsubscribe), not after boto's default minutes.
STORE_TIMEOUT_S, STORE_ATTEMPTS = 3.0, 2


def service_paths(config: Config) -> dict[str, str]:
    """What the service answers at: its pages' paths by name."""
    paths = {"unsubscribe": urlsplit(config.email.unsubscribe_url).path or "/unsubscribe"}
    base = urlsplit(config.subscriptions.service_url).path.rstrip("/")
    if config.subscriptions.service_url:
        for name in ("subscribe", "confirm"):
            paths[name] = urlsplit(config.subscriptions.link(name)).path
    paths["ses"], paths["bounce"] = f"{base}/webhooks/ses", f"{base}/webhooks/bounce"
    return paths


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
    journal = journal or Journal(config.base_dir / ".publish" / "unsubscribe-journal.jsonl")
    outbox = Outbox(config)
    paths = service_paths(config)
    optout = UnsubscribeService(config, secrets, store, journal)
    routes = [Route(paths["unsubscribe"], optout.unsubscribe, methods=["GET", "HEAD", "POST"])]
    if "subscribe" in paths:
        signup = SignupService(config, secrets, store, outbox)
        routes += [
            Route(paths["subscribe"], signup.subscribe, methods=["GET", "HEAD", "POST"]),
            Route(paths["confirm"], signup.confirm, methods=["GET", "HEAD", "POST"]),
        ]
    hooks = Webhooks(store, (config.subscriptions.ses_topic_arn,) if config.subscriptions.ses_topic_arn else ())
    routes += [Route(paths["ses"], hooks.ses, methods=["POST"]), Route(paths["bounce"], hooks.bounce, methods=["POST"])]
    life = Life(store, journal, outbox, restart_store)
    return Starlette(routes=routes, lifespan=life.lifespan)


class Life:
    """What runs beside the requests: the outbox's thread, and journalled unsubscribes replayed
    into the store every few seconds while it answers."""

    def __init__(self, store: ListStore, journal: Journal, outbox: Outbox, restart_store: Callable[[], Any] | None):
        self.store, self.journal, self.outbox, self.restart_store = store, journal, outbox, restart_store

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        started: list[Any] = []
        self.outbox.start()
        task = asyncio.create_task(self._replay_forever(started))
        try:
            yield
        finally:
            task.cancel()
            await run_in_threadpool(self.outbox.stop)
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
