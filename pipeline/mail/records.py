"""One subscriber as the list keeps them, and every change a subscriber's status may go
through: the one home for the list's rules (who may be mailed, what an import or a writer may
change, what only the reader may).

    pending ──confirm──▶ active ──unsubscribe / bounce / complaint──▶ unsubscribed | bounced | complained
       ▲                   ▲                                               │
       └──sign-up──────────┴───────── a confirmation the reader clicks ◀───┘

Only the reader's own click on a confirmation link moves a suppressed address (unsubscribed,
bounced, complained) back to active; an import or the writer never does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.timefmt import utc_stamp

STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
SUPPRESSED = frozenset({"unsubscribed", "bounced", "complained"})
MAX_HISTORY = 50  # the oldest entries go first; the consent is kept apart and never dropped
MAX_NAME_CHARS = 100
SOFT_BOUNCES = 3  # temporary bounces in a row (no delivery between) that make an address bounced
_SUPPRESSING = ("unsubscribed", "bounced", "complaint", "imported")  # the events that stop the mail
FORM_VERSION = "signup-form-1"  # the sign-up form's wording; bump it when the wording changes


class Refused(Exception):
    """A change the list's rules do not allow, with the reason in words."""


@dataclass(frozen=True)
class Record:
    status: str
    address: str = ""  # "" only in a record of the first scheme: an opt-out named by its key alone
    name: str = ""
    created: str = ""
    updated: str = ""
    consent: Mapping[str, str] = field(default_factory=dict)  # how and when they agreed
    history: tuple[Mapping[str, str], ...] = ()
    confirm_sent_at: float = 0.0  # when the last confirmation email was queued (the 10-minute bound)
    soft_bounces: int = 0  # temporary bounces in a row, with no delivery between (SOFT_BOUNCES: bounced)

    @property
    def reason(self) -> str:
        """Why the address is not mailed, in the words of the news that made it so ("" while
        it is mailed)."""
        if not self.suppressed:
            return ""
        made = next((e for e in reversed(self.history) if e.get("event") in _SUPPRESSING), {})
        return " ".join(
            x for x in (made.get("event", self.status), made.get("source", ""), made.get("reason", "")) if x
        )

    @property
    def suppressed(self) -> bool:
        return self.status in SUPPRESSED

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 2,
            "status": self.status,
            "address": self.address,
            "name": self.name,
            "created": self.created,
            "updated": self.updated,
            "consent": dict(self.consent),
            "history": [dict(entry) for entry in self.history],
            "confirm_sent_at": self.confirm_sent_at,
            "soft_bounces": self.soft_bounces,
        }

    @staticmethod
    def from_json(raw: bytes) -> Record:
        """A record of either scheme. The first scheme's opt-outs, `{"status": "unsubscribed",
        "unsubscribed_at": …}`, read as unsubscribes of an address known only by its key."""
        return Record.from_dict(json.loads(raw.decode("utf-8")))

    @staticmethod
    def from_dict(data: Any) -> Record:
        if not isinstance(data, dict):
            raise ValueError("a record is a JSON object")
        status = str(data.get("status", ""))
        if status not in STATUSES:
            raise ValueError(f"unknown status {status[:20]!r}")
        if data.get("version") != 2:
            at = str(data.get("unsubscribed_at", ""))
            return Record(status, created=at, updated=at, history=({"at": at, "event": "unsubscribed"},))
        consent = data.get("consent") or {}
        history = data.get("history") or []
        if not isinstance(consent, dict) or not isinstance(history, list):
            raise ValueError("consent and history have the wrong types")
        return Record(
            status,
            str(data.get("address", "")),
            str(data.get("name", "")),
            str(data.get("created", "")),
            str(data.get("updated", "")),
            {str(k): str(v) for k, v in consent.items()},
            tuple({str(k): str(v) for k, v in entry.items()} for entry in history if isinstance(entry, dict)),
            float(data.get("confirm_sent_at") or 0),
            int(data.get("soft_bounces") or 0),
        )


def _event(record: Record | None, address: str, status: str, event: str, **details: Any) -> Record:
    """`record` (or a new one for `address`) moved to `status`, the move written in its history."""
    now = utc_stamp()
    entry = {"at": now, "event": event, **{k: str(v) for k, v in details.items() if v}}
    if record is None:
        return Record(status, address, created=now, updated=now, history=(entry,))
    return replace(
        record,
        status=status,
        address=record.address or address,
        updated=now,
        history=(*record.history, entry)[-MAX_HISTORY:],
    )


def clean_name(name: str) -> str:
    """A name as the list keeps it: one line of printable text, bounded. Header injection
    (CR, LF) and markup are neutralised where the name is used, but nothing odd is kept."""
    text = "".join(ch if ch.isprintable() else " " for ch in name)
    return " ".join(text.replace("<", " ").replace(">", " ").split())[:MAX_NAME_CHARS]


def sign_up(
    record: Record | None, address: str, name: str, source: str, now: float, every_s: float
) -> tuple[Record | None, bool]:
    """A sign-up from the form or `subscribers add`: the record to write (None: nothing to
    write) and whether a confirmation email goes out. An active reader gets nothing (the page
    answers the same, so the form reveals nobody); anyone else gets at most one confirmation
    every `every_s` seconds. A suppressed address keeps its status until the reader confirms."""
    if record is not None and record.status == "active":
        return None, False
    if record is not None and record.confirm_sent_at and now - record.confirm_sent_at < every_s:
        return None, False
    status = "pending" if record is None or record.status == "pending" else record.status
    updated = _event(record, address, status, "sign-up", source=source, form=FORM_VERSION)
    named = clean_name(name) or updated.name
    return replace(updated, name=named, confirm_sent_at=now), True


def confirm(record: Record | None, address: str) -> Record | None:
    """The reader clicked Confirm: active, with the consent recorded (the page they signed up
    on, the form's wording). None: already active."""
    if record is not None and record.status == "active":
        return None
    asks = [e for e in record.history if e.get("event") == "sign-up"] if record else []
    signed_up = next((e for e in reversed(asks) if e.get("source")), asks[-1] if asks else {})
    updated = _event(record, address, "active", "confirmed")
    consent = {
        "method": "double opt-in",
        "at": updated.updated,
        "source": signed_up.get("source", ""),
        "form": signed_up.get("form", FORM_VERSION),
    }
    return replace(updated, consent=consent)


def unsubscribe(record: Record | None, address: str, source: str, status: str = "unsubscribed") -> Record | None:
    """An unsubscribe (or a bounce or complaint, by `status`); None: already so."""
    if record is not None and record.status == status:
        return None
    return _event(record, address, status, status, source=source, was=record.status if record else "")


def undo_unsubscribe(record: Record | None) -> Record | None:
    """Undo on the unsubscribe page: the status before the unsubscribe. A record made by the
    unsubscribe itself (an address from a list kept elsewhere) has nothing to go back to, so
    the caller deletes it (returned as None)."""
    if record is None or record.status != "unsubscribed":
        return record
    before = next((e.get("was", "") for e in reversed(record.history) if e.get("event") == "unsubscribed"), "")
    if before not in STATUSES or before in SUPPRESSED:
        return None
    return _event(record, record.address, before, "undo")


def add_by_writer(record: Record | None, address: str, name: str, why: str) -> Record | None:
    """`subscribers add --no-confirm`: the writer has the reader's consent. Refused for a
    suppressed address (only the reader can come back); None when nothing changes."""
    if record is not None and record.suppressed:
        raise Refused(
            f"{address} is {record.status} (since {record.updated[:10] or 'an earlier list'}); only they can "
            "subscribe again, from the form or a confirmation email (drop --no-confirm to send one)"
        )
    if record is not None and record.status == "active":
        return None
    updated = _event(record, address, "active", "added", source=why)
    consent = {"method": "writer", "at": updated.updated, "source": why}
    return replace(updated, name=clean_name(name) or updated.name, consent=consent)


def imported(record: Record | None, address: str, name: str, status: str, source: str, since: str) -> Record | None:
    """One row of an import: what to write, or None when the store already says as much (so a
    second import of the same file changes nothing). A suppressed address stays suppressed,
    whatever the file says; an address the file says left is suppressed here too."""
    name = clean_name(name)
    if record is not None and (record.suppressed or record.status == status):
        if name and not record.name:
            return replace(record, name=name, address=record.address or address)
        return None
    if record is not None and record.status == "active" and status == "pending":
        return None  # a confirmation still awaited in the other tool does not undo one made here
    updated = _event(record, address, status, "imported", source=source)
    if record is None and since:
        updated = replace(updated, created=since)
    if status == "active" and not updated.consent:
        updated = replace(updated, consent={"method": "import", "at": since or updated.updated, "source": source})
    return replace(updated, name=name or updated.name)


def feedback(
    record: Record | None, address: str, kind: str, source: str, reason: str = "", event_id: str = ""
) -> Record | None:
    """News from a mail system about the address (mail/feedback.py): `kind` is hard (a
    permanent bounce: bounced), soft (a temporary one: SOFT_BOUNCES in a row, with no delivery
    between, make it bounced), complaint (the reader pressed "Report spam": complained, from
    any status) or delivered (a delivery: the run of soft bounces starts again). None: nothing
    changes: not on the list (news never makes a subscriber), this report already counted
    (`event_id` is kept in the history), or already so."""
    if record is None or (event_id and any(e.get("id") == event_id for e in record.history)):
        return None
    address = record.address or address
    if kind == "delivered":
        return replace(record, soft_bounces=0) if record.soft_bounces else None
    if kind == "complaint":
        if record.status == "complained":
            return None
        return _event(
            record, address, "complained", "complaint", source=source, reason=reason, id=event_id, was=record.status
        )
    if record.status not in ("active", "pending"):
        return None  # unsubscribed, bounced or complained already: never mailed again anyway
    if kind == "soft" and record.soft_bounces + 1 < SOFT_BOUNCES:
        updated = _event(record, address, record.status, "soft-bounce", source=source, reason=reason, id=event_id)
        return replace(updated, soft_bounces=record.soft_bounces + 1)
    updated = _event(
        record, address, "bounced", "bounced", source=source, reason=reason, id=event_id, kind=kind, was=record.status
    )
    return replace(updated, soft_bounces=record.soft_bounces + (kind == "soft"))
