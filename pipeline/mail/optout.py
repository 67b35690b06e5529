"""Unsubscribing, as the footer link and the List-Unsubscribe header reach it (RFC 8058).

A GET (or HEAD) never unsubscribes (mail scanners and link previews follow links): it shows a
page that asks for one click. A POST with `List-Unsubscribe=One-Click` (a mail client's button)
or from that page records the unsubscribe in the list's store, which `publish send` reads.
"Undo" takes a token of its own, made on the confirmation page and valid for an hour: the
footer's token cannot re-subscribe anyone. Tokens are checked in constant time against the
current and earlier secrets and every id the list has had. While the store does not answer, an
unsubscribe goes to the journal (mail/journal.py) and is answered as done."""

from __future__ import annotations

import functools
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from pipeline.config import Config
from pipeline.errors import ServiceError
from pipeline.mail.forms import posted
from pipeline.mail.journal import Journal
from pipeline.mail.liststore import DELETE, ListStore
from pipeline.mail.pages import HEADERS, service_page, unavailable
from pipeline.mail.records import Record, undo_unsubscribe
from pipeline.mail.unsubscribe import V3_PREFIX, make_undo_token, verify_any, verify_key_token, verify_undo


def undo_step(record: Record | None) -> Record | object | None:
    """Undo: back to the status before the unsubscribe, or no record at all where the
    unsubscribe made it (an address from a list the writer keeps elsewhere)."""
    if record is None or record.status != "unsubscribed":
        return None
    return undo_unsubscribe(record) or DELETE


class UnsubscribeService:
    """The unsubscribe endpoint: a confirmation page for a GET, the unsubscribe for its form's
    POST or a mail client's one-click POST, and Undo for an hour after. A link's token names
    the subscriber (v3: their record in the store) or comes with their address (v2, v1)."""

    def __init__(self, config: Config, secrets: tuple[str, ...], store: ListStore, journal: Journal):
        self.config, self.show, self.secrets, self.store, self.journal = config, config.show, secrets, store, journal

    def page(
        self, status: int, heading: str, message: str, shown: str = "", hidden: dict | None = None, button: str = ""
    ) -> HTMLResponse:
        quiet = (hidden or {}).get("action") == "undo"
        return service_page(
            self.config, status, heading, message, address=shown, hidden=hidden, button=button, quiet=quiet
        )

    def invalid(self) -> HTMLResponse:
        return self.page(
            400,
            "This link does not work",
            "It may have been cut short by your mail program. Use the unsubscribe link in the "
            "newsletter's footer, or reply to the newsletter and we will take you off the list.",
        )

    def whom(self, address: str, token: str) -> tuple[str, str] | None:
        """Who a link unsubscribes: (address, record name), one of them possibly empty; None
        for a link that does not verify."""
        if isinstance(token, str) and token.strip().startswith(V3_PREFIX):
            name = verify_key_token(token, self.secrets, self.store.info.list_id)
            return ("", name) if name else None
        if address and verify_any(address, token, self.secrets, self.store.list_ids):
            return address, ""
        return None

    async def shown_address(self, address: str, name: str) -> str:
        """The address the page shows: the link's, else the record's (a link without one)."""
        if address or not name:
            return address
        try:
            record, _ = await run_in_threadpool(self.store.read, "", self.store.record_key(name))
        except ServiceError:
            return ""
        return record.address if record is not None else ""

    async def record(self, address: str, name: str) -> bool:
        """The unsubscribe, in the store or, while it does not answer, in the journal."""
        key = self.store.record_key(name) if name else ""
        try:
            await run_in_threadpool(functools.partial(self.store.add, address, key=key))
            return True
        except ServiceError:
            try:
                await run_in_threadpool(self.journal.append, address, key)
                return True
            except OSError:
                return False

    async def unsubscribe(self, request: Request) -> Response:
        form = await posted(request)
        if isinstance(form, Response):
            return form
        address = form.get("email") or request.query_params.get("email", "")
        token = form.get("token") or request.query_params.get("token", "")
        if form.get("action") == "undo":
            return await self.undo(address, form.get("key", ""), token)
        found = self.whom(address, token)
        if found is None:
            return self.invalid()
        address, name = found
        if request.method in ("GET", "HEAD"):  # a GET never unsubscribes: scanners follow links
            hidden = {"email": address, "token": token, "action": "unsubscribe"}
            return self.page(
                200,
                "Unsubscribe?",
                f"You will get no more emails from {self.show.title}.",
                await self.shown_address(address, name),
                hidden,
                "Unsubscribe",
            )
        return await self.confirmed(
            address,
            name,
            one_click=form.get("List-Unsubscribe") == "One-Click",
            asked=form.get("action") == "unsubscribe",
        )

    async def confirmed(self, address: str, name: str, one_click: bool, asked: bool) -> Response:
        """A POST with a valid token: the form's button, or a mail client's one-click (RFC 8058)."""
        if not one_click and not asked:
            return self.invalid()
        if not await self.record(address, name):
            return unavailable(self.config)
        if one_click:
            return Response(status_code=200, headers=HEADERS)
        undo = make_undo_token(address or name, self.secrets[0], self.store.info.list_id, time.time())
        return self.page(
            200,
            "You are unsubscribed",
            f"You will get no more emails from {self.show.title}. Clicked by mistake?",
            await self.shown_address(address, name),
            {"email": address, "key": name, "token": undo, "action": "undo"},
            "Undo",
        )

    async def undo(self, address: str, name: str, token: str) -> Response:
        subject = address or name
        if not subject or not verify_undo(subject, token, self.secrets[0], self.store.info.list_id, time.time()):
            return self.page(
                400,
                "This Undo has expired",
                "Undo works for an hour after unsubscribing. To subscribe again, reply to any issue of the newsletter.",
            )
        key = self.store.record_key(name) if name and not address else ""
        try:
            await run_in_threadpool(self.store.change, address, undo_step, key)
        except ServiceError:
            return unavailable(self.config)
        return self.page(
            200,
            "You are subscribed again",
            f"Welcome back: the next issue of {self.show.title} will reach you as before.",
            await self.shown_address(address, name),
        )
