"""Unsubscribing, as the footer link and the List-Unsubscribe header reach it (RFC 8058).

A GET (or HEAD) never unsubscribes (mail scanners and link previews follow links): it shows a
page that asks for one click. A POST with `List-Unsubscribe=One-Click` (a mail client's button)
or from that page records the unsubscribe in the list's store, which `publish send` reads.
"Undo" takes a token of its own, made on the confirmation page and valid for an hour: the
footer's token cannot re-subscribe anyone. Tokens are checked in constant time against the
current and earlier secrets and every id the list has had. While the store does not answer, an
unsubscribe goes to the journal (mail/journal.py) and is answered as done."""

from __future__ import annotations

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
from pipeline.mail.unsubscribe import make_undo_token, verify_any, verify_undo


def undo_step(record: Record | None) -> Record | object | None:
    """Undo: back to the status before the unsubscribe, or no record at all where the
    unsubscribe made it (an address from a list the writer keeps elsewhere)."""
    if record is None or record.status != "unsubscribed":
        return None
    return undo_unsubscribe(record) or DELETE


class UnsubscribeService:
    """The unsubscribe endpoint: a confirmation page for a GET, the unsubscribe for its form's
    POST or a mail client's one-click POST, and Undo for an hour after."""

    def __init__(self, config: Config, secrets: tuple[str, ...], store: ListStore, journal: Journal):
        self.config, self.show, self.secrets, self.store, self.journal = config, config.show, secrets, store, journal

    def page(
        self,
        status: int,
        heading: str,
        message: str,
        address: str = "",
        token: str = "",
        action: str = "",
        button: str = "",
    ) -> HTMLResponse:
        hidden = {"email": address, "token": token, "action": action} if action else None
        return service_page(
            self.config,
            status,
            heading,
            message,
            address=address,
            hidden=hidden,
            button=button,
            quiet=action == "undo",
        )

    def invalid(self) -> HTMLResponse:
        return self.page(
            400,
            "This link does not work",
            "It may have been cut short by your mail program. Use the unsubscribe link in the "
            "newsletter's footer, or reply to the newsletter and we will take you off the list.",
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
        form = await posted(request)
        if isinstance(form, Response):
            return form
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
            return unavailable(self.config)
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
            await run_in_threadpool(self.store.change, address, undo_step)
        except ServiceError:
            return unavailable(self.config)
        return self.page(
            200,
            "You are subscribed again",
            f"Welcome back: the next issue of {self.show.title} will reach you as before.",
            address,
        )
