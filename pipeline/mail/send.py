"""`publish send`: the built issue to every subscriber, once. The order of the send stages:
check the build, read the list, open the send log, personalise and deliver."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from email.utils import parseaddr
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.buildfolder import EMAIL_MANIFEST, PUBLISHED_MARK, email_settings, source_digest
from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.mail.address import message_id, normalize_address
from pipeline.mail.compose import list_identity, message_template, sender_domain, unsubscribe_url
from pipeline.mail.delivery import RETRY_DELAYS, deliver, open_transport
from pipeline.mail.feedback import last_send_rates, remember_send
from pipeline.mail.liststore import ListStore, ListView, open_list
from pipeline.mail.message import MessageTemplate, Recipient
from pipeline.mail.secret import read_secret, read_secrets
from pipeline.mail.sendlog import open_send_log
from pipeline.mail.subscribers import Subscriber, SubscriberList, read_subscribers
from pipeline.mail.unsubscribe import KEY_CHARS, make_key_token, make_token
from pipeline.report import Reporter
from pipeline.source.document import Issue
from pipeline.source.parse import parse_issue
from pipeline.timefmt import utc_stamp

MAX_REPORTED_FAILURES = 20


@dataclass(frozen=True)
class SendOptions:
    build_dir: Path = Path("build")
    dry_run: bool = False
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    test: tuple[str, ...] = ()  # send only to these, marked [Test], unlogged


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_built_template(
    issue: Issue, config: Config, build_dir: Path, test: bool = False, reporter: Reporter | None = None
) -> MessageTemplate:
    """The email exactly as `publish issue` built and published it; refuses a stale build. A
    test send also takes a build not yet published, with a warning."""
    folder = build_dir / issue.slug
    manifest = _read_json(folder / EMAIL_MANIFEST)
    published = _read_json(folder / PUBLISHED_MARK)
    digest = source_digest(issue.source)
    run_first = f"run `publish issue {issue.source}` first"
    if manifest is None:
        raise InputError.at(issue.source, f"not built yet (no {folder / EMAIL_MANIFEST}); {run_first}")
    if manifest.get("source_sha256") != digest:
        raise InputError.at(
            issue.source, f"changed since it was built; {run_first} so subscribers get what listeners and readers see"
        )
    built_with = manifest.get("settings")
    if isinstance(built_with, dict):  # builds from before it was kept: not compared
        changed = [name for name, value in email_settings(config).items() if built_with.get(name, value) != value]
        if changed:
            raise InputError.at(
                issue.source,
                f"{', '.join(changed)} changed in the config since the email was built; {run_first} "
                "so subscribers get the email as the config says now",
            )
    if published is None or published.get("source_sha256") != digest:
        if not test:
            raise InputError.at(
                issue.source, f"not published yet, so the links in the email would not work; {run_first}"
            )
        if reporter is not None:
            reporter.warn(
                f"{issue.source}: not published yet; the test is sent, but its links will not work "
                "until `publish issue` has run"
            )
    try:
        html = (folder / "email.html").read_text(encoding="utf-8")
        text = (folder / "email.txt").read_text(encoding="utf-8")
        return message_template(
            issue, config, html, text, manifest["unsubscribe_placeholder"], "[Test] " if test else ""
        )
    except (OSError, KeyError, ValueError):
        raise InputError.at(
            folder, f"the built email is incomplete or was made with another [email] config; {run_first}"
        ) from None


def sample_view(raw: bytes) -> str:
    """Headers and the plain-text part of one rendered message, for --dry-run."""
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    headers = "\n".join(f"{name}: {value}" for name, value in message.items())
    html, plain = message.get_body(("html",)), message.get_body(("plain",))
    note = f"\n[HTML part: {len(html.get_content().encode())} bytes]" if html is not None else ""
    return f"{headers}\n\n{plain.get_content() if plain is not None else ''}{note}"


def send_issue(
    issue_path: Path, subscribers_path: Path | None, config: Config, options: SendOptions, reporter: Reporter
) -> dict:
    issue = parse_issue(issue_path, config.issues.ignore_keys)
    secret = read_secret(config)
    if options.test:
        return send_test(issue, config, secret, options, reporter)
    listed = read_subscribers(subscribers_path) if subscribers_path is not None else None
    template = load_built_template(issue, config, options.build_dir)
    # None only for a dry run before the first send: the list is not made yet.
    with open_list(config, read_secrets(config), create=not options.dry_run) as store:
        if store is not None and not options.dry_run:
            store.remember_identity(list_identity(config))
        view = store.view(save=not options.dry_run) if store is not None else None
        subscribers = listed or the_list(view, config)
        return _send_to_list(issue, subscribers, template, store, view, secret, config, options, reporter)


def the_list(view: ListView | None, config: Config) -> SubscriberList:
    """The store's active subscribers, for a send with no --subscribers file."""
    active = view.with_status("active") if view is not None else []
    if not active:
        raise InputError.at(
            str(config.path or "publish.toml"),
            "the list has no active subscribers yet: readers sign up through `publish service`, or "
            "import a list (`publish subscribers import FILE.csv`), or send to a file (--subscribers FILE.csv)",
        )
    others = len(view.records) - len(active) if view is not None else 0
    return SubscriberList(tuple(Subscriber(r.address, r.name) for r in active), others, 0)


def _send_to_list(
    issue: Issue,
    subscribers: SubscriberList,
    template: MessageTemplate,
    store: ListStore | None,
    view: ListView | None,
    secret: str,
    config: Config,
    options: SendOptions,
    reporter: Reporter,
) -> dict:
    domain = sender_domain(config)
    list_id = store.info.list_id if store is not None else "(made at the first send)"

    def id_for(address: str) -> str:
        return message_id(issue.slug, address, secret, domain)

    def recipient(subscriber: Subscriber) -> Recipient:
        token = link_token(config, subscriber.email, secret, store, list_id)
        url = unsubscribe_url(config.email.unsubscribe_url, subscriber.email, token)
        return Recipient(subscriber.email, url, id_for(subscriber.email), subscriber.name)

    def render_for(subscriber: Subscriber) -> bytes:
        return template.render(recipient(subscriber))

    with open_send_log(options.build_dir / issue.slug, secret, store.earlier_secrets if store else ()) as log:
        delivered = log.delivered()
        opted_out = {s.email for s in subscribers.active if view is not None and view.suppressed(s.email)}
        active = [s for s in subscribers.active if s.email not in opted_out]
        pending = [s for s in active if not log.sent_to(s.email, delivered)]
        already_sent = len(active) - len(pending)
        result: dict[str, Any] = {
            "slug": issue.slug,
            "subscribers": len(active),
            "already_sent": already_sent,
            "to_send": len(pending),
            "skipped": subscribers.skipped,
            "unsubscribed": len(opted_out),
            "optouts_read": view.suppressed_count if view is not None else 0,
            "suppressed": suppressed_counts(view),
            "list_id": list_id,
            "duplicates": subscribers.duplicates,
            "sent": 0,
            "failed": 0,
            "failures": [],
            "dry_run": options.dry_run,
        }
        reporter.info(
            f"send     {issue.title}: {len(pending)} to send, {result['already_sent']} already sent, "
            f"{len(opted_out)} unsubscribed, bounced or complained, {subscribers.skipped} not active in the "
            f"list, {subscribers.duplicates} duplicate rows"
        )
        rates = last_send_rates(store, view) if store is not None and view is not None else None
        for warning in rates.warnings() if rates is not None else ():
            reporter.warn(warning)
        started = rates.started if rates is not None and rates.slug == issue.slug else utc_stamp()
        if options.dry_run:
            if pending:
                result["sample"] = sample_view(template.render(recipient(pending[0])))
            return result
        transport = open_transport(config)
        progress = reporter.progress("sending", len(pending))
        sender = parseaddr(config.email.from_)[1]
        delivery = deliver(
            ((s.email, partial(render_for, s)) for s in pending),
            sender,
            transport,
            rate=config.email.rate_per_second,
            progress=progress,
            delays=options.retry_delays,
            on_sent=lambda address: log.record(address, "sent", id_for(address)),
            on_failed=lambda address, code, detail: log.record(address, "failed", id_for(address), code, detail),
        )
    if store is not None and delivery.sent:
        remember_send(store, issue.slug, started, already_sent + delivery.sent)
    result["sent"], result["failed"] = delivery.sent, len(delivery.failures)
    result["failures"] = [{"email": a, "code": c, "detail": d} for a, c, d in delivery.failures]
    for address, _, detail in delivery.failures[:MAX_REPORTED_FAILURES]:
        reporter.warn(f"not delivered to {address}: {detail}")
    reporter.info(
        f"done     {delivery.sent} delivered in this run, {already_sent + delivery.sent} of "
        f"{len(active)} in all; {len(delivery.failures)} refused"
        + (" (run again to retry them)" if delivery.failures else "")
        + f"; {len(opted_out) + subscribers.skipped} skipped (not active)"
    )
    return result


def suppressed_counts(view: ListView | None) -> dict[str, int]:
    """The list's addresses that are never mailed, by why."""
    found = Counter(r.status for r in view.records.values() if r.suppressed) if view is not None else Counter()
    return {status: found.get(status, 0) for status in ("unsubscribed", "bounced", "complained")}


def link_token(config: Config, address: str, secret: str, store: ListStore | None, list_id: str) -> str:
    """The token of one subscriber's unsubscribe link. Where [email] unsubscribe_url has no
    {email} (the default), the token alone names them (v3: their record's name, which reveals
    no address); where it has one, the v2 token that a site checking clicks itself verifies
    with the address."""
    if "{email}" in config.email.unsubscribe_url:
        return make_token(address, secret, list_id)
    name = store.record_name(address) if store is not None else "0" * KEY_CHARS  # a dry run before the first send
    return make_key_token(name, secret, list_id)


def send_test(issue: Issue, config: Config, secret: str, options: SendOptions, reporter: Reporter) -> dict:
    """The message a subscriber gets (footer, headers, a real personal token), to the writer's
    own addresses, subject marked [Test]; never logged, so the real send is unaffected."""
    addresses = [normalize_address(a) for a in options.test]
    bad = [a for a in addresses if "@" not in a or any(c.isspace() for c in a)]
    if bad:
        raise InputError.at(str(issue.source), f"--test: not an email address: {bad[0]!r}")
    template = load_built_template(issue, config, options.build_dir, test=True, reporter=reporter)
    domain = sender_domain(config)
    store: ListStore | None = None
    list_id = list_identity(config)
    if "{email}" not in config.email.unsubscribe_url:  # the link names a record of the list's store
        with open_list(config, read_secrets(config), create=not options.dry_run) as store:
            list_id = store.info.list_id if store is not None else list_id

    def render_for(address: str) -> bytes:
        url = unsubscribe_url(
            config.email.unsubscribe_url, address, link_token(config, address, secret, store, list_id)
        )
        return template.render(Recipient(address, url, message_id(f"test-{issue.slug}", address, secret, domain)))

    result: dict[str, Any] = {
        "slug": issue.slug,
        "test": addresses,
        "sent": 0,
        "failed": 0,
        "failures": [],
        "dry_run": options.dry_run,
    }
    if options.dry_run:
        result["sample"] = sample_view(render_for(addresses[0]))
        return result
    failures: list[tuple[str, int | None, str]] = []
    delivery = deliver(
        ((a, partial(render_for, a)) for a in addresses),
        parseaddr(config.email.from_)[1],
        open_transport(config),
        rate=0,
        delays=options.retry_delays,
        on_sent=lambda _: None,
        on_failed=lambda a, c, d: failures.append((a, c, d)),
    )
    result["sent"], result["failed"] = delivery.sent, len(failures)
    result["failures"] = [{"email": a, "code": c, "detail": d} for a, c, d in failures]
    for address, _, detail in failures:
        reporter.warn(f"not delivered to {address}: {detail}")
    refused = {address for address, _, _ in failures}
    delivered = [address for address in addresses if address not in refused]
    if delivered:
        reporter.info(f"test     sent to {', '.join(delivered)} (subject marked [Test]; not logged)")
    else:
        reporter.info(f"test     delivered to none of {len(addresses)}")
    return result
