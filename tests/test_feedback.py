"""Bounces and complaints, part by part: the list's rules for them (mail/records.py), SNS's
signatures (mail/sns.py, against a CA and certificate host made here), and the reports a bounce
mailbox receives (mail/reports.py, from the formats the RFCs and Postfix write)."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from pipeline.mail import sns
from pipeline.mail.address import message_id, message_id_slug
from pipeline.mail.records import SOFT_BOUNCES, Record, feedback, sign_up
from pipeline.mail.reports import read_report
from pipeline.mail.unsubscribe import make_key_token
from tests.sns_double import HOST, TOPIC, Amazon, ses_bounce

FIXTURES = Path(__file__).parent / "bounces"
SECRET = "test-bounce-secret-0123456789"
LIST_ID = "0f8f6c1e-8d7b-4a53-9d7e-3c1b2a9e4f10"


def active(address: str = "reader@example.org") -> Record:
    return Record("active", address, history=({"at": "2024-01-01T00:00:00+00:00", "event": "confirmed"},))


def test_a_hard_bounce_or_three_soft_ones_in_a_row_make_an_address_bounced():
    hard = feedback(active(), "", "hard", "ses", "550 5.1.1 user unknown", "ses:1")
    assert hard is not None and hard.status == "bounced" and hard.history[-1]["kind"] == "hard"
    assert "550 5.1.1 user unknown" in hard.reason and hard.suppressed
    record: Record | None = active()
    for n in range(1, SOFT_BOUNCES):
        record = feedback(record, "", "soft", "ses", "452 mailbox full", f"ses:{n}")
        assert record is not None and (record.status, record.soft_bounces) == ("active", n)
    assert feedback(record, "", "soft", "ses", "", "ses:1") is None  # the same report again counts once
    reset = feedback(record, "", "delivered", "ses")
    assert reset is not None and reset.soft_bounces == 0  # a delivery between: the run starts again
    record = reset
    for n in range(SOFT_BOUNCES):
        record = feedback(record, "", "soft", "ses", "452 mailbox full", f"ses:again-{n}")
    assert record is not None and record.status == "bounced" and record.history[-1]["kind"] == "soft"


def test_a_complaint_is_final_and_only_a_new_confirmation_brings_the_reader_back():
    left = Record("unsubscribed", "reader@example.org")
    complained = feedback(left, "", "complaint", "mailbox", "feedback report (abuse)", "<arf-1@example.com>")
    assert complained is not None and complained.status == "complained"
    assert feedback(complained, "", "hard", "ses", "", "ses:9") is None
    assert feedback(complained, "", "complaint", "mailbox", "", "<arf-2@example.com>") is None
    again, send = sign_up(complained, "reader@example.org", "", "home", 0.0, 600)
    assert send and again is not None and again.status == "complained"  # until they click Confirm
    assert feedback(None, "stranger@example.org", "hard", "webhook") is None  # news never makes a subscriber


def test_records_keep_their_count_of_soft_bounces_and_read_older_ones():
    record = feedback(active(), "", "soft", "ses", "", "ses:1")
    assert record is not None and Record.from_json(record.to_json()).soft_bounces == 1
    assert Record.from_dict({"version": 2, "status": "active", "address": "a@b.org"}).soft_bounces == 0


@pytest.fixture(scope="module")
def amazon(tmp_path_factory):
    double = Amazon(tmp_path_factory.mktemp("amazon"))
    yield double
    double.close()


@pytest.fixture
def trusted(amazon, monkeypatch):
    for name, value in amazon.env.items():
        monkeypatch.setenv(name, value)
    return amazon


@pytest.mark.parametrize("version", ["1", "2"])
def test_an_sns_message_signed_by_amazon_verifies_with_either_signature_version(trusted, version):
    body = trusted.signed(trusted.notification(ses_bounce("reader@example.org")), version)
    message = sns.verify(body, sns.CertificateCache(), (TOPIC,))
    assert message.kind == "Notification" and json.loads(message.message)["notificationType"] == "Bounce"


def test_the_signing_certificate_is_fetched_once(trusted):
    cache = sns.CertificateCache()
    before = len(trusted.visits)
    for _ in range(3):
        sns.verify(trusted.signed(trusted.notification(ses_bounce("reader@example.org"))), cache)
    assert len(trusted.visits) - before == 1


def _tampered(amazon) -> bytes:
    data = json.loads(amazon.signed(amazon.notification(ses_bounce("reader@example.org"))))
    data["Message"] = data["Message"].replace("reader@", "someone.else@")
    return json.dumps(data).encode()


def _other_key(amazon) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return amazon.signed(amazon.notification(ses_bounce("reader@example.org")), key=key)


def _old(amazon) -> bytes:
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return amazon.signed(amazon.notification(ses_bounce("reader@example.org"), Timestamp=stamp))


@pytest.mark.parametrize(
    "make,why",
    [
        (_tampered, "does not verify"),
        (_other_key, "does not verify"),
        (
            lambda a: a.signed(a.notification(ses_bounce("r@example.org")), cert_url="https://evil.example.com/c.pem"),
            "URL",
        ),
        (lambda a: a.signed(a.notification(ses_bounce("r@example.org")), cert_url=f"http://{HOST}/c.pem"), "URL"),
        (
            lambda a: a.signed(a.notification(ses_bounce("r@example.org")), cert_url=f"https://{HOST}.evil.com/c.pem"),
            "URL",
        ),
        (lambda a: a.signed(a.notification(ses_bounce("r@example.org")), cert_url=f"https://{HOST}:8443/c.pem"), "URL"),
        (_old, "too old"),
        (lambda a: a.signed(a.notification(ses_bounce("r@example.org")), version="3"), "SignatureVersion"),
        (
            lambda a: a.signed(a.notification(ses_bounce("r@example.org"), TopicArn="arn:aws:sns:us-east-1:1:x")),
            "topic",
        ),
        (lambda a: b"{not json", "not JSON"),
        (lambda a: a.signed({"Type": "Surprise", "Message": "x"}), "unknown message type"),
    ],
    ids=[
        "tampered",
        "other-key",
        "other-host",
        "http",
        "suffix-host",
        "port",
        "replay",
        "version",
        "topic",
        "json",
        "type",
    ],
)
def test_an_sns_message_that_is_not_amazons_is_refused(trusted, make, why):
    with pytest.raises(sns.Refused, match=why):
        sns.verify(make(trusted), sns.CertificateCache(), (TOPIC,))


def test_without_the_test_ca_amazons_host_is_not_trusted(amazon, monkeypatch):
    """The local host's certificate is trusted only through the test setting: production code
    verifies TLS with the system's CAs and has no switch that skips it."""
    monkeypatch.setenv("PUBLISH_TEST_SNS_CONNECT", amazon.env["PUBLISH_TEST_SNS_CONNECT"])
    monkeypatch.delenv("PUBLISH_TEST_SNS_CA", raising=False)
    with pytest.raises(sns.Refused, match="fetching"):
        sns.verify(amazon.signed(amazon.notification(ses_bounce("r@example.org"))), sns.CertificateCache())


def sent_message(address: str, slug: str = "a-short-test") -> bytes:
    """The headers our send writes for `address` (the Message-ID and List-Unsubscribe that
    name the subscriber), as a mail system would return them."""
    name = "0123456789abcdef0123456789abcdef01234567"
    token = make_key_token(name, SECRET, LIST_ID)
    return (
        f"From: Screen Reviews <news@example.com>\r\nTo: {address}\r\nSubject: A Short Test\r\n"
        f"Message-ID: {message_id(slug, address, SECRET, 'example.com')}\r\n"
        f"List-Unsubscribe: <https://list.example.com/unsubscribe?token={token}>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThe review.\r\n"
    ).encode()


def fill(template: str, **fields: str) -> bytes:
    text = (FIXTURES / template).read_text()
    for key, value in fields.items():
        text = text.replace("{" + key + "}", value)
    return text.encode()


def test_a_postfix_bounce_of_our_message_is_a_hard_bounce_of_that_reader():
    original = sent_message("reader3@example.org").decode().replace("\r\n", "\n")
    headers = original.split("\n\n", 1)[0]
    raw = fill("postfix-dsn.eml", sender="bounces@example.com", recipient="reader3@example.org", headers=headers)
    reading = read_report(raw, (SECRET,), LIST_ID)
    (news,) = reading.news
    assert reading.ours and (news.kind, news.address) == ("hard", "reader3@example.org")
    assert news.event_id == "<20240301120005.3D1E1A0C45@mx.example.net>" and "5.1.1" in news.reason
    forged = raw.replace(b"reader3@example.org", b"reader9@example.org")  # the digest no longer matches
    assert read_report(forged, (SECRET,), LIST_ID).news == ()
    assert read_report(raw, ("another-secret-entirely",), LIST_ID).news == ()
    assert message_id_slug(message_id("x", "a@b.org", SECRET, None), "a@b.org", (SECRET,)) == "x"


def test_an_arf_report_is_a_complaint_found_by_recipient_or_by_its_link():
    original = sent_message("reader4@example.org").decode().replace("\r\n", "\n")
    fields = dict(sender="bounces@example.com", subject="A Short Test", report="1", original=original)
    (news,) = read_report(fill("rfc5965-arf.eml", rcpt_to="reader4@example.org", **fields), (SECRET,), LIST_ID).news
    assert (news.kind, news.address) == ("complaint", "reader4@example.org")
    # Microsoft's and Yahoo's reports blank the recipient out: the link's token names the record.
    blanked = original.replace("To: reader4@example.org", "To: redacted@example.net")
    raw = fill("rfc5965-arf.eml", rcpt_to="redacted@example.net", **{**fields, "original": blanked})
    (news,) = read_report(raw, (SECRET,), LIST_ID).news
    assert (news.kind, news.address, news.name) == ("complaint", "", "0123456789abcdef0123456789abcdef01234567")
    not_spam = fill("rfc5965-arf.eml", rcpt_to="reader4@example.org", **fields).replace(
        b"Feedback-Type: abuse", b"Feedback-Type: not-spam"
    )
    assert read_report(not_spam, (SECRET,), LIST_ID).news == ()


def test_mail_that_is_not_a_report_of_ours_is_passed_over():
    plain = b"From: a@example.org\r\nTo: bounces@example.com\r\nSubject: Out of office\r\n\r\nAway.\r\n"
    assert not read_report(plain, (SECRET,), LIST_ID).ours
    assert message_from_bytes(plain, policy=policy.default)["Subject"] == "Out of office"
    assert not read_report(b"x" * (3 * 1024 * 1024), (SECRET,), LIST_ID).ours
