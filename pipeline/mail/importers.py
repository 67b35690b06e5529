"""Reading another tool's subscriber export: each format's columns and statuses as that tool
writes them, mapped to the list's statuses (mail/records.py).

- Substack (Settings → Export → email list): `email, active_subscription, expiry,
  email_disabled, prefer_digests, created_at`; `email_disabled = true` has left.
- Buttondown (Subscribers → Export): `email` (newer exports `email_address`), `subscriber_type`
  (or `type`): regular, premium, gifted… are active; unactivated is pending; unsubscribed and
  removed left; undeliverable bounced; complained complained; blocked (its spam filter) skipped.
- Ghost (Members → Export): `id, email, name, note, subscribed_to_emails, …, created_at,
  deleted_at, labels, tiers`; `subscribed_to_emails = false` has left.
- Mailchimp (Audience → Export): one file per status, told apart by their columns: `UNSUB_TIME`
  (unsubscribed), `CLEAN_TIME` (cleaned: bounced), else subscribed; `Email Address`,
  `First Name`, `Last Name`, `CONFIRM_TIME` / `OPTIN_TIME`.
- listmonk (Subscribers → Export): `uuid, email, name, attributes, status, created_at,
  updated_at`; enabled is active, disabled and blocklisted left.
- plain: `email`, optional `name` and `status` (the file `publish send --subscribers` reads),
  or a bare column of addresses."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from pipeline.errors import InputError, Problem
from pipeline.mail.address import normalize_address
from pipeline.mail.subscribers import MAX_LIST_BYTES, MAX_PROBLEMS
from pipeline.source.files import read_user_text

FORMATS = ("auto", "substack", "buttondown", "ghost", "mailchimp", "listmonk", "plain")
SKIP = "skip"  # a row the other tool never let through (Buttondown's blocked): not imported


@dataclass(frozen=True)
class Row:
    line: int
    address: str
    name: str
    status: str  # one of records.STATUSES
    since: str = ""  # when they subscribed, as the other tool says


@dataclass(frozen=True)
class Parsed:
    format: str
    rows: tuple[Row, ...]
    skipped: int  # rows of a status not imported
    duplicates: int


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "t")


def _plain_status(value: str) -> str | None:
    value = value.strip().lower()
    if value in ("", "subscribed", "active", "confirmed", "enabled"):
        return "active"
    return {
        "pending": "pending",
        "unconfirmed": "pending",
        "unsubscribed": "unsubscribed",
        "inactive": "unsubscribed",
        "disabled": "unsubscribed",
        "bounced": "bounced",
        "cleaned": "bounced",
        "complained": "complained",
    }.get(value)


BUTTONDOWN = {
    **dict.fromkeys(
        ("regular", "premium", "gifted", "churning", "churned", "past_due", "paused", "trialed", "unpaid", "upcoming"),
        "active",
    ),
    "unactivated": "pending",
    "unsubscribed": "unsubscribed",
    "removed": "unsubscribed",
    "undeliverable": "bounced",
    "complained": "complained",
    "blocked": SKIP,
}
LISTMONK = {"enabled": "active", "disabled": "unsubscribed", "blocklisted": "unsubscribed"}


def _get(row: dict[str, str], *names: str) -> str:
    for name in names:
        if row.get(name, "").strip():
            return row[name].strip()
    return ""


def _substack(row: dict[str, str]) -> tuple[str, str, str | None, str]:
    status = "unsubscribed" if _true(row.get("email_disabled", "")) else "active"
    return _get(row, "email"), _get(row, "name"), status, _get(row, "created_at")


def _buttondown(row: dict[str, str]) -> tuple[str, str, str | None, str]:
    kind = _get(row, "subscriber_type", "type").lower() or "regular"
    return _get(row, "email", "email_address"), "", BUTTONDOWN.get(kind), _get(row, "creation_date", "created_at")


def _ghost(row: dict[str, str]) -> tuple[str, str, str | None, str]:
    left = not _true(row.get("subscribed_to_emails", "true")) or bool(_get(row, "deleted_at"))
    return _get(row, "email"), _get(row, "name"), "unsubscribed" if left else "active", _get(row, "created_at")


def _mailchimp(row: dict[str, str]) -> tuple[str, str, str | None, str]:
    status = "unsubscribed" if "unsub_time" in row else "bounced" if "clean_time" in row else "active"
    name = " ".join(part for part in (_get(row, "first_name"), _get(row, "last_name")) if part)
    return _get(row, "email_address"), name, status, _get(row, "confirm_time", "optin_time")


def _listmonk(row: dict[str, str]) -> tuple[str, str, str | None, str]:
    return _get(row, "email"), _get(row, "name"), LISTMONK.get(_get(row, "status").lower()), _get(row, "created_at")


def _plain(row: dict[str, str]) -> tuple[str, str, str | None, str]:
    return _get(row, "email"), _get(row, "name"), _plain_status(row.get("status", "")), ""


READERS: dict[str, Callable[[dict[str, str]], tuple[str, str, str | None, str]]] = {
    "substack": _substack,
    "buttondown": _buttondown,
    "ghost": _ghost,
    "mailchimp": _mailchimp,
    "listmonk": _listmonk,
    "plain": _plain,
}


def detect(columns: list[str]) -> str:
    """Which tool wrote a file with these (normalised) column names."""
    names = set(columns)
    if names & {"email_disabled", "active_subscription"}:
        return "substack"
    if "subscribed_to_emails" in names:
        return "ghost"
    if "email_address" in names and names & {"optin_time", "confirm_time", "member_rating", "leid"}:
        return "mailchimp"
    if {"uuid", "attributes", "status"} <= names:
        return "listmonk"
    if names & {"subscriber_type", "creation_date"}:
        return "buttondown"
    return "plain"


def _column(name: str) -> str:
    name = name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")
    return {"e_mail": "email", "mail": "email"}.get(name, name)


def read_export(path: Path, fmt: str = "auto") -> Parsed:
    """Every row of the file checked; every bad row reported together with its line, and
    nothing read at all until the file is right."""
    path = Path(path)
    text = read_user_text(path, "subscriber export", MAX_LIST_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError.at(path, "is empty; expected a header line with an email column")
        columns = [_column(cell) for cell in header]
        bare = "@" in header[0] and not {"email", "email_address"} & set(columns)
        if bare:
            columns = ["email", "name", "status"][: len(header)]
        chosen = detect(columns) if fmt == "auto" else fmt
        if chosen == "plain" and not {"email", "email_address"} & set(columns):
            raise InputError.at(path, "has no email column (first line: " + ",".join(header)[:80] + ")", 1)
        if chosen == "plain" and "email" not in columns:
            columns = ["email" if c == "email_address" else c for c in columns]
        lines = ([(1, header)] if bare else []) + [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise InputError.at(path, f"malformed CSV: {exc}", reader.line_num) from None
    return _rows(path, chosen, columns, lines)


def _rows(path: Path, fmt: str, columns: list[str], lines: list[tuple[int, list[str]]]) -> Parsed:
    problems: list[Problem] = []
    rows: dict[str, Row] = {}
    skipped = duplicates = 0
    for line, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        address, name, status, since = READERS[fmt](dict(zip(columns, cells, strict=False)))
        try:
            address = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            problems.append(Problem(str(path), f"'{address[:80]}' is not a valid address: {exc}", line))
            continue
        if status is None:
            known = "subscribed, unsubscribed, bounced, complained or pending" if fmt == "plain" else f"a {fmt} export"
            problems.append(Problem(str(path), f"unknown status (expected {known})", line))
            continue
        if status == SKIP:
            skipped += 1
            continue
        key = normalize_address(address)
        if key in rows:
            duplicates += 1
            if rows[key].status == "active" and status != "active":  # a row that says they left wins
                rows[key] = Row(line, address, name or rows[key].name, status, since)
            continue
        rows[key] = Row(line, address, name, status, since)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(Problem(str(path), f"... and {len(problems) - MAX_PROBLEMS} more bad rows"))
        raise InputError(shown)
    if not rows and not skipped:
        raise InputError.at(path, "lists no subscribers")
    return Parsed(fmt, tuple(rows.values()), skipped, duplicates)
