"""A real SMTP server on loopback (aiosmtpd) that records what it accepts, and can refuse
chosen addresses for good (550) or for a while (451)."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.busy: dict[str, int] = {}  # address -> how many 451s before accepting
        self.on_mail = None  # called at each MAIL FROM with the number accepted so far
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.on_mail:
            self.on_mail(len(self.messages))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self.busy.get(address.lower(), 0) > 0:
            self.busy[address.lower()] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 accepted"

    def per_recipient(self) -> Counter:
        return Counter(rcpt.lower() for _, rcpts, _ in self.messages for rcpt in rcpts)

    def parsed(self):
        return [message_from_bytes(raw, policy=policy.default) for _, _, raw in self.messages]


class SmtpServer:
    def __init__(self, login: tuple[str, str] | None = None):
        self.mailbox = Mailbox()
        self.port = free_port()
        self.login = login
        self.controller = self._controller()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        ok = (auth_data.login.decode(), auth_data.password.decode()) == self.login
        return AuthResult(success=ok, handled=False)

    def _controller(self) -> Controller:
        auth = (
            {"auth_required": True, "auth_require_tls": False, "authenticator": self._authenticate}
            if self.login
            else {}
        )
        return Controller(self.mailbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True, **auth)

    def restart(self) -> None:
        """A new server on the same port, keeping the mailbox (an event loop cannot restart)."""
        self.controller = self._controller()
        self.controller.start()

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop(no_assert=True)
