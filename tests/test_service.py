"""The unsubscribe service as subscribers meet it: a real uvicorn process, real HTTP, real
mail through aiosmtpd, and the unsubscribes recorded in the private bucket `publish send`
reads."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import html5lib
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import http_get
from tests.smtp_server import SmtpServer, free_port
from tests.visible import visible_text

SECRET = "test-unsubscribe-secret-0123456789"
SECOND_ISSUE = """---
title: "The Next One"
date: 2024-03-08
summary: "The second issue."
---
A second review, shorter than the first.
"""


def request(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, headers=headers or {}, method=method), timeout=10
        ) as answer:
            return (
                answer.status,
                answer.read().decode("utf-8", "replace"),
                {k.lower(): v for k, v in answer.headers.items()},
            )
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), {k.lower(): v for k, v in error.headers.items()}


def one_click(url: str, multipart: bool = False):
    if multipart:
        body = (
            b'--b0undary\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--b0undary--\r\n"
        )
        return request(url, body, {"Content-Type": "multipart/form-data; boundary=b0undary"})
    return request(url, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})


def form_fields(page: str) -> dict[str, str]:
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    return {field.get("name"): field.get("value") for field in tree.iter("input")}


def start_service(
    port: int, folder: Path, env: dict, config: Path | None = None, files: int | None = None
) -> subprocess.Popen:
    """`publish unsubscribe-server` as a real process, once it answers. Its log goes to a file in
    `folder`: a pipe nobody reads fills up and stops the service mid-test."""

    def limit_files():
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    log = folder / f"service-{port}.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "unsubscribe-server",
            "--port",
            str(port),
            *(["--config", str(config)] if config else []),
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        preexec_fn=limit_files,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            request(f"http://127.0.0.1:{port}/unsubscribe")
            return server
        except OSError:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(30)


@pytest.fixture
def service(project, monkeypatch):
    """The project published (no audio) with its unsubscribe URL on a running service."""
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    monkeypatch.delenv("PUBLISH_SMTP_USER", raising=False)
    port = free_port()
    with SmtpServer() as smtp:
        project.config(
            email={
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "rate_per_second": 0,
                "unsubscribe_url": f"http://127.0.0.1:{port}/unsubscribe?email={{email}}&token={{token}}",
            }
        )
        server = start_service(port, project.root, dict(os.environ), project.root / "publish.toml")
        try:
            base = f"http://127.0.0.1:{port}/unsubscribe"
            yield project, smtp, base
        finally:
            stop(server)


def send(project, issue: Path, *args: str):
    result = CliRunner().invoke(
        main,
        [
            "send",
            str(issue),
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
            "--json",
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def publish_and_send(project, smtp, addresses: list[str]) -> tuple[Path, Path, dict[str, str]]:
    """The short issue published and sent to `addresses`: (issue, list, {address: unsubscribe link})."""
    issue = project.issue()
    assert project.publish(issue, "--no-audio").exit_code == 0
    csv = project.root / "subscribers.csv"
    csv.write_text("email\n" + "".join(f"{a}\n" for a in addresses))
    assert send(project, issue, "--subscribers", str(csv))["sent"] == len(addresses)
    return (
        issue,
        csv,
        {
            m["To"].addresses[0].addr_spec: m["List-Unsubscribe"].split(",")[0].strip("<> ")
            for m in smtp.mailbox.parsed()
        },
    )


def test_unsubscribes_end_to_end(service):
    project, smtp, _ = service
    first = project.issue()
    assert project.publish(first, "--no-audio").exit_code == 0
    csv = project.root / "subscribers.csv"
    csv.write_text("email,name\n" + "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(20)))
    assert send(project, first, "--subscribers", str(csv))["sent"] == 20
    links = {
        m["To"].addresses[0].addr_spec: m["List-Unsubscribe"].split(",")[0].strip("<> ") for m in smtp.mailbox.parsed()
    }
    assert len(links) == 20

    assert one_click(links["reader3@example.com"])[:2] == (200, "")
    assert one_click(links["reader7@example.com"], multipart=True)[:2] == (200, "")
    status, page, headers = request(links["reader11@example.com"])  # a person clicks the footer link
    assert status == 200 and "Unsubscribe?" in visible_text(page) and "reader11@example.com" in visible_text(page)
    assert "no-store" in headers["cache-control"]
    status, done, _ = request(
        links["reader11@example.com"],
        urllib.parse.urlencode(form_fields(page)).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and "You are unsubscribed" in visible_text(done) and form_fields(done)["action"] == "undo"

    second = project.issue(SECOND_ISSUE, "2024-03-08-the-next-one.md")
    assert project.publish(second, "--no-audio").exit_code == 0
    smtp.mailbox.messages.clear()
    result = send(project, second, "--subscribers", str(csv))
    assert (result["sent"], result["unsubscribed"]) == (17, 3)
    received = {rcpt for _, rcpts, _ in smtp.mailbox.messages for rcpt in rcpts}
    assert len(received) == 17 and not received & {"reader3@example.com", "reader7@example.com", "reader11@example.com"}
    listed = CliRunner().invoke(
        main,
        [
            "subscribers",
            "unsubscribed",
            "--subscribers",
            str(csv),
            "--config",
            str(project.root / "publish.toml"),
            "--json",
        ],
    )
    assert json.loads(listed.stdout)["unsubscribed"] == [
        "reader3@example.com",
        "reader7@example.com",
        "reader11@example.com",
    ]


def test_undo_a_get_never_unsubscribes_and_the_store_is_private(service):
    project, _, base = service
    from pipeline.config import load_config
    from pipeline.mail.compose import list_identity
    from pipeline.mail.unsubscribe import make_token

    config = load_config(project.root / "publish.toml")
    token = make_token("undo@example.com", SECRET, list_identity(config))
    link = f"{base}?{urllib.parse.urlencode({'email': 'undo@example.com', 'token': token})}"
    for _ in range(3):
        assert request(link)[0] == 200  # scanners and previews
    csv = project.root / "one.csv"
    csv.write_text("email\nundo@example.com\n")

    def gone() -> list[str]:
        out = CliRunner().invoke(
            main,
            [
                "subscribers",
                "unsubscribed",
                "--subscribers",
                str(csv),
                "--config",
                str(project.root / "publish.toml"),
                "--json",
            ],
        )
        return json.loads(out.stdout)["unsubscribed"]

    assert gone() == []
    fields = {"email": "undo@example.com", "token": token, "action": "unsubscribe"}
    status, confirmed, _ = request(link, urllib.parse.urlencode(fields).encode())
    assert status == 200
    assert gone() == ["undo@example.com"]
    listed = project.bucket_client().client.list_objects_v2(Bucket=f"{project.bucket}-subscriptions")["Contents"]
    keys = [k["Key"] for k in listed if k["Key"] != "list.json"]
    assert len(keys) == 1 and "undo" not in keys[0] and "example" not in keys[0]
    for key in (keys[0], "list.json"):  # never public
        with pytest.raises(urllib.error.HTTPError) as refused:
            http_get(f"{project.s3.endpoint}/{project.bucket}-subscriptions/{key}")
        assert refused.value.code == 403
    # The footer's token (in every forwarded copy) cannot re-subscribe anyone: only the page's Undo can.
    status, page, _ = request(link, urllib.parse.urlencode({**fields, "action": "undo"}).encode())
    assert status == 400 and gone() == ["undo@example.com"]
    undo = form_fields(confirmed)
    assert undo["action"] == "undo" and undo["token"] != token
    status, page, _ = request(link, urllib.parse.urlencode(undo).encode())
    assert status == 200 and "subscribed again" in visible_text(page)
    assert gone() == []


def test_hostile_requests(service):
    project, _, base = service
    from pipeline.config import load_config
    from pipeline.mail.compose import list_identity
    from pipeline.mail.unsubscribe import make_token

    identity = list_identity(load_config(project.root / "publish.toml"))
    marked = '"><script>alert(1)</script>@example.com'
    good = make_token(marked, SECRET, identity)
    status, page, _ = request(f"{base}?{urllib.parse.urlencode({'email': marked, 'token': good})}")
    assert status == 200 and "<script>" not in page and marked in visible_text(page)
    for query in (
        "",
        "?email=a@example.com",
        "?email=a@example.com&token=v2.forged",
        f"?email=b@example.com&token={make_token('a@example.com', SECRET, identity)}",
        f"?email=a@example.com&token={make_token('a@example.com', 'another-secret-0123456789', identity)}",
    ):
        status, page, _ = request(base + query, b"List-Unsubscribe=One-Click")
        assert status == 400 and "This link does not work" in visible_text(page), query
    link = f"{base}?{urllib.parse.urlencode({'email': 'c@example.com', 'token': make_token('c@example.com', SECRET, identity)})}"
    assert request(link, b"List-Unsubscribe=One-Click&x=" + b"a" * 11_000)[0] == 413
    assert request(link, b"x" * 20_000, {"Transfer-Encoding": "chunked"})[0] in (400, 413)
    assert request(link, b"List-Unsubscribe=One-Click", method="PUT")[0] == 405
    assert request(link, method="DELETE")[0] == 405
    status, _, headers = request(link + "&next=https://evil.example.com", b"action=unsubscribe")
    assert status == 200 and "location" not in headers
    assert request(f"{base.rsplit('/', 1)[0]}/elsewhere")[0] == 404
    # Finding 14: RFC 8058's body counts whatever type is declared; HEAD is a GET without a body;
    # the URL (address and token) is never sent on as a referrer.
    for i, declared in enumerate(({}, {"Content-Type": "text/plain"})):
        address = f"typeless{i}@example.com"
        one = f"{base}?{urllib.parse.urlencode({'email': address, 'token': make_token(address, SECRET, identity)})}"
        assert request(one, b"List-Unsubscribe=One-Click", declared)[0] == 200, declared
    status, _, headers = request(link, method="HEAD")
    assert status == 200 and headers["referrer-policy"] == "no-referrer"


def test_a_test_send_needs_no_list_and_is_not_logged(service):
    project, smtp, _ = service
    issue = project.issue()
    built = CliRunner().invoke(
        main,
        [
            "issue",
            str(issue),
            "--no-upload",
            "--no-audio",
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
        ],
    )
    assert built.exit_code == 0, built.output
    result = CliRunner().invoke(
        main,
        [
            "send",
            str(issue),
            "--test",
            "me@example.com, editor@example.com",
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "not published yet" in result.output  # built, not uploaded: a warning, still sent
    messages = smtp.mailbox.parsed()
    assert sorted(m["To"] for m in messages) == ["editor@example.com", "me@example.com"]
    assert all(m["Subject"] == "[Test] A Short Test" for m in messages)
    link = messages[0]["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert request(link)[0] == 200  # a real personal token
    csv = project.root / "s.csv"
    csv.write_text("email\nme@example.com\n")
    assert project.publish(issue, "--no-audio").exit_code == 0
    assert send(project, issue, "--subscribers", str(csv))["sent"] == 1  # the test did not count as sent


def zero_config_show(folder: Path) -> tuple[dict, int, str]:
    """A show with no endpoint and no AWS credentials (the embedded store): its environment, the
    service's port, and the unsubscribe link of leaves@example.com in list.csv."""
    from pipeline.config import Config
    from pipeline.mail.compose import list_identity
    from pipeline.mail.unsubscribe import make_token
    from pipeline.storage.embedded import free_base_port

    port, web = free_base_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PUBLISH_LOCAL_S3_PORT=str(port), PUBLISH_SECRET=SECRET)
    (folder / "publish.toml").write_text(
        f'[email]\nunsubscribe_url = "http://127.0.0.1:{web}/unsubscribe?email={{email}}&token={{token}}"\n'
    )
    (folder / "list.csv").write_text("email\nstays@example.com\nleaves@example.com\n")
    token = make_token("leaves@example.com", SECRET, list_identity(Config()))
    return env, web, f"http://127.0.0.1:{web}/unsubscribe?email=leaves@example.com&token={token}"


def test_with_no_config_the_embedded_store_holds_the_unsubscribes(tmp_path):
    """The zero-config path: no endpoint and no AWS credentials, so the service starts the
    embedded SeaweedFS, and `publish subscribers unsubscribed` finds what it recorded."""
    env, web, link = zero_config_show(tmp_path)
    server = start_service(web, tmp_path, env)
    try:
        assert one_click(link)[0] == 200
        listed = subprocess.run(
            [sys.executable, "-m", "pipeline", "subscribers", "unsubscribed", "--subscribers", "list.csv", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["unsubscribed"] == ["leaves@example.com"]
    finally:
        stop(server)


def _dry_run(project, issue: Path, csv: Path, expect: int = 0):
    result = CliRunner().invoke(
        main,
        [
            "send",
            str(issue),
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
            "--json",
            "--dry-run",
            "--subscribers",
            str(csv),
        ],
    )
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout) if expect == 0 else result.stderr


def test_an_unsubscribe_outlives_a_new_title_from_domain_and_secret(service, monkeypatch):
    """Security 2, finding 1: each change after an unsubscribe used to make send forget it
    ({'to_send': 2, 'unsubscribed': 0}) and the links in inboxes stop verifying."""
    project, smtp, _ = service
    issue, csv, links = publish_and_send(project, smtp, ["leaves@example.com", "later@example.com"])
    assert one_click(links["leaves@example.com"])[0] == 200
    config = project.root / "publish.toml"
    before = _dry_run(project, issue, csv)
    assert (before["to_send"], before["unsubscribed"]) == (0, 1)  # 'later' already has this issue
    second = project.issue(SECOND_ISSUE, "2024-03-08-the-next-one.md")
    assert project.publish(second, "--no-audio").exit_code == 0
    changes = [
        ("retitle", lambda text: text.replace("[show]\n", '[show]\ntitle = "Screen Reviews Weekly"\n')),
        ("From domain", lambda text: text.replace("[email]\n", '[email]\nfrom = "News <news@other.example>"\n')),
    ]
    for what, change in changes:
        config.write_text(change(config.read_text()))
        assert project.publish(second, "--no-audio").exit_code == 0  # send refuses an email built before
        after = _dry_run(project, second, csv)
        assert (after["to_send"], after["unsubscribed"]) == (1, 1), what
        assert after["optouts_read"] == 1
    old_secret = SECRET
    monkeypatch.setenv("PUBLISH_SECRET", "a-brand-new-secret-0123456789")
    assert _dry_run(project, second, csv)["unsubscribed"] == 1  # names do not use the secret
    monkeypatch.setenv("PUBLISH_SECRET_PREVIOUS", old_secret)
    result = send(project, second, "--subscribers", str(csv))
    assert (result["sent"], result["unsubscribed"]) == (1, 1)
    # Rotated again: the send log still knows who has this issue (its keys used the secret).
    monkeypatch.setenv("PUBLISH_SECRET", "a-third-secret-0123456789")
    monkeypatch.setenv("PUBLISH_SECRET_PREVIOUS", f"a-brand-new-secret-0123456789,{old_secret}")
    again = _dry_run(project, second, csv)
    assert (again["to_send"], again["already_sent"], again["unsubscribed"]) == (0, 1, 1)
    # A link from the first issue, sent under the old title, domain and secret, still works.
    port = free_port()
    config.write_text(re.sub(r"127\.0\.0\.1:\d+/unsubscribe", f"127.0.0.1:{port}/unsubscribe", config.read_text()))
    server = start_service(port, project.root, dict(os.environ), config)
    try:
        old_link = re.sub(r"127\.0\.0\.1:\d+/", f"127.0.0.1:{port}/", links["later@example.com"])
        assert one_click(old_link)[0] == 200
    finally:
        stop(server)
    assert project.publish(second, "--no-audio").exit_code == 0  # built with the new unsubscribe URL
    assert _dry_run(project, second, csv)["unsubscribed"] == 2
    # A misspelt private bucket is refused, not read as "nobody unsubscribed".
    config.write_text(config.read_text() + '\n[subscriptions]\nbucket = "typo-subscriptions"\n')
    refused = _dry_run(project, second, csv, expect=2)
    assert "holds no subscriber list" in refused and "typo-subscriptions" in refused


def test_the_private_bucket_cannot_be_the_public_one(project):
    """Finding 12: the show's public bucket as [subscriptions] bucket made every record public."""
    from pipeline.config import load_config
    from pipeline.errors import InputError

    config = project.config()
    config.write_text(config.read_text() + f'\n[subscriptions]\nbucket = "{project.bucket}"\n')
    with pytest.raises(InputError) as refused:
        load_config(config)
    assert "must not be the public [storage] bucket" in str(refused.value)


def test_unsubscribes_recorded_under_the_first_scheme_still_count(service):
    """Records the service wrote before the list had its own store (named by the secret and the
    show's identity) are read, and carried over to names that last."""
    import hashlib
    import hmac

    from pipeline.config import load_config
    from pipeline.mail.compose import list_identity
    from pipeline.storage.bucket import Bucket, Item, Target

    project, _, _ = service
    issue = project.issue()
    assert project.publish(issue, "--no-audio").exit_code == 0
    identity = list_identity(load_config(project.root / "publish.toml"))
    name = hmac.new(SECRET.encode(), f"optout\0{identity}\0old@example.com".encode(), hashlib.sha256).hexdigest()[:40]
    private = Bucket(
        Target(
            f"{project.bucket}-subscriptions",
            "us-east-1",
            project.s3.endpoint,
            project.s3.access_key,
            project.s3.secret_key,
        )
    )
    private.put(Item(f"unsubscribed/{name}", "application/json", "no-store", data=b'{"unsubscribed_at": "x"}'))
    csv = project.root / "subscribers.csv"
    csv.write_text("email\nold@example.com\nstays@example.com\n")
    assert _dry_run(project, issue, csv)["unsubscribed"] == 1
    assert not any(k.startswith("subscribers/") for k in private.list_keys())  # a dry run writes nothing
    result = send(project, issue, "--subscribers", str(csv))
    assert (result["sent"], result["unsubscribed"]) == (1, 1)
    assert any(k.startswith("subscribers/") for k in private.list_keys())


def test_slow_clients_are_dropped_and_real_clicks_still_answer(service):
    """Finding 2: a head sent halfway, or a body a byte at a time, held a connection for ever;
    1,100 of them used up a file limit of 1,024 and a real one-click went unanswered."""
    project, smtp, _ = service
    links = list(publish_and_send(project, smtp, [f"r{i}@example.com" for i in range(5)])[2].values())
    port = free_port()
    config = project.root / "publish.toml"
    config.write_text(re.sub(r"127\.0\.0\.1:\d+/unsubscribe", f"127.0.0.1:{port}/unsubscribe", config.read_text()))
    links = [re.sub(r"127\.0\.0\.1:\d+/", f"127.0.0.1:{port}/", link) for link in links]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    server = start_service(port, project.root, dict(os.environ), config, files=1024)
    held: list[socket.socket] = []
    try:
        for _ in range(1100):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
            held.append(client)
        time.sleep(1)
        for client in held:
            with contextlib.suppress(OSError):
                client.send(b"POST /unsubscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow_body = socket.create_connection(("127.0.0.1", port), timeout=30)
        slow_body.sendall(b"POST /unsubscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 26\r\n\r\nL")
        deadline = time.monotonic() + 30
        watch = selectors.DefaultSelector()  # epoll: these descriptors are past select()'s 1,024
        for client in held:
            watch.register(client, selectors.EVENT_READ)
        open_ones = set(held)
        while open_ones and time.monotonic() < deadline:
            for key, _ in watch.select(1):
                client = key.fileobj
                with contextlib.suppress(OSError):
                    if client.recv(1024):
                        continue
                watch.unregister(client)
                open_ones.discard(client)
        watch.close()
        assert not open_ones, f"{len(open_ones)} of 1,100 half-sent requests still held after 30 s"
        answer = slow_body.recv(1024)  # answered (408) within its body deadline, not held
        assert answer.startswith(b"HTTP/1.1 408") or answer == b"", answer
        for link in links:
            started = time.monotonic()
            assert one_click(link)[0] == 200
            assert time.monotonic() - started < 3
        assert server.poll() is None
    finally:
        for client in held:
            client.close()
        with contextlib.suppress(NameError):
            slow_body.close()
        stop(server)


def test_a_frozen_store_answers_in_seconds_and_loses_no_unsubscribe(service):
    """Finding 3: with the store frozen (SIGSTOP) an answer took 156 s, as a bare 500. Now the
    unsubscribe is kept in a local journal, answered at once, and replayed when the store answers."""
    from tests.fault_proxy import FaultProxy

    project, smtp, _ = service
    issue, csv, links = publish_and_send(project, smtp, ["frozen@example.com", "stays@example.com"])
    link = links["frozen@example.com"]
    port = free_port()
    config = project.root / "publish.toml"
    with FaultProxy(project.s3.endpoint) as proxy:
        through = project.root / "service" / "publish.toml"  # the service reaches the store through the proxy
        through.parent.mkdir()
        text = config.read_text().replace(project.s3.endpoint, proxy.endpoint)
        through.write_text(re.sub(r"127\.0\.0\.1:\d+/unsubscribe", f"127.0.0.1:{port}/unsubscribe", text))
        server = start_service(port, project.root, dict(os.environ), through)
        try:
            link = re.sub(r"127\.0\.0\.1:\d+/", f"127.0.0.1:{port}/", link)
            proxy.arm(1, "frozen")
            started = time.monotonic()
            assert one_click(link)[0] == 200
            assert time.monotonic() - started < 15
            journal = through.parent / ".publish" / "unsubscribe-journal.jsonl"
            assert journal.exists()
            assert _dry_run(project, issue, csv)["unsubscribed"] == 0  # not in the store yet
            proxy.thaw()
            deadline = time.monotonic() + 30
            while _dry_run(project, issue, csv)["unsubscribed"] == 0:
                assert time.monotonic() < deadline, "the journal was not replayed"
                time.sleep(1)
            assert not journal.exists()
        finally:
            stop(server)


def test_the_service_restarts_the_embedded_store_when_its_owner_exits(tmp_path):
    """Finding 3: the service joined the store `publish serve` had started; when that exited,
    every one-click answered 500 while the service kept listening."""
    env, web, link = zero_config_show(tmp_path)
    serve = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    record = tmp_path / ".publish" / "s3" / "data" / "server.json"
    deadline = time.monotonic() + 60
    while not record.exists():
        assert time.monotonic() < deadline and serve.poll() is None
        time.sleep(0.1)
    assert "serving" in serve.stdout.readline()
    server = start_service(web, tmp_path, env)
    try:
        serve.send_signal(signal.SIGTERM)  # the store's owner goes, and the store with it
        serve.wait(30)
        started = time.monotonic()
        assert one_click(link)[0] == 200
        assert time.monotonic() - started < 15
        journal = tmp_path / ".publish" / "unsubscribe-journal.jsonl"
        assert journal.exists(), "the store was still there: the proof did not happen"
        deadline = time.monotonic() + 60
        while journal.exists() or journal.with_name(journal.name + ".replaying").exists():
            assert time.monotonic() < deadline, "the store was not restarted and the journal not replayed"
            time.sleep(0.5)
        listed = subprocess.run(
            [sys.executable, "-m", "pipeline", "subscribers", "unsubscribed", "--subscribers", "list.csv", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert json.loads(listed.stdout)["unsubscribed"] == ["leaves@example.com"], listed.stderr
    finally:
        stop(server)
        if serve.poll() is None:
            serve.kill()


def test_a_private_bucket_anyone_can_read_is_refused(service):
    """Finding 12: a subscriber store given a public-read policy is refused before anything is
    read or sent from it (an anonymous read of list.json must fail)."""
    from pipeline.storage.bucket import Bucket, Target

    project, smtp, _ = service
    issue, csv, _ = publish_and_send(project, smtp, ["reader@example.com"])
    Bucket(
        Target(
            f"{project.bucket}-subscriptions",
            "us-east-1",
            project.s3.endpoint,
            project.s3.access_key,
            project.s3.secret_key,
        )
    ).make_public_read()
    result = CliRunner().invoke(
        main,
        [
            "send",
            str(issue),
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.root / "build"),
            "--dry-run",
            "--subscribers",
            str(csv),
        ],
    )
    assert result.exit_code == 1 and "can be read by anyone" in result.stderr, result.output
