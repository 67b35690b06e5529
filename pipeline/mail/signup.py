"""Signing up, double opt-in: the form posts an address; the answer is the same page whoever
asks ("check your inbox"), so the form reveals nobody on the list. A new or pending address
(or one that left and signs up again) gets a confirmation email whose link, signed and valid
for 7 days, opens a page with one Confirm button: a GET never changes anything (mail scanners
follow links); the button's POST makes the reader active and records their consent.

Abuse is bounded without telling the client: a filled honeypot, more than [subscriptions]
signups_per_hour sign-ups from one client address, or a second confirmation to one address
within CONFIRM_EVERY_S, and the page answers as ever while nothing is sent. Emails go through
an outbox (one thread, one SMTP connection), so a sign-up answers without waiting for SMTP."""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from typing import Any
from urllib.parse import urlencode

from email_validator import EmailNotValidError, validate_email
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from pipeline.config import Config
from pipeline.errors import ServiceError
from pipeline.mail.delivery import Rejected, Transient, open_transport
from pipeline.mail.forms import posted
from pipeline.mail.liststore import ListStore
from pipeline.mail.notices import confirmation_notice, notice_message, welcome_notice
from pipeline.mail.pages import service_page, unavailable
from pipeline.mail.records import MAX_NAME_CHARS, Record, confirm, sign_up
from pipeline.mail.unsubscribe import make_confirm_token, verify_confirm
from pipeline.textutil import is_web_url

CONFIRM_EVERY_S = 600.0  # one confirmation email per address per 10 minutes at most
MAX_ADDRESS_CHARS = 254  # RFC 5321's path limit
MAX_SOURCE_CHARS = 500
MAX_CLIENTS = 100_000  # client addresses remembered for the hourly bound
OUTBOX_SIZE = 10_000
OUTBOX_DELAYS = (1.0, 5.0, 30.0, 120.0)  # an SMTP server that does not answer, tried again
log = logging.getLogger("publish.service")


class Outbox:
    """The service's emails, sent in order by one thread over one reused SMTP connection; a
    server that does not answer is tried again a few times, then the email is dropped with a
    line in the log (never the address): the reader can ask again from the form."""

    def __init__(self, config: Config):
        self.config = config
        self.sender = config.email.from_
        self.queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(OUTBOX_SIZE)
        self.thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self.sent = 0

    def start(self) -> None:
        self.thread.start()

    def put(self, address: str, message: bytes) -> None:
        try:
            self.queue.put_nowait((address, message))
        except queue.Full:
            log.warning("outbox full (%d emails waiting): a confirmation was dropped", OUTBOX_SIZE)

    def stop(self, wait_s: float = 10.0) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join(wait_s)

    def _run(self) -> None:
        from email.utils import parseaddr

        transport: Any = None
        sender = parseaddr(self.sender)[1]
        while (job := self.queue.get()) is not None:
            address, message = job
            for delay in (*OUTBOX_DELAYS, None):
                try:
                    transport = transport or open_transport(self.config)
                    transport.send(sender, address, message)
                    self.sent += 1
                    break
                except Rejected as exc:
                    log.warning("an email was refused: %s", exc.detail)
                    break
                except (Transient, ServiceError) as exc:
                    if transport is not None:
                        transport.close()
                    transport = None
                    if delay is None:
                        log.warning("an email could not be sent and was dropped: %s", exc)
                        break
                    time.sleep(delay)
            if self.queue.empty() and transport is not None:
                transport.close()  # idle: no connection held open
                transport = None


class ClientBound:
    """At most `per_hour` sign-ups from one client address in any hour, in this process."""

    def __init__(self, per_hour: int):
        self.per_hour = per_hour
        self.seen: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()
        self.lock = threading.Lock()

    def allow(self, client: str, now: float) -> bool:
        with self.lock:
            times = self.seen.pop(client, None) or collections.deque()
            while times and now - times[0] > 3600:
                times.popleft()
            allowed = len(times) < self.per_hour
            if allowed:
                times.append(now)
            self.seen[client] = times
            while len(self.seen) > MAX_CLIENTS:
                self.seen.popitem(last=False)
            return allowed


def valid_address(raw: str) -> str | None:
    """The address in its normal form, or None for anything that is not one (markup included)."""
    if not raw or len(raw) > MAX_ADDRESS_CHARS:
        return None
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


class SignupService:
    def __init__(self, config: Config, secrets: tuple[str, ...], store: ListStore, outbox: Outbox):
        self.config, self.secrets, self.store, self.outbox = config, secrets, store, outbox
        self.clients = ClientBound(config.subscriptions.signups_per_hour)
        self.confirmation = confirmation_notice(config)
        self.welcome = welcome_notice(config) if config.subscriptions.welcome else None
        self.title = config.show.title

    def form_page(self, status: int = 200, heading: str = "", message: str = "") -> HTMLResponse:
        return service_page(
            self.config,
            status,
            heading or f"Subscribe to {self.title}",
            message or self.config.show.description,
            signup=True,
        )

    def check_inbox(self, address: str) -> HTMLResponse:
        return service_page(
            self.config,
            200,
            "Check your inbox",
            f"If {address} is not subscribed yet, an email is on its way to it with a button to "
            "confirm. Nothing is sent until you click it.",
        )

    async def subscribe(self, request: Request) -> Response:
        if request.method != "POST":
            return self.form_page()
        form = await posted(request)
        if isinstance(form, Response):
            return form
        address = valid_address(form.get("email", ""))
        if address is None:
            return self.form_page(400, "That is not an email address", "Check it and try again.")
        name = form.get("name", "")
        if len(name) > MAX_NAME_CHARS * 2:
            return self.form_page(400, "That name is too long", f"Use at most {MAX_NAME_CHARS} characters.")
        client = request.client.host if request.client else ""
        if form.get("website") or not self.clients.allow(client, time.time()):
            return self.check_inbox(address)  # a bot, or too many: the same answer, nothing sent
        source = form.get("source", "")
        source = source if is_web_url(source) and len(source) <= MAX_SOURCE_CHARS else ""
        send: list[bool] = []

        def step(record: Record | None) -> Record | None:
            wanted, due = sign_up(record, address, name, source, time.time(), CONFIRM_EVERY_S)
            send[:] = [due]
            return wanted

        try:
            await run_in_threadpool(self.store.change, address, step)
        except ServiceError:
            return unavailable(self.config)
        if send and send[0]:
            self.outbox.put(address, self.confirmation_for(address))
        return self.check_inbox(address)

    def confirmation_for(self, address: str) -> bytes:
        link = confirm_link(self.config, self.store, address, self.secrets[0])
        return notice_message(self.config, self.confirmation, address, link)

    async def confirm(self, request: Request) -> Response:
        form = await posted(request)
        if isinstance(form, Response):
            return form
        token = form.get("token") or request.query_params.get("token", "")
        name = verify_confirm(token, self.secrets, self.store.info.list_id, time.time())
        key = self.store.record_key(name) if name else ""
        try:
            record = (await run_in_threadpool(self.store.read, "", key))[0] if key else None
        except ServiceError:
            return unavailable(self.config)
        if record is None or not record.address:
            return self.form_page(
                400,
                "This link has expired",
                "Confirmation links work for 7 days. Sign up again and we will send a new one.",
            )
        address = record.address
        if request.method != "POST":  # a GET never changes anything: scanners follow links
            return service_page(
                self.config,
                200,
                "Confirm your subscription",
                f"One click and each new issue of {self.title} will reach you at this address.",
                address=address,
                hidden={"token": token},
                button="Confirm",
            )
        changed: list[Record] = []

        def step(current: Record | None) -> Record | None:
            wanted = confirm(current, address) if current is not None else None
            changed[:] = [wanted] if wanted is not None else []
            return wanted

        try:
            await run_in_threadpool(self.store.change, address, step, key)
        except ServiceError:
            return unavailable(self.config)
        if changed and self.welcome is not None:
            self.outbox.put(address, notice_message(self.config, self.welcome, address, self.config.show.site_url))
        return service_page(
            self.config,
            200,
            "You are subscribed",
            f"Welcome to {self.title}. The next issue will reach you at this address.",
            address=address,
        )


def confirm_link(config: Config, store: ListStore, address: str, secret: str) -> str:
    """The confirmation link for the address's waiting record: it names the record, not the address."""
    token = make_confirm_token(store.record_name(address), secret, store.info.list_id, time.time())
    return f"{config.subscriptions.link('confirm')}?{urlencode({'token': token})}"
