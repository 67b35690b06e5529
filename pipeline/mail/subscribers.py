"""The subscriber list: a CSV with `email`, optional `name` and `status`. Read at send time
only; never copied into the build folder or uploaded."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from pipeline.errors import InputError, Problem
from pipeline.mail.address import normalize_address
from pipeline.source.files import read_user_text

SEND_STATUSES = {"", "subscribed", "active", "confirmed"}
SKIP_STATUSES = {"unsubscribed", "bounced", "cleaned", "complained", "pending", "inactive"}
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str = ""


@dataclass(frozen=True)
class SubscriberList:
    active: tuple[Subscriber, ...]
    skipped: int  # unsubscribed, bounced, ...
    duplicates: int  # rows repeating an address (any case) already read


MAX_LIST_BYTES = 200 * 1024 * 1024  # about two million addresses


def _columns(header: list[str], path: Path) -> tuple[dict[str, int], bool]:
    """Column positions, and whether the first row is a header at all (a bare list of
    addresses is accepted too)."""
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    aliases = {"email_address": "email", "e-mail": "email", "mail": "email"}
    names = [aliases.get(name, name) for name in names]
    if "email" in names:
        return {name: names.index(name) for name in ("email", "name", "status") if name in names}, True
    if header and "@" in header[0]:
        return {"email": 0, "name": 1, "status": 2}, False
    raise InputError.at(path, "has no 'email' column (first line: " + ",".join(header)[:80] + ")", 1)


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return row[index].strip() if index is not None and index < len(row) else ""


def read_subscribers(path: Path) -> SubscriberList:
    """Every row checked; all bad rows reported together with their line numbers."""
    path = Path(path)
    reader = csv.reader(io.StringIO(read_user_text(path, "subscriber list", MAX_LIST_BYTES), newline=""))
    problems: list[Problem] = []
    try:
        header = next(reader, None)
        if header is None:
            raise InputError.at(path, "is empty; expected a header line with an 'email' column")
        columns, has_header = _columns(header, path)
        rows = [] if has_header else [(1, header)]
        rows += ((reader.line_num, row) for row in reader)
        seen: dict[str, int] = {}
        active: dict[str, Subscriber] = {}
        skipped = duplicates = 0
        for line, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            address, status = _cell(row, columns, "email"), _cell(row, columns, "status").lower()
            try:
                address = validate_email(address, check_deliverability=False).normalized
            except EmailNotValidError as exc:
                problems.append(Problem(str(path), f"'{address[:80]}' is not a valid address: {exc}", line))
                continue
            if status not in SEND_STATUSES | SKIP_STATUSES:
                problems.append(
                    Problem(str(path), f"unknown status '{status[:40]}' (use subscribed or unsubscribed)", line)
                )
                continue
            key = normalize_address(address)
            if key in seen:
                duplicates += 1
                if status in SKIP_STATUSES and active.pop(key, None) is not None:
                    skipped += 1  # one row says unsubscribed: that wins
                continue
            seen[key] = line
            if status in SKIP_STATUSES:
                skipped += 1
            else:
                active[key] = Subscriber(address, _cell(row, columns, "name"))
    except csv.Error as exc:
        problems.append(Problem(str(path), f"malformed CSV: {exc}", reader.line_num))
    if problems:
        more = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS]
        if more > 0:
            shown.append(Problem(str(path), f"... and {more} more bad rows"))
        raise InputError(shown)
    if not active and not skipped:
        raise InputError.at(path, "lists no subscribers")
    return SubscriberList(tuple(active.values()), skipped, duplicates)
