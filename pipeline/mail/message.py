"""MIME assembly for the newsletter: one template per issue, one message per recipient.

Sending to thousands of subscribers makes `email.message` the bottleneck (about 3 ms a
message for a 22 KB issue). The parts that never change are encoded once; per recipient only
four headers and the unsubscribe link differ, and the bodies are quoted-printable encoded by
binascii (C)."""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as _SMTP_POLICY
from email.utils import formataddr, formatdate

from markupsafe import escape

from pipeline.textutil import CONTROL

# Long unbroken header values (List-Unsubscribe URLs) must not be RFC 2047-encoded.
EML_POLICY = _SMTP_POLICY.clone(max_line_length=998)
_CONTROL_RUN = re.compile(CONTROL.pattern + "+")  # a header is one line


@dataclass(frozen=True)
class Recipient:
    address: str
    unsubscribe_url: str
    message_id: str
    name: str = ""


def _header_block(headers: list[tuple[str, str]]) -> bytes:
    """Headers folded and encoded by the email package, without a body."""
    message = EmailMessage(policy=EML_POLICY)
    for name, value in headers:
        message[name] = value
    return b"".join(EML_POLICY.fold_binary(name, value) for name, value in message.raw_items())


def _qp(text: str) -> bytes:
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def _clean(value: str) -> str:
    """CR/LF in a value taken from a CSV would inject headers."""
    return _CONTROL_RUN.sub(" ", value).strip()


def _mailbox(name: str, address: str) -> str:
    """`Name <address>` with the name quoted or RFC 2047-encoded. formataddr refuses non-ASCII
    addresses (valid with SMTPUTF8), so it formats the name only."""
    name, address = _clean(name), _clean(address)
    if not name:
        return address
    return formataddr((name, "x@x"), charset="utf-8")[: -len("<x@x>")] + f"<{address}>"


class MessageTemplate:
    """The issue's message with its placeholder unsubscribe link, ready to personalise."""

    def __init__(
        self,
        static_headers: list[tuple[str, str]],
        html: str,
        text: str,
        placeholder_url: str,
        unsubscribe_mailto: str = "",
    ):
        self.html_parts = html.split(str(escape(placeholder_url)))
        self.text_parts = text.split(placeholder_url)
        if len(self.html_parts) < 2 or len(self.text_parts) < 2:
            raise ValueError("the built email does not contain its unsubscribe link")
        self.mailto = unsubscribe_mailto
        # "=_" never occurs in quoted-printable output, so the boundary cannot clash with the body.
        self.boundary = f"=_{secrets.token_hex(12)}"
        self.static = _header_block(
            static_headers
            + [
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("MIME-Version", "1.0"),
                ("Content-Type", f'multipart/alternative; boundary="{self.boundary}"'),
            ]
        )

    def _part(self, subtype: str, body: str) -> bytes:
        return (
            (
                f'--{self.boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            ).encode("ascii")
            + _qp(body)
            + b"\r\n"
        )

    def render(
        self, recipient: Recipient, date: str | None = None, extra_headers: tuple[tuple[str, str], ...] = ()
    ) -> bytes:
        url = recipient.unsubscribe_url
        targets = f"<{url}>" + (f", <{self.mailto}>" if self.mailto else "")
        lines = [
            ("To", _mailbox(recipient.name, recipient.address)),
            ("Date", date or formatdate(usegmt=True)),
            ("Message-ID", _clean(recipient.message_id)),
            ("List-Unsubscribe", _clean(targets)),
            *extra_headers,
        ]
        head = "".join(f"{name}: {value}\r\n" for name, value in lines).encode("utf-8")
        html = str(escape(url)).join(self.html_parts)
        text = url.join(self.text_parts)
        return (
            head
            + self.static
            + b"\r\n"
            + self._part("plain", text)
            + self._part("html", html)
            + f"--{self.boundary}--\r\n".encode("ascii")
        )
