"""Issue 30's done-when, with real parts: twenty readers sent an issue through an SMTP server
(aiosmtpd), then two hard bounces from SES by SNS (signed, its certificate fetched over HTTPS),
one complaint by the generic webhook, and one Postfix bounce and one ARF complaint about
messages the SMTP server received, read from a real IMAP server (dovecot) and from an mbox
file; the service is a real process. The next issue reaches fifteen, the writer is warned of
the rates and sees each suppressed address with its reason, and hostile requests change nothing."""

from __future__ import annotations

import json
import mailbox
import os
from email import message_from_bytes, policy

import pytest

from tests.imap_server import ImapServer, dovecot_path
from tests.smtp_server import SmtpServer, free_port
from tests.sns_double import HOST, TOPIC, Amazon, ses_bounce
from tests.test_feedback import fill
from tests.test_service import request, start_service, stop
from tests.test_signup import cli, configure

SECRET = "test-bounce-secret-0123456789"
TOKEN = "test-webhook-token-0123456789"
READERS = [f"reader{n:02d}@example.org" for n in range(20)]


def post(url: str, body: bytes, **headers: str):
    return request(url, body, {"Content-Type": "text/plain; charset=UTF-8", **headers}, method="POST")


def received_for(smtp, address: str) -> bytes:
    """The message the SMTP server received for `address`, with the line ends a mailbox keeps."""
    (raw,) = [raw for _, rcpts, raw in smtp.mailbox.messages if address in rcpts]
    return raw.replace(b"\r\n", b"\n")


def reports(smtp) -> tuple[bytes, bytes]:
    """A Postfix bounce of reader03's message and an ARF complaint about reader04's."""
    bounced = received_for(smtp, READERS[3]).decode()
    dsn = fill(
        "postfix-dsn.eml", sender="bounces@example.com", recipient=READERS[3], headers=bounced.split("\n\n", 1)[0]
    )
    complained = received_for(smtp, READERS[4]).decode()
    subject = str(message_from_bytes(complained.encode(), policy=policy.default)["Subject"])
    arf = fill(
        "rfc5965-arf.eml",
        sender="bounces@example.com",
        subject=subject,
        report="7f3a",
        rcpt_to=READERS[4],
        original=complained,
    )
    return dsn, arf


@pytest.fixture
def world(project, monkeypatch, tmp_path):
    dovecot_path()
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    monkeypatch.setenv("PUBLISH_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.delenv("PUBLISH_SMTP_USER", raising=False)
    (tmp_path / "amazon").mkdir()
    amazon = Amazon(tmp_path / "amazon")
    for name, value in amazon.env.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    with SmtpServer() as smtp:
        configure(project, smtp, port)
        with (project.root / "publish.toml").open("a") as config:
            config.write(f'ses_topic_arn = "{TOPIC}"\n')
        listed = project.root / "readers.csv"
        listed.write_text("email,name,status\n" + "".join(f"{a},,subscribed\n" for a in READERS))
        assert cli(project, "subscribers", "import", str(listed)).exit_code == 0
        server = start_service(port, project.root, dict(os.environ), project.root / "publish.toml")
        try:
            yield project, smtp, amazon, f"http://127.0.0.1:{port}/list/webhooks"
        finally:
            stop(server)
            amazon.close()


def send(project, issue):
    result = cli(project, "send", str(issue), "--build-dir", str(project.build_dir()), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def test_five_bounced_or_complained_of_twenty_the_next_issue_reaches_fifteen(world, tmp_path):
    project, smtp, amazon, hooks = world
    first = project.issue()
    assert project.publish(first, "--no-audio").exit_code == 0
    sent, _ = send(project, first)
    assert sent["sent"] == 20 and len(smtp.mailbox.messages) == 20

    # SES by SNS: the subscription confirmed by visiting its SubscribeURL, then two hard bounces.
    status, _, _ = post(
        f"{hooks}/ses", amazon.signed(amazon.subscription()), **{"x-amz-sns-message-type": "SubscriptionConfirmation"}
    )
    assert status == 200 and any(v.startswith("/?Action=ConfirmSubscription") for v in amazon.visits)
    bounce_bodies = [amazon.signed(amazon.notification(ses_bounce(address))) for address in READERS[:2]]
    for body in bounce_bodies:
        status, text, _ = post(f"{hooks}/ses", body)
        assert (status, json.loads(text)) == (200, {"changed": 1})

    # The generic webhook: a complaint, as Postmark's SpamComplaint is mapped in the README.
    complaint = json.dumps({"email": READERS[2].upper(), "type": "complaint", "reason": "SpamComplaint", "id": "pm-1"})
    status, text, _ = post(f"{hooks}/bounce", complaint.encode(), Authorization=f"Bearer {TOKEN}")
    assert (status, json.loads(text)) == (200, {"changed": 1})

    # A bounce mailbox on a real IMAP server, then the same reports in an mbox: counted once.
    dsn, arf = reports(smtp)
    unrelated = b"From: someone@example.net\nTo: bounces@example.com\nSubject: Out of office\n\nAway.\n"
    with ImapServer("bounces", "imap-password-1") as imap:
        for n, raw in enumerate((dsn, arf, unrelated)):
            imap.deliver(raw, f"{n}.host")
        env = {"PUBLISH_IMAP_USER": "bounces", "PUBLISH_IMAP_PASSWORD": "imap-password-1"}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            read = cli(project, "subscribers", "bounces", "--imap", f"127.0.0.1:{imap.port}", "--json")
            assert read.exit_code == 0, read.output
            assert json.loads(read.stdout)["changed"] == {"hard": 1, "soft": 0, "complaint": 1, "delivered": 0}
            assert json.loads(read.stdout)["not_ours"] == 1
            again = json.loads(
                cli(project, "subscribers", "bounces", "--imap", f"127.0.0.1:{imap.port}", "--json").stdout
            )
            assert (
                again["changed"] == {"hard": 0, "soft": 0, "complaint": 0, "delivered": 0} and again["unchanged"] == 2
            )
        wrong = cli(project, "subscribers", "bounces", "--imap", f"127.0.0.1:{imap.port}")
        assert wrong.exit_code == 2 and "PUBLISH_IMAP_USER" in wrong.stderr  # no login: told how, no traceback
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for raw in (dsn, arf, unrelated):
        box.add(raw)
    box.close()
    from_mbox = json.loads(cli(project, "subscribers", "bounces", str(tmp_path / "bounces.mbox"), "--json").stdout)
    assert from_mbox["reports"] == 2 and from_mbox["unchanged"] == 2 and from_mbox["changed"]["hard"] == 0

    # Hostile requests: none changes anything.
    before = json.loads(cli(project, "subscribers", "count", "--json").stdout)
    tampered = json.loads(amazon.signed(amazon.notification(ses_bounce(READERS[5]))))
    tampered["Message"] = tampered["Message"].replace(READERS[5], READERS[6])
    foreign_host = amazon.signed(
        amazon.notification(ses_bounce(READERS[5])), cert_url="https://sns.evil.example.com/c.pem"
    )
    for body, expected in (
        (json.dumps(tampered).encode(), 403),
        (foreign_host, 403),
        (amazon.signed(amazon.notification(ses_bounce(READERS[5])), cert_url=f"https://{HOST}.evil.com/c.pem"), 403),
        (
            amazon.signed(
                amazon.notification(ses_bounce(READERS[5]), TopicArn="arn:aws:sns:us-east-1:999999999999:other")
            ),
            403,
        ),
        (b"x" * (300 * 1024), 413),
    ):
        assert post(f"{hooks}/ses", body)[0] == expected
    replay = post(f"{hooks}/ses", bounce_bodies[0])
    assert replay[0] == 200 and json.loads(replay[1]) == {"unchanged": 1}
    hard = json.dumps({"email": READERS[7], "type": "hard"}).encode()
    assert post(f"{hooks}/bounce", hard, Authorization="Bearer wrong-token")[0] == 401
    assert post(f"{hooks}/bounce", hard)[0] == 401
    assert post(f"{hooks}/bounce", b"{not json", Authorization=f"Bearer {TOKEN}")[0] == 400
    assert (
        post(
            f"{hooks}/bounce",
            json.dumps({"email": READERS[7], "type": "maybe"}).encode(),
            Authorization=f"Bearer {TOKEN}",
        )[0]
        == 400
    )
    stranger = json.dumps({"email": "stranger@example.org", "type": "hard"}).encode()
    assert json.loads(post(f"{hooks}/bounce", stranger, Authorization=f"Bearer {TOKEN}")[1]) == {"unknown": 1}
    assert json.loads(cli(project, "subscribers", "count", "--json").stdout) == before

    # What the writer sees: the counts, each suppressed address with its reason, the rates.
    counts = json.loads(cli(project, "subscribers", "count", "--json").stdout)
    assert (counts["active"], counts["bounced"], counts["complained"], counts["total"]) == (15, 3, 2, 20)
    suppressed = json.loads(
        cli(project, "subscribers", "list", "--status", "bounced", "--status", "complained", "--json").stdout
    )
    reasons = {r["email"]: r["reason"] for r in suppressed}
    assert set(reasons) == set(READERS[:5])
    assert "ses" in reasons[READERS[0]] and "Permanent" in reasons[READERS[0]]
    assert "webhook" in reasons[READERS[2]] and "SpamComplaint" in reasons[READERS[2]]
    assert "mailbox" in reasons[READERS[3]] and "5.1.1" in reasons[READERS[3]]
    assert "abuse" in reasons[READERS[4]]
    second = project.issue(
        project.issue().read_text().replace("A Short Test", "The Next One").replace("2024-03-01", "2024-03-08"),
        "2024-03-08-the-next-one.md",
    )
    assert project.publish(second, "--no-audio").exit_code == 0
    before_send = len(smtp.mailbox.messages)
    sent, warned = send(project, second)
    assert sent["sent"] == 15 and sent["suppressed"] == {"unsubscribed": 0, "bounced": 3, "complained": 2}
    reached = {rcpt for _, rcpts, _ in smtp.mailbox.messages[before_send:] for rcpt in rcpts}
    assert reached == set(READERS[5:])
    assert "drew 2 complaints: 10.0%, over 0.3%" in warned and "drew 3 hard bounces: 15.0%, over 5.0%" in warned
