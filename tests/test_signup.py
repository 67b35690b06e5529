"""Signing up as a reader does it: the published home page's form in Chromium, the
confirmation email as the SMTP server received it, its link opened and confirmed in the
browser, then the next issue sent to the list, once. Then the hostile requests, and two
service processes on one store taking sign-ups and confirmations of the same addresses at once."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.browser import ARGS, chromium_path
from tests.smtp_server import SmtpServer, free_port
from tests.test_service import form_fields, request, start_service, stop
from tests.visible import visible_text

SECRET = "test-signup-secret-0123456789"


def configure(project, smtp, port: int, per_hour: int = 1000, welcome: bool = False) -> None:
    project.config(
        email={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "rate_per_second": 0,
            "address": "1 Review Road, Springfield",
            "unsubscribe_url": f"http://127.0.0.1:{port}/unsubscribe?token={{token}}",
        }
    )
    with (project.root / "publish.toml").open("a") as config:
        config.write(
            f'[subscriptions]\nservice_url = "http://127.0.0.1:{port}/list"\n'
            f"signups_per_hour = {per_hour}\nwelcome = {'true' if welcome else 'false'}\n"
        )


@pytest.fixture
def signups(project, monkeypatch):
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    monkeypatch.delenv("PUBLISH_SMTP_USER", raising=False)
    port = free_port()
    with SmtpServer() as smtp:
        configure(project, smtp, port, per_hour=3, welcome=True)
        server = start_service(port, project.root, dict(os.environ), project.root / "publish.toml")
        try:
            yield project, smtp, f"http://127.0.0.1:{port}/list"
        finally:
            stop(server)


def cli(project, *args: str):
    result = CliRunner().invoke(main, [*args, "--config", str(project.root / "publish.toml")])
    return result


def statuses(project) -> dict[str, str]:
    result = cli(project, "subscribers", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["email"]: row["status"] for row in json.loads(result.stdout)}


def wait_for_mail(smtp, count: int, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while len(smtp.mailbox.messages) < count:
        assert time.monotonic() < deadline, f"{len(smtp.mailbox.messages)} emails, not {count}"
        time.sleep(0.1)
    return smtp.mailbox.parsed()


def confirm_url(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"(http://\S+/list/confirm\?\S+)", text).group(1)


def post(url: str, fields: dict, client: str = "192.0.2.1"):
    body = urllib.parse.urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": client}
    return request(url, body, headers)


def test_a_reader_signs_up_on_the_home_page_confirms_and_gets_the_next_issue(signups):
    from playwright.sync_api import sync_playwright

    project, smtp, base = signups
    issue = project.issue()
    published = project.publish(issue, "--no-audio")
    assert published.exit_code == 0, published.output
    home = json.loads(published.stdout)["feed_url"].replace("feed.xml", "index.html")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.goto(home)
            assert page.get_by_label("Get Screen Reviews by email").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.get_by_label("Get Screen Reviews by email").fill("New.Reader@example.com")
            page.get_by_role("button", name="Subscribe", exact=True).click()
            page.wait_for_load_state()
            assert "Check your inbox" in page.inner_text("body")
            (message,) = wait_for_mail(smtp, 1)
            assert message["Subject"] == "Confirm your subscription to Screen Reviews"
            assert message["To"] == "New.Reader@example.com" and "news@example.com" in message["From"]
            html = message.get_body(("html",)).get_content()
            assert "Yes, subscribe me" in visible_text(html) and "Screen Reviews" in visible_text(html)
            assert statuses(project) == {"New.Reader@example.com": "pending"}
            page.goto(confirm_url(message))  # the GET shows a button and changes nothing
            assert "Confirm your subscription" in page.inner_text("body")
            assert statuses(project) == {"New.Reader@example.com": "pending"}
            page.get_by_role("button", name="Confirm").click()
            page.wait_for_load_state()
            assert "You are subscribed" in page.inner_text("body")
        finally:
            browser.close()
    assert statuses(project) == {"New.Reader@example.com": "active"}
    welcome = wait_for_mail(smtp, 2)[1]
    assert welcome["Subject"] == "Welcome to Screen Reviews"
    # The same address again: the same page, and no email (nothing reveals who is subscribed).
    status, again, _ = post(f"{base}/subscribe", {"email": "new.reader@example.com"})
    assert status == 200 and "Check your inbox" in visible_text(again)
    sent = cli(project, "send", str(issue), "--build-dir", str(project.build_dir()), "--json")
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["sent"] == 1
    resent = json.loads(cli(project, "send", str(issue), "--build-dir", str(project.build_dir()), "--json").stdout)
    assert (resent["sent"], resent["already_sent"]) == (0, 1)
    issues = [m for m in smtp.mailbox.parsed() if m["Subject"] == "A Short Test"]
    assert len(issues) == 1 and issues[0]["To"] == "New.Reader@example.com"
    assert len(smtp.mailbox.messages) == 3  # confirmation, welcome, the issue: no second confirmation


def test_hostile_sign_ups_are_refused_or_neutralised(signups):
    project, smtp, base = signups
    url = f"{base}/subscribe"
    status, page, headers = post(url, {"email": "<script>alert(1)</script>@example.com"})
    assert status == 400 and "<script>" not in page and "alert(1)" not in page
    assert headers["content-security-policy"].startswith("default-src 'none'")
    status, page, _ = post(url, {"email": "long@example.com", "name": "x" * 1000})
    assert status == 400 and "too long" in visible_text(page)
    status, _, _ = post(url, {"email": "big@example.com", "name": "y" * 20_000})
    assert status == 413
    # A bot that fills the hidden field: the same answer, nothing sent or stored.
    status, page, _ = post(url, {"email": "bot@example.com", "website": "http://spam.example"}, "192.0.2.9")
    assert status == 200 and "Check your inbox" in visible_text(page)
    # A name made to inject a header reaches the store and the email as plain text.
    assert post(url, {"email": "eve@example.com", "name": "Eve\r\nBcc: victim@example.com"}, "192.0.2.2")[0] == 200
    # One confirmation per address per 10 minutes, whatever the number of asks.
    for client in ("192.0.2.3", "192.0.2.4"):
        assert post(url, {"email": "twice@example.com"}, client)[0] == 200
    # One client: 3 an hour (this config); the 4th answers the same and sends nothing.
    for n in range(4):
        status, page, _ = post(url, {"email": f"client{n}@example.com"}, "192.0.2.5")
        assert status == 200 and "Check your inbox" in visible_text(page)
    messages = wait_for_mail(smtp, 5)
    time.sleep(1.0)  # anything more would have arrived by now
    recipients = sorted(m["To"] for m in smtp.mailbox.parsed())
    assert recipients == sorted(
        ["eve@example.com", "twice@example.com", "client0@example.com", "client1@example.com", "client2@example.com"]
    )
    eve = next(m for m in messages if m["To"] == "eve@example.com")
    assert eve["Bcc"] is None and eve.get_all("To") == ["eve@example.com"]
    assert statuses(project).keys() == {r for r in recipients}
    # A confirmation link names its record, carries no address, and cannot be forged for another.
    link = confirm_url(eve)
    assert "@" not in link and "%40" not in link and "email=" not in link
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    kind, name, until, mac = token.split(".")
    other = next(m for m in messages if m["To"] == "twice@example.com")
    twice_name = urllib.parse.parse_qs(urllib.parse.urlsplit(confirm_url(other)).query)["token"][0].split(".")[1]
    for forged in (f"{kind}.{twice_name}.{until}.{mac}", f"{kind}.{name}.{int(until) + 1}.{mac}", token[:-2] + "xx"):
        status, page, _ = post(f"{base}/confirm", {"token": forged})
        assert status == 400 and "expired" in visible_text(page)
    assert statuses(project)["twice@example.com"] == "pending"
    fields = form_fields(request(link)[1])
    assert post(f"{base}/confirm", fields)[0] == 200
    assert statuses(project)["eve@example.com"] == "active"


def test_two_services_on_one_store_lose_no_sign_up_or_confirmation(project, monkeypatch):
    """Each of 200 addresses signs up at both services at once, then confirms at both at once:
    conditional writes make it one confirmation email each and 200 active records."""
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    monkeypatch.delenv("PUBLISH_SMTP_USER", raising=False)
    ports = [free_port(), free_port()]
    addresses = [f"reader{n:03d}@example.com" for n in range(200)]
    with SmtpServer() as smtp:
        configure(project, smtp, ports[0])
        servers = [start_service(port, project.root, dict(os.environ), project.root / "publish.toml") for port in ports]
        try:
            bases = [f"http://127.0.0.1:{port}/list" for port in ports]
            jobs = [(base, address) for address in addresses for base in bases]
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(lambda job: post(f"{job[0]}/subscribe", {"email": job[1]})[0], jobs))
            assert set(answers) == {200}
            messages = wait_for_mail(smtp, 200, timeout=120)
            time.sleep(2.0)
            assert sorted(m["To"] for m in smtp.mailbox.parsed()) == addresses  # one each, not two
            links = [confirm_url(m) for m in messages]
            confirms = [(base, link) for link in links for base in bases]

            def confirm(job):
                base, link = job
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
                fields = {"token": query["token"][0]}
                return post(f"{base}/confirm", fields)[0]

            with ThreadPoolExecutor(16) as pool:
                assert set(pool.map(confirm, confirms)) == {200}
        finally:
            for server in servers:
                stop(server)
    assert statuses(project) == dict.fromkeys(addresses, "active")
    counts = json.loads(cli(project, "subscribers", "count", "--json").stdout)
    assert (counts["active"], counts["total"]) == (200, 200)


def test_the_unsubscribe_link_carries_no_address_and_still_works(signups):
    """Issue 29, item 7: `?email=…` in every link leaked the address into logs and referrers
    and cost 1.0 with SpamAssassin. The token alone names the subscriber now."""
    project, smtp, _ = signups
    people = project.root / "people.csv"
    people.write_text("email,name\nleaves@example.com,Leaves\nreturns@example.com,Returns\nstays@example.com,\n")
    assert cli(project, "subscribers", "import", str(people)).exit_code == 0
    issue = project.issue()
    assert project.publish(issue, "--no-audio").exit_code == 0
    sent = cli(project, "send", str(issue), "--build-dir", str(project.build_dir()), "--json")
    assert sent.exit_code == 0, sent.output
    links = {}
    for message in wait_for_mail(smtp, 3):
        link = message["List-Unsubscribe"].split(",")[0].strip("<> ")
        assert "@" not in link and "%40" not in link.lower() and "email=" not in link, link
        assert "token=v3." in link
        assert link in message.get_body(("plain",)).get_content()
        links[message["To"].addr_spec if hasattr(message["To"], "addr_spec") else str(message["To"])] = link
    links = {re.search(r"[\w.]+@example\.com", k).group(0): v for k, v in links.items()}
    status, page, _ = request(links["leaves@example.com"])  # a GET asks, showing whose link it is
    assert status == 200 and "leaves@example.com" in visible_text(page)
    assert statuses(project)["leaves@example.com"] == "active"
    one_click = request(links["leaves@example.com"], b"List-Unsubscribe=One-Click")
    assert one_click[0] == 200
    fields = form_fields(request(links["returns@example.com"])[1])
    status, done, _ = post(links["returns@example.com"], fields)
    assert status == 200 and "You are unsubscribed" in visible_text(done)
    assert statuses(project) == {
        "leaves@example.com": "unsubscribed",
        "returns@example.com": "unsubscribed",
        "stays@example.com": "active",
    }
    status, back, _ = post(links["returns@example.com"], form_fields(done))  # Undo
    assert status == 200 and "subscribed again" in visible_text(back)
    assert statuses(project)["returns@example.com"] == "active"
    forged = links["stays@example.com"][:-2] + ("AA" if not links["stays@example.com"].endswith("AA") else "BB")
    assert request(forged)[0] == 400 and request(forged, b"List-Unsubscribe=One-Click")[0] == 400
    assert statuses(project)["stays@example.com"] == "active"
