"""The list's rules, one transition at a time (mail/records.py)."""

from __future__ import annotations

import pytest

from pipeline.mail.records import (
    FORM_VERSION,
    Record,
    Refused,
    add_by_writer,
    confirm,
    imported,
    sign_up,
    undo_unsubscribe,
    unsubscribe,
)


def test_sign_up_then_confirm_records_consent_and_the_page():
    pending, due = sign_up(None, "a@example.com", "A\r\nBcc: x@y", "https://example.com/", 1000.0, 600)
    assert due and pending.status == "pending" and pending.name == "A Bcc: x@y"
    assert sign_up(pending, "a@example.com", "", "", 1300.0, 600) == (None, False)  # within 10 minutes
    again, due = sign_up(pending, "a@example.com", "", "", 1700.0, 600)
    assert due and again.status == "pending"
    active = confirm(again, "a@example.com")
    assert active.status == "active"
    assert active.consent["method"] == "double opt-in" and active.consent["source"] == "https://example.com/"
    assert active.consent["form"] == FORM_VERSION
    assert confirm(active, "a@example.com") is None
    assert sign_up(active, "a@example.com", "", "", 9999.0, 600) == (None, False)  # active: nothing sent


def test_only_the_readers_own_confirmation_brings_back_a_suppressed_address():
    left = unsubscribe(confirm(None, "b@example.com"), "b@example.com", "link")
    with pytest.raises(Refused):
        add_by_writer(left, "b@example.com", "", "cli")
    assert imported(left, "b@example.com", "", "active", "import", "") is None
    asked, due = sign_up(left, "b@example.com", "", "", 0.0, 600)
    assert due and asked.status == "unsubscribed"  # still suppressed until they click
    assert confirm(asked, "b@example.com").status == "active"


def test_undo_goes_back_to_the_status_before_the_unsubscribe():
    active = confirm(None, "c@example.com")
    assert undo_unsubscribe(unsubscribe(active, "c@example.com", "link")).status == "active"
    assert undo_unsubscribe(unsubscribe(None, "c@example.com", "link")) is None  # made by the unsubscribe


def test_first_scheme_records_read_as_unsubscribes_and_round_trip():
    old = Record.from_json(b'{"status": "unsubscribed", "unsubscribed_at": "2026-11-01T00:00:00+00:00"}')
    assert old.suppressed and old.address == ""
    new = confirm(None, "d@example.com")
    assert Record.from_json(new.to_json()) == new
    with pytest.raises(ValueError):
        Record.from_json(b'{"version": 2, "status": "vip"}')
