"""The messages of a bounce mailbox, wherever it is: an mbox file, a Maildir, or an IMAP
server (`--imap HOST[:PORT]`, the login from PUBLISH_IMAP_USER and PUBLISH_IMAP_PASSWORD; TLS
unless the host is this machine). Read only: nothing is moved, flagged or deleted, so reading
the same mailbox again changes nothing (each report counts once: mail/records.py)."""

from __future__ import annotations

import imaplib
import ipaddress
import mailbox
import os
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import InputError, ServiceError
from pipeline.mail.reports import MAX_REPORT_BYTES

MAX_MESSAGES = 100_000
IMAP_TIMEOUT_S = 30.0
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def local_messages(path: Path) -> Iterator[bytes]:
    """Each message of an mbox file or a Maildir folder, as bytes (the oversized passed over)."""
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise InputError.at(path, "is a folder but not a Maildir (it has no cur/ and new/)")
        box: mailbox.Mailbox = mailbox.Maildir(path, factory=None, create=False)
    elif path.is_file():
        box = mailbox.mbox(path, factory=None, create=False)
    else:
        raise InputError.at(path, "not found: give an mbox file, a Maildir folder or --imap HOST")
    try:
        for count, key in enumerate(box.iterkeys()):
            if count >= MAX_MESSAGES:
                break
            with box.get_file(key) as handle:
                data = handle.read(MAX_REPORT_BYTES + 1)
            if len(data) <= MAX_REPORT_BYTES:
                yield data
    finally:
        box.close()


def _loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def imap_messages(where: str, folder: str = "INBOX") -> Iterator[bytes]:
    """Each message in an IMAP folder, opened read-only."""
    host, _, port_text = where.rpartition(":") if where.count(":") == 1 else (where, "", "")
    user, password = os.environ.get("PUBLISH_IMAP_USER", ""), os.environ.get("PUBLISH_IMAP_PASSWORD", "")
    if not user or not password:
        raise InputError.at(
            "PUBLISH_IMAP_USER", "set PUBLISH_IMAP_USER and PUBLISH_IMAP_PASSWORD to the bounce mailbox's login"
        )
    plain = _loopback(host)
    port = int(port_text) if port_text.isdigit() else (143 if plain else 993)
    try:
        client: imaplib.IMAP4 = (
            imaplib.IMAP4(host, port, timeout=IMAP_TIMEOUT_S)
            if plain
            else imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=IMAP_TIMEOUT_S)
        )
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ServiceError(
            f"imap: cannot reach {host}:{port} ({type(exc).__name__})", "check --imap HOST[:PORT]"
        ) from None
    try:
        try:
            client.login(user, password)
        except imaplib.IMAP4.error:
            raise ServiceError(
                f"imap: {host} refused the login", "check PUBLISH_IMAP_USER and PUBLISH_IMAP_PASSWORD"
            ) from None
        status, _ = client.select(folder, readonly=True)
        if status != "OK":
            raise ServiceError(f"imap: {host} has no folder {folder}", "check the mailbox") from None
        status, found = client.uid("SEARCH", "ALL")
        uids = found[0].split()[:MAX_MESSAGES] if status == "OK" and found and found[0] else []
        for uid in uids:
            status, sized = client.uid("FETCH", uid, "(RFC822.SIZE)")
            size = _SIZE.search(sized[0] if sized and isinstance(sized[0], bytes) else b"")
            if status != "OK" or size is None or int(size.group(1)) > MAX_REPORT_BYTES:
                continue
            status, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
            body = next((item[1] for item in fetched if isinstance(item, tuple)), None) if status == "OK" else None
            if body:
                yield body
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ServiceError(
            f"imap: the connection to {host} failed ({type(exc).__name__})", "run the same command again"
        ) from None
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
