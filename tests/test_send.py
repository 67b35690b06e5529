"""`publish send` against a real SMTP server on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.mail.unsubscribe import verify, verify_key_token
from tests.smtp_server import SmtpServer

SECRET = "test-unsubscribe-secret-0123456789"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def published(project, smtp, monkeypatch):
    """A short issue published (without audio) to the test S3, with SMTP pointing at loopback."""
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    monkeypatch.delenv("PUBLISH_SMTP_USER", raising=False)
    project.config(email={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "rate_per_second": 0})
    issue = project.issue()
    result = project.publish(issue, "--no-audio")
    assert result.exit_code == 0, result.output
    return project, issue


def subscribers_csv(project, rows: list[str], header: str = "email,name,status") -> str:
    path = project.root / "subscribers.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def send(project, issue, csv_path, *args):
    return CliRunner().invoke(
        main,
        [
            "send",
            str(issue),
            "--subscribers",
            csv_path,
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
            "--json",
            *args,
        ],
    )


def unsubscribe_link(message) -> str:
    return message["List-Unsubscribe"].split(",")[0].strip("<> ")


def record_names(project, addresses: list[str]) -> dict[str, str]:
    """What each address's unsubscribe token must name: its record in the list's store."""
    from pipeline.config import load_config
    from pipeline.mail.liststore import open_list

    with open_list(load_config(project.root / "publish.toml"), [SECRET], create=False) as store:
        return {address: store.record_name(address) for address in addresses}


def test_a_site_of_ones_own_gets_the_address_in_the_link_and_a_v2_token(published, smtp):
    """Where [email] unsubscribe_url keeps {email}, for a site that checks clicks itself."""
    project, issue = published
    config = project.root / "publish.toml"
    config.write_text(config.read_text() + 'unsubscribe_url = "https://example.com/out?email={email}&token={token}"\n')
    assert project.publish(issue, "--no-audio").exit_code == 0  # the email is built with the link it sends
    result = send(project, issue, subscribers_csv(project, ["own@example.com,,"]))
    assert result.exit_code == 0, result.output
    query = parse_qs(urlsplit(unsubscribe_link(smtp.mailbox.parsed()[0])).query)
    assert query["email"] == ["own@example.com"]
    assert verify("own@example.com", query["token"][0], SECRET, list_id=json.loads(result.stdout)["list_id"])


def test_every_subscriber_gets_one_correct_message(published, smtp):
    project, issue = published
    rows = [f"reader{i}@example.com,Reader {i}," for i in range(12)]
    rows += [
        "Reader3@Example.com,Duplicate,",
        "gone@example.com,Gone,unsubscribed",
        "émilie@example.com,Émilie Dubois,",
    ]
    result = send(project, issue, subscribers_csv(project, rows))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["sent"], summary["failed"], summary["skipped"], summary["duplicates"]) == (13, 0, 1, 1)
    counts = smtp.mailbox.per_recipient()
    assert set(counts.values()) == {1} and len(counts) == 13 and "gone@example.com" not in counts
    ids = set()
    names = record_names(project, [to for _, (to,), _ in smtp.mailbox.messages])
    for (_, (to,), _), message in zip(smtp.mailbox.messages, smtp.mailbox.parsed()):
        assert message["To"].addresses[0].addr_spec.encode("utf-8", "surrogateescape").decode() == to
        assert message["Subject"] == "A Short Test"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["X-Publish-Preview"] is None
        ids.add(message["Message-ID"])
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        link = unsubscribe_link(message)
        query = parse_qs(urlsplit(link).query)
        assert "email" not in query and "@" not in link  # the token alone names the subscriber
        name = verify_key_token(query["token"][0], [SECRET], summary["list_id"])  # the list's own id
        assert name is not None and names[to] == name
        assert link in plain and link.replace("&", "&amp;") in html
        assert "preview-recipient" not in plain + html
    assert len(ids) == 13


def test_rerun_sends_nothing_twice(published, smtp):
    project, issue = published
    csv_path = subscribers_csv(project, [f"r{i}@example.com,," for i in range(5)])
    assert send(project, issue, csv_path).exit_code == 0
    again = send(project, issue, csv_path)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["sent"], summary["already_sent"]) == (0, 5)
    assert len(smtp.mailbox.messages) == 5


def test_refused_address_is_reported_and_the_rest_delivered(published, smtp):
    project, issue = published
    smtp.mailbox.refuse.add("bounce@example.com")
    smtp.mailbox.busy["slow@example.com"] = 1  # one 451, then accepted
    rows = ["a@example.com,,", "bounce@example.com,,", "slow@example.com,,", "b@example.com,,"]
    result = send(project, issue, subscribers_csv(project, rows))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sent"] == 3 and summary["failed"] == 1
    assert summary["failures"][0]["email"] == "bounce@example.com" and summary["failures"][0]["code"] == 550
    assert set(smtp.mailbox.per_recipient()) == {"a@example.com", "slow@example.com", "b@example.com"}
    assert "not delivered to bounce@example.com" in result.stderr


def test_a_send_that_delivered_nothing_says_so_and_exits_1(published, smtp):
    """Issue 29, item 4: a test to an address the server refuses printed "test sent to …" and
    exited 0, and so did a list send whose every address was refused."""
    project, issue = published
    smtp.mailbox.refuse.update({"me@example.com", "x@example.com", "y@example.com"})
    test = CliRunner().invoke(
        main,
        [
            "send",
            str(issue),
            "--test",
            "me@example.com",
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
        ],
    )
    assert test.exit_code == 1, test.output
    assert "sent to" not in test.stderr and "not delivered to me@example.com" in test.stderr
    assert "delivered to none of 1" in test.stderr
    listed = send(project, issue, subscribers_csv(project, ["x@example.com,,", "y@example.com,,"]))
    assert listed.exit_code == 1, listed.output
    summary = json.loads(listed.stdout)
    assert (summary["sent"], summary["failed"]) == (0, 2)
    words = CliRunner().invoke(
        main,
        [
            "send",
            str(issue),
            "--subscribers",
            subscribers_csv(project, ["x@example.com,,", "y@example.com,,"]),
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
        ],
    )
    assert words.exit_code == 1
    assert "0 delivered in this run" in words.stderr and "2 refused" in words.stderr
    assert "sent     " not in words.stderr


def test_malformed_rows_are_reported_with_line_numbers(published, smtp):
    project, issue = published
    rows = ["good@example.com,,", "not-an-address,,", "x@,,", "ok@example.com,,maybe"]
    result = send(project, issue, subscribers_csv(project, rows))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(":")[2] for e in errors] == ["3", "4", "5"]
    assert "not-an-address" in errors[0] and "unknown status 'maybe'" in errors[2]
    assert smtp.mailbox.messages == []


def test_header_injection_through_a_name_is_neutralised(published, smtp):
    project, issue = published
    csv_path = subscribers_csv(project, ['a@example.com,"Ann\r\nBcc: victim@example.com",'])
    assert send(project, issue, csv_path).exit_code == 0
    (message,) = smtp.mailbox.parsed()
    assert message["Bcc"] is None and smtp.mailbox.per_recipient() == {"a@example.com": 1}


def test_missing_secret_unbuilt_issue_and_dry_run(published, smtp, monkeypatch):
    project, issue = published
    csv_path = subscribers_csv(project, ["a@example.com,Ann,", "b@example.com,,"])
    dry = send(project, issue, csv_path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    summary = json.loads(dry.stdout)
    assert summary["to_send"] == 2 and summary["sent"] == 0 and "To: Ann <a@example.com>" in summary["sample"]
    assert smtp.mailbox.messages == []
    monkeypatch.delenv("PUBLISH_SECRET")
    missing = send(project, issue, csv_path)
    assert missing.exit_code == 2 and "PUBLISH_SECRET is not set" in missing.stderr
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    issue.write_text(issue.read_text() + "\nOne more line.\n")
    stale = send(project, issue, csv_path)
    assert stale.exit_code == 2 and "changed since it was built" in stale.stderr
    assert smtp.mailbox.messages == []


def test_build_folder_never_holds_the_list(published, smtp):
    project, issue = published
    assert send(project, issue, subscribers_csv(project, ["secret.reader@example.com,Secret Reader,"])).exit_code == 0
    for path in (project.root / "build").rglob("*"):
        if path.is_file() and not path.is_symlink() and ".cache" not in path.parts:
            data = path.read_bytes()
            assert b"secret.reader" not in data and b"Secret Reader" not in data, path


def _send_subprocess(project, issue, csv_path, env):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "send",
            str(issue),
            "--subscribers",
            csv_path,
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell's background job starts with SIGINT ignored, and Python then never raises
        # KeyboardInterrupt; give the child the default a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_mid_send_then_rerun_delivers_everyone_once(published, smtp, sig):
    project, issue = published
    project.config(email={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "rate_per_second": 40})
    csv_path = subscribers_csv(project, [f"reader{i}@example.com,," for i in range(60)])
    env = {**os.environ, "PUBLISH_SECRET": SECRET}
    # Stop it as it starts the 21st message: the 20th is accepted and, by then, logged. (Killed
    # between the server's 250 and its log write, a sender would send that one again.) The hook
    # is in place before the sender starts, whatever the machine's speed.
    started: list[subprocess.Popen] = []
    smtp.mailbox.on_mail = lambda accepted: accepted == 20 and started[0].send_signal(sig)
    process = _send_subprocess(project, issue, csv_path, env)
    started.append(process)
    process.communicate(timeout=60)
    assert process.returncode == (-9 if sig == signal.SIGKILL else 130)
    smtp.mailbox.on_mail = None
    first = len(smtp.mailbox.messages)
    assert 20 <= first < 60
    again = _send_subprocess(project, issue, csv_path, env)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert json.loads(out)["sent"] == 60 - first
    counts = smtp.mailbox.per_recipient()
    assert len(counts) == 60 and set(counts.values()) == {1}


def test_smtp_outage_stops_with_a_clear_error_and_a_rerun_finishes(published, smtp):
    from pipeline.config import load_config
    from pipeline.errors import ServiceError
    from pipeline.mail.send import SendOptions, send_issue
    from pipeline.report import Reporter

    project, issue = published
    csv_path = subscribers_csv(project, [f"r{i}@example.com,," for i in range(10)])
    config = load_config(project.root / "publish.toml")
    config = replace(config, email=replace(config.email, rate_per_second=20))
    options = SendOptions(build_dir=project.root / "build", retry_delays=(0.05, 0.05))
    # The server goes away as the 5th message starts.
    smtp.mailbox.on_mail = lambda accepted: accepted == 4 and threading.Thread(target=smtp.controller.stop).start()
    with pytest.raises(ServiceError) as caught:
        send_issue(issue, csv_path, config, options, Reporter(quiet=True))
    assert f"127.0.0.1:{smtp.port}" in caught.value.what and "run the same command again" in caught.value.hint
    smtp.mailbox.on_mail = None
    smtp.restart()
    result = send_issue(issue, csv_path, config, options, Reporter(quiet=True))
    assert result["already_sent"] == 4 and result["sent"] == 6
    counts = smtp.mailbox.per_recipient()
    assert len(counts) == 10 and set(counts.values()) == {1}


def test_ses_transport_sends_raw_messages_and_sorts_its_errors():
    import boto3
    from botocore.stub import Stubber

    from pipeline.config import Config
    from pipeline.errors import ServiceError
    from pipeline.mail.delivery import SesTransport, deliver

    client = boto3.client("sesv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    raw = b"To: a@example.com\r\nSubject: t\r\n\r\nhello\r\n"
    expected = {
        "FromEmailAddress": "news@example.com",
        "Destination": {"ToAddresses": ["a@example.com"]},
        "Content": {"Raw": {"Data": raw}},
    }
    stub.add_client_error("send_email", "TooManyRequestsException", expected_params=expected)
    stub.add_response("send_email", {"MessageId": "m1"}, expected)
    stub.add_client_error(
        "send_email",
        "MessageRejected",
        "Email address is not verified.",
        400,
        expected_params={**expected, "Destination": {"ToAddresses": ["b@example.com"]}},
    )
    stub.add_client_error("send_email", "SendingPausedException", http_status_code=400)
    sent, failed = [], []
    with stub:
        transport = SesTransport(Config(), client=client)
        with pytest.raises(ServiceError) as caught:
            deliver(
                [("a@example.com", lambda: raw), ("b@example.com", lambda: raw), ("c@example.com", lambda: raw)],
                "news@example.com",
                transport,
                rate=0,
                delays=(0.01,),
                on_sent=sent.append,
                on_failed=lambda a, c, d: failed.append((a, c)),
            )
    assert sent == ["a@example.com"] and failed == [("b@example.com", 400)]
    assert "SendingPausedException" in caught.value.what and "eu-west-1" in caught.value.what


def test_a_config_edit_after_the_build_is_not_sent_silently(published, smtp):
    """Issue 29, item 5: adding [email] address (the postal address the law asks for) after
    publishing, then sending, sent the email without it and said nothing."""
    project, issue = published
    config = project.root / "publish.toml"
    config.write_text(config.read_text() + 'address = "1 Example Street, Springfield"\n')
    refused = send(project, issue, subscribers_csv(project, ["a@example.com,,"]))
    assert refused.exit_code == 2 and "[email] address changed" in refused.output, refused.output
    assert f"run `publish issue {issue}` first" in refused.output and smtp.mailbox.messages == []
    assert project.publish(issue, "--no-audio").exit_code == 0
    sent = send(project, issue, subscribers_csv(project, ["a@example.com,,"]))
    assert sent.exit_code == 0, sent.output
    assert "1 Example Street, Springfield" in smtp.mailbox.parsed()[0].get_body(("plain",)).get_content()
