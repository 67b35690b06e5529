"""Bounces and complaints, however they arrive (SES through SNS, a provider's webhook, a bounce
mailbox), made one kind of news and applied to the list's store by the rules in
mail/records.py: `apply` is the one way they reach a record.

And what the writer is told before a send: the last send's complaint and hard-bounce rates
(Gmail and Yahoo ask bulk senders to stay under 0.3 % complaints; SES reviews an account over
5 % bounces), from the records' own history."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass

from pipeline.mail.address import normalize_address
from pipeline.mail.liststore import ListStore, ListView
from pipeline.mail.records import Record, feedback
from pipeline.storage.bucket import Item

KINDS = ("hard", "soft", "complaint", "delivered")
LAST_SEND_KEY = "sends/last.json"
COMPLAINT_RATE_LIMIT = 0.003
BOUNCE_RATE_LIMIT = 0.05


@dataclass(frozen=True)
class Feedback:
    """One piece of news about one subscriber: by address, or by the record a link's token
    names (a complaint whose recipient the mailbox provider blanked out)."""

    kind: str  # hard | soft | complaint | delivered
    address: str = ""
    name: str = ""  # a record name (mail/liststore.py), when the address is not known
    reason: str = ""
    event_id: str = ""  # the report's own id: the same report twice changes nothing
    source: str = ""  # ses | webhook | mailbox


def apply(store: ListStore, news: Feedback) -> str:
    """'changed', 'unchanged' (already so, or this report already counted) or 'unknown' (not
    on the list: news never makes a subscriber)."""
    address = normalize_address(news.address) if news.address else ""
    key = store.record_key(news.name) if news.name else ""
    seen: list[Record | None] = []

    def step(record: Record | None) -> Record | None:
        seen.append(record)
        return feedback(record, address, news.kind, news.source, news.reason[:200], news.event_id[:200])

    after = store.change(address, step, key)
    if not seen or seen[-1] is None:
        return "unknown"
    return "unchanged" if after is seen[-1] else "changed"


def apply_all(store: ListStore, items: list[Feedback]) -> Counter[str]:
    return Counter(apply(store, item) for item in items)


def remember_send(store: ListStore, slug: str, started: str, sent: int) -> None:
    """The last send to the list, for the next send's rates."""
    body = json.dumps({"version": 1, "slug": slug, "started": started, "sent": sent}).encode()
    store.bucket.put(Item(LAST_SEND_KEY, "application/json", "no-store", data=body))


@dataclass(frozen=True)
class SendRates:
    slug: str
    started: str
    sent: int
    complaints: int
    hard_bounces: int

    def warnings(self) -> list[str]:
        """What the writer should read before sending again, naming the figures."""
        said = []
        for count, what, limit, who in (
            (self.complaints, "complaints", COMPLAINT_RATE_LIMIT, "Gmail's and Yahoo's limit for bulk senders"),
            (self.hard_bounces, "hard bounces", BOUNCE_RATE_LIMIT, "where SES puts an account under review"),
        ):
            rate = count / self.sent if self.sent else 0.0
            if rate > limit:
                said.append(
                    f"the last send ('{self.slug}', {self.started[:10]}) to {self.sent} drew {count} {what}: "
                    f"{rate:.1%}, over {limit:.1%} ({who}); those addresses are no longer mailed, but look at "
                    "where the list came from before sending again"
                )
        return said


def last_send_rates(store: ListStore, view: ListView) -> SendRates | None:
    found = store.bucket.get(LAST_SEND_KEY)
    if found is None:
        return None
    try:
        last = json.loads(found[0])
        slug, started, sent = str(last["slug"]), str(last["started"]), int(last["sent"])
        since = dt.datetime.fromisoformat(started)
    except (ValueError, KeyError, TypeError):
        return None  # a damaged note: no warning, the next send writes a good one
    counts: Counter[str] = Counter()
    for record in view.records.values():
        for entry in record.history:
            event = entry.get("event", "")
            hard = event == "bounced" and entry.get("kind") == "hard"
            if (hard or event == "complaint") and _after(entry.get("at", ""), since):
                counts[event] += 1
    return SendRates(slug, started, sent, counts["complaint"], counts["bounced"])


def _after(stamp: str, since: dt.datetime) -> bool:
    try:
        return dt.datetime.fromisoformat(stamp) >= since
    except ValueError:
        return False
