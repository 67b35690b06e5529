"""Which subscribers have received an issue: a small SQLite file in build/<slug>/send.sqlite.

Each address is stored as an HMAC keyed by the unsubscribe secret, and SMTP replies are stored
without the addresses they quote, so the build folder never holds a copy of the list.
A row is committed as soon as the mail server accepts the message, so a re-run after a crash
or Ctrl-C sends only to the rest. WAL with synchronous=NORMAL survives a killed process (the
commit is in the OS's page cache) and costs microseconds, not an fsync, per message."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import InputError, ServiceError
from pipeline.mail.address import address_mac, normalize_address
from pipeline.timefmt import utc_stamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    recipient TEXT PRIMARY KEY,        -- HMAC-SHA256 of the normalised address, keyed by the secret
    status TEXT NOT NULL,              -- 'sent' or 'failed'
    message_id TEXT NOT NULL,
    code INTEGER,
    detail TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
"""


_ADDRESS = re.compile(r"[^\s<>@\"']{1,200}@[^\s<>@\"']{1,255}")


class SendLog:
    def __init__(self, connection: sqlite3.Connection, secret: str, earlier: tuple[str, ...] = ()):
        self.db = connection
        self.secret = secret.encode("utf-8")
        self.earlier = tuple(e.encode("utf-8") for e in earlier)  # secrets it replaced: their keys still count
        # Logs written before the key came from the secret keep their stored salt, so what
        # they record stays readable; new logs store nothing that would make a guess cheap.
        row = self.db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        self.salt = row[0] if row else None

    def key(self, address: str, secret: bytes | None = None) -> str:
        """The address as the log stores it: an HMAC keyed by the unsubscribe secret, so
        checking whether someone is on the list needs the secret, not one SHA-256."""
        if self.salt is not None:
            return hashlib.sha256(f"{self.salt}:{normalize_address(address)}".encode()).hexdigest()
        return address_mac(secret or self.secret, b"publish-sendlog-v2\x00", address).hexdigest()

    def sent_to(self, address: str, delivered: set[str]) -> bool:
        """Whether `delivered` holds the address, logged under this secret or one it replaced."""
        return any(self.key(address, secret) in delivered for secret in (self.secret, *self.earlier))

    def delivered(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT recipient FROM deliveries WHERE status = 'sent'")}

    def record(self, address: str, status: str, message_id: str, code: int | None = None, detail: str = "") -> None:
        at = utc_stamp()
        self.db.execute(
            "INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?)",
            (self.key(address), status, message_id, code, _ADDRESS.sub("<address>", detail)[:300], at),
        )
        self.db.commit()


@contextlib.contextmanager
def open_send_log(folder: Path, secret: str, earlier: tuple[str, ...] = ()) -> Iterator[SendLog]:
    """The log, held under an exclusive lock: two `publish send` runs of one issue at once
    would otherwise both send to everyone not yet logged."""
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / "send.lock"
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServiceError(
                f"another `publish send` of this issue is running (lock {lock_path})",
                "wait for it to finish; this run sent nothing",
            ) from None
        try:
            connection = sqlite3.connect(folder / "send.sqlite", isolation_level="DEFERRED")
        except sqlite3.Error as exc:
            raise InputError.at(folder / "send.sqlite", f"cannot open the send log: {exc}") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(SCHEMA)
            os.chmod(folder / "send.sqlite", 0o600)
            yield SendLog(connection, secret, earlier)
        except sqlite3.DatabaseError as exc:
            raise InputError.at(
                folder / "send.sqlite",
                f"the send log is damaged ({exc}); move it away only if you know who has received this issue",
            ) from None
        finally:
            connection.close()
