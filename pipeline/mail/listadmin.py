"""The writer's commands over the list: import, list, count, add, remove, export. Each opens
the store, reads or changes it with the list's rules (mail/records.py), and returns what a
`--json` run prints."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.mail.delivery import deliver, open_transport
from pipeline.mail.importers import read_export
from pipeline.mail.liststore import DELETE, ListStore, open_list
from pipeline.mail.notices import confirmation_notice, notice_message
from pipeline.mail.records import STATUSES, Record, Refused, add_by_writer, imported, sign_up, unsubscribe
from pipeline.mail.secret import read_secrets
from pipeline.mail.signup import CONFIRM_EVERY_S, confirm_link, valid_address
from pipeline.report import Reporter
from pipeline.timefmt import utc_now

WRITERS = 16  # records written at once by an import
EXPORT_COLUMNS = ("email", "name", "status", "created", "updated", "consent", "consent_at", "consent_source")


def _store(config: Config, create: bool = True) -> Any:
    return open_list(config, read_secrets(config), create=create)


def import_file(config: Config, path: Path, fmt: str, reporter: Reporter) -> dict[str, Any]:
    """Every row checked before anything is written; then each address whose record would
    change is written (conditionally), so importing the same file twice changes nothing."""
    parsed = read_export(path, fmt)
    source = f"import of {path.name} ({parsed.format})"
    with _store(config) as store:
        view = store.view()
        changes = []
        for row in parsed.rows:
            if imported(view.record_of(row.address), row.address, row.name, row.status, source, row.since) is not None:
                changes.append(row)
        progress = reporter.progress("importing", len(changes))
        store.recent = {}

        def write(row: Any) -> None:
            store.change(row.address, lambda r: imported(r, row.address, row.name, row.status, source, row.since))
            progress.advance()

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(write, changes))
        if changes:
            store.view()  # the snapshot brought up to date from what was written: no request per record
    statuses = Counter(row.status for row in parsed.rows)
    result = {
        "file": str(path),
        "format": parsed.format,
        "rows": len(parsed.rows),
        "written": len(changes),
        "unchanged": len(parsed.rows) - len(changes),
        "skipped": parsed.skipped,
        "duplicates": parsed.duplicates,
        "statuses": dict(statuses),
    }
    reporter.info(
        f"imported {path.name} ({parsed.format}): {len(parsed.rows)} addresses, {len(changes)} written, "
        f"{result['unchanged']} already so; "
        + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        + (f"; {parsed.skipped} rows skipped" if parsed.skipped else "")
    )
    return result


def list_records(config: Config, statuses: tuple[str, ...]) -> list[Record]:
    with _store(config, create=False) as store:
        return store.view(save=False).with_status(*statuses) if store is not None else []


def count(config: Config) -> dict[str, Any]:
    """Subscribers by status, and those who became active in the last 7 days."""
    records = list_records(config, ())
    since = (utc_now() - dt.timedelta(days=7)).isoformat(timespec="seconds")
    by_status = Counter(r.status for r in records)
    return {
        "total": len(records),
        **{status: by_status.get(status, 0) for status in STATUSES},
        "new_this_week": sum(1 for r in records if r.status == "active" and r.consent.get("at", "") >= since),
    }


def _address(raw: str) -> str:
    address = valid_address(raw)
    if address is None:
        raise InputError.at("ADDRESS", f"'{raw[:80]}' is not an email address")
    return address


def add(config: Config, raw: str, name: str, no_confirm: bool, reporter: Reporter) -> dict[str, Any]:
    """With `no_confirm`, the writer vouches for consent: active at once. Otherwise the address
    gets the confirmation email a sign-up gets, and is active once they click it."""
    address = _address(raw)
    with _store(config) as store:
        if no_confirm:
            try:
                record = store.change(address, lambda r: add_by_writer(r, address, name, "publish subscribers add"))
            except Refused as exc:
                raise InputError.at("ADDRESS", str(exc)) from None
            reporter.info(f"added    {address} (active)")
            return {"email": address, "status": record.status if record else "active", "confirmation_sent": False}
        return _send_confirmation(config, store, address, name, reporter)


def _send_confirmation(config: Config, store: ListStore, address: str, name: str, reporter: Reporter) -> dict:
    if not config.subscriptions.service_url:
        raise InputError.at(
            str(config.path or "publish.toml"),
            "[subscriptions] service_url is not set: the confirmation link points at `publish service`; "
            "set it, or add with --no-confirm if you have their consent",
        )
    due: list[bool] = []

    def step(record: Record | None) -> Record | None:
        wanted, send = sign_up(record, address, name, "publish subscribers add", time.time(), CONFIRM_EVERY_S)
        due[:] = [send]
        return wanted

    record = store.change(address, step)
    status = record.status if record else "pending"
    if not (due and due[0]):
        reporter.info(
            f"no email {address} is {status}"
            + ("" if status == "active" else " (a confirmation was sent in the last 10 minutes)")
        )
        return {"email": address, "status": status, "confirmation_sent": False}
    link = confirm_link(config, store, address, read_secrets(config)[0])
    message = notice_message(config, confirmation_notice(config), address, link)
    failures: list[str] = []
    deliver(
        [(address, lambda: message)],
        config.email.from_,
        open_transport(config),
        rate=0,
        on_sent=lambda _: None,
        on_failed=lambda _a, _c, detail: failures.append(detail),
    )
    if failures:
        raise InputError.at("ADDRESS", f"the confirmation email was refused: {failures[0]}")
    reporter.info(f"sent     a confirmation email to {address}; they are active once they click it")
    return {"email": address, "status": status, "confirmation_sent": True}


def remove(config: Config, raw: str, erase: bool, reporter: Reporter) -> dict[str, Any]:
    """Unsubscribed by the writer (kept, so no import or send reaches them again), or with
    `erase` the record deleted altogether (a reader's request to be forgotten)."""
    address = _address(raw)
    with _store(config) as store:
        if erase:
            store.change(address, lambda r: DELETE if r is not None else None)
            reporter.info(f"erased   {address}: nothing about them is kept (an import could add them again)")
            return {"email": address, "status": None, "erased": True}
        record = store.change(address, lambda r: unsubscribe(r, address, "publish subscribers remove"))
    reporter.info(f"removed  {address} (unsubscribed; never sent to again)")
    return {"email": address, "status": record.status if record else "unsubscribed", "erased": False}


def export_csv(config: Config) -> str:
    """Everything the list holds, one row per subscriber, for the writer's records or a move."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in list_records(config, ()):
        if not r.address:
            continue  # an opt-out of the first scheme: its address was never kept
        consent = r.consent
        writer.writerow(
            [
                r.address,
                r.name,
                r.status,
                r.created,
                r.updated,
                consent.get("method", ""),
                consent.get("at", ""),
                consent.get("source", ""),
            ]
        )
    return out.getvalue()


def read_bounces(
    config: Config, source: Path | None, imap: str | None, folder: str, reporter: Reporter
) -> dict[str, Any]:
    """A bounce mailbox read through: each delivery status notification and complaint report
    about a message this list sent applied to its subscriber (mail/feedback.py); reading the
    same mailbox again changes nothing."""
    from pipeline.mail.bouncebox import imap_messages, local_messages
    from pipeline.mail.feedback import apply
    from pipeline.mail.reports import read_report

    if (source is None) == (imap is None):
        raise InputError.at("SOURCE", "give an mbox file or a Maildir folder, or --imap HOST[:PORT]")
    secrets = read_secrets(config)
    with _store(config, create=False) as store:
        if store is None:
            raise InputError.at(str(config.path or "publish.toml"), "the list has no store yet: nothing to apply")
        messages = imap_messages(imap, folder) if imap else local_messages(source)  # type: ignore[arg-type]
        counts: Counter[str] = Counter()
        read = ours = 0
        for raw in messages:
            read += 1
            reading = read_report(raw, secrets, store.info.list_id)
            ours += reading.ours
            for news in reading.news:
                counts[f"{news.kind}:{apply(store, news)}"] += 1
    changed = {kind: counts[f"{kind}:changed"] for kind in ("hard", "soft", "complaint", "delivered")}
    result = {
        "messages": read,
        "reports": ours,
        "not_ours": read - ours,
        "changed": changed,
        "unchanged": sum(n for key, n in counts.items() if key.endswith(":unchanged")),
        "unknown": sum(n for key, n in counts.items() if key.endswith(":unknown")),
    }
    reporter.info(
        f"bounces  {read} messages, {ours} about this list: {changed['hard']} hard bounces, "
        f"{changed['soft']} soft, {changed['complaint']} complaints applied; {result['unchanged']} already "
        f"counted, {result['unknown']} not on the list, {read - ours} not ours (passed over)"
    )
    return result
