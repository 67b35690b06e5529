"""Faults in the middle of a publish, concurrent publishers, and secrets that must never leak."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import SHORT_ISSUE, http_get
from tests.fault_proxy import FaultProxy

SECOND = SHORT_ISSUE.replace("A Short Test", "Second Episode").replace("2024-03-01", "2024-04-01")
SECOND_NAME = "2024-04-01-second-episode.md"


def write_config(project, name: str, bucket: str, endpoint: str, **extra) -> Path:
    """A config like project.config() but for any bucket/endpoint; public URLs go straight to S3."""
    path = project.config(bucket=bucket, endpoint_url=endpoint, public_url=f"{project.s3.endpoint}/{bucket}", **extra)
    return path.rename(project.root / name)


def publish_in_process(project, issue: Path, config: Path, *args: str):
    return CliRunner().invoke(
        main, ["issue", str(issue), "--config", str(config), "--build-dir", str(project.build_dir()), "--json", *args]
    )


def publish_subprocess(project, issue: Path, config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "issue",
            str(issue),
            "--config",
            str(config),
            "--build-dir",
            str(project.build_dir()),
            "--json",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def public_state(project, bucket: str) -> list[str]:
    """The feed listeners see parses, and every enclosure it names is there at its stated size.
    Returns the episode titles."""
    status, _, body = http_get(f"{project.s3.endpoint}/{bucket}/feed.xml")
    feed = feedparser.parse(body)
    assert status == 200 and not feed.bozo, feed.get("bozo_exception")
    for entry in feed.entries:
        (enclosure,) = entry.enclosures
        status, headers, _ = http_get(enclosure.href, {"Range": "bytes=0-0"})
        assert status == 206 and headers["Content-Range"].endswith(f"/{enclosure.length}"), enclosure.href
    return [entry.title for entry in feed.entries]


FAULT_POINTS = 24


def test_faults_at_every_stage_of_a_publish_never_break_the_public_feed(project):
    """Kill -9 the publisher, or take the server away, at FAULT_POINTS requests spread over a
    whole publish of a second episode: before, during and after each upload, the catalogue
    write and the feed write. After each, listeners' feed is whole; a re-run completes."""
    first, second = project.issue(), project.issue(SECOND, SECOND_NAME)
    failures, tried = [], []
    with FaultProxy(project.s3.endpoint) as proxy:

        def setup(bucket: str) -> tuple[Path, Path]:
            direct = write_config(project, f"{bucket}-direct.toml", bucket, project.s3.endpoint)
            faulty = write_config(project, f"{bucket}-proxy.toml", bucket, proxy.endpoint)
            result = publish_in_process(project, first, direct)
            assert result.exit_code == 0, result.output
            return direct, faulty

        # A clean run through the proxy counts the requests a publish makes.
        _, faulty = setup(f"{project.bucket}-count")
        proxy.arm(0, "kill-before")
        clean = publish_subprocess(project, second, faulty)
        assert clean.wait(timeout=120) == 0, clean.stderr.read()
        total = proxy.count
        points = sorted({(1 + round(k * (total - 1) / (FAULT_POINTS - 1)), k) for k in range(FAULT_POINTS)})
        for at, k in points:
            mode = ("kill-before", "kill-after", "kill-mid-body", "kill-after", "server-down")[k % 5]
            bucket = f"{project.bucket}-f{k}"
            direct, faulty = setup(bucket)
            proxy.arm(at, mode)
            process = publish_subprocess(project, second, faulty)
            proxy.fault.victim_pid = process.pid
            _, err = process.communicate(timeout=120)
            label = f"{mode} at request {at}/{total} ({proxy.fault.log[at - 1] if at <= len(proxy.fault.log) else '?'})"
            tried.append(label)
            try:
                assert proxy.fault.fired, "the fault never fired"
                assert process.returncode in (-9, 1), (process.returncode, err)
                if mode == "server-down":
                    assert "error: storage:" in err and "Traceback" not in err, err
                assert "A Short Test" in public_state(project, bucket)
                rerun = publish_in_process(project, second, direct)
                assert rerun.exit_code == 0, rerun.output
                assert sorted(public_state(project, bucket)) == ["A Short Test", "Second Episode"]
            except AssertionError as exc:
                failures.append(f"{label}: {exc}")
    print(f"\nfault points tried: {len(tried)}, failures: {len(failures)}")
    assert len(tried) >= 20 and failures == [], "\n".join(failures)


@pytest.mark.parametrize("locking", ["conditional", "lock-object"])
def test_concurrent_publishers_both_land(project, locking):
    """Three `publish issue` processes of different issues at once against one bucket."""
    issues = [
        project.issue(
            SHORT_ISSUE.replace("A Short Test", f"Concurrent {n}").replace("2024-03-01", f"2024-05-0{n}"),
            f"2024-05-0{n}-concurrent-{n}.md",
        )
        for n in (1, 2, 3)
    ]
    config = write_config(project, "concurrent.toml", project.bucket, project.s3.endpoint, locking=locking)
    assert publish_in_process(project, project.issue(), config).exit_code == 0
    processes = [publish_subprocess(project, issue, config) for issue in issues]
    reported = {}
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        summary = json.loads(out)
        reported[summary["slug"]] = summary["episode"]
    catalog = json.loads(http_get(f"{project.s3.endpoint}/{project.bucket}/catalog.json")[2])
    numbers = sorted(e["number"] for e in catalog["episodes"])
    assert numbers == [1, 2, 3, 4]
    from tests.visible import visible_text

    for episode in catalog["episodes"]:  # the page and --json say the number the feed has
        page = http_get(f"{project.s3.endpoint}/{project.bucket}/{episode['page_key']}")[2].decode()
        assert f"Episode {episode['number']}" in visible_text(page), episode["slug"]
        if episode["slug"] in reported:
            assert reported[episode["slug"]] == episode["number"], episode["slug"]
    titles = {e["title"] for e in catalog["episodes"]}
    assert titles == {"A Short Test", "Concurrent 1", "Concurrent 2", "Concurrent 3"}
    feed = feedparser.parse(http_get(f"{project.s3.endpoint}/{project.bucket}/feed.xml")[2])
    assert {e.title for e in feed.entries} == titles
    bucket = project.bucket_client()
    assert not [key for key in bucket.list_keys() if key.endswith(".lock") or "probe" in key]


def test_secrets_never_appear_in_output_files_or_objects(project, monkeypatch):
    """Recognisable S3, SMTP and unsubscribe secrets, through successful and failing runs with
    --debug: none may show up on stdout, stderr, in build files or in the bucket."""
    from tests.smtp_server import SmtpServer

    smtp_password, unsubscribe_secret = "smtp-pw-RECOGNISABLE-7731", "unsub-secret-RECOGNISABLE-4412"
    secrets = [project.s3.secret_key, smtp_password, unsubscribe_secret]
    monkeypatch.setenv("PUBLISH_SECRET", unsubscribe_secret)
    monkeypatch.setenv("PUBLISH_SMTP_USER", "mailer")
    outputs = []
    with SmtpServer(login=("mailer", smtp_password)) as smtp:
        config = project.config(email={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "rate_per_second": 0})
        issue = project.issue()
        subscribers = project.root / "subscribers.csv"
        subscribers.write_text("email\nreader@example.com\n")
        runner = CliRunner()
        common = ["--config", str(config), "--build-dir", str(project.build_dir()), "--debug"]

        def run(*args):
            result = runner.invoke(main, list(args))
            outputs.append(result.stdout + result.stderr)
            return result

        monkeypatch.setenv("PUBLISH_SMTP_PASSWORD", smtp_password)
        assert run("issue", str(issue), *common, "--json").exit_code == 0
        assert run("send", str(issue), "--subscribers", str(subscribers), *common, "--dry-run").exit_code == 0
        assert run("send", str(issue), "--subscribers", str(subscribers), *common).exit_code == 0
        assert len(smtp.mailbox.messages) == 1
        monkeypatch.setenv("PUBLISH_SMTP_PASSWORD", smtp_password + "-wrong")
        secrets.append(smtp_password + "-wrong")
        (project.build_dir() / "a-short-test" / "send.sqlite").unlink()
        failed = run("send", str(issue), "--subscribers", str(subscribers), *common)
        assert failed.exit_code == 1 and "refused the login" in failed.stderr
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", project.s3.secret_key + "-wrong")
        secrets.append(project.s3.secret_key + "-wrong")
        denied = run("issue", str(issue), *common)
        assert denied.exit_code == 1 and "credentials" in denied.stderr
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", project.s3.secret_key)
        assert run("check", "--config", str(config), "--debug").exit_code == 0
    texts = [text.encode() for text in outputs]
    texts += [path.read_bytes() for path in project.root.rglob("*") if path.is_file() and ".cache" not in path.parts]
    bucket = project.bucket_client()
    texts += [bucket.get(key)[0] for key in bucket.list_keys()]
    texts += [raw for _, _, raw in smtp.mailbox.messages]
    for secret in secrets:
        leaks = [t[:200] for t in texts if secret.encode() in t]
        assert leaks == [], (secret, leaks)
    assert len(texts) > 15


def test_a_silent_server_times_out_instead_of_hanging():
    """Storage and SMTP against a socket that accepts and never answers."""
    import socket
    import time

    from pipeline.config import Config, EmailConfig
    from pipeline.errors import ServiceError
    from pipeline.mail.delivery import SmtpTransport, Transient
    from pipeline.storage.bucket import Bucket, Target

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        started = time.monotonic()
        bucket = Bucket(Target("podcast", "us-east-1", f"http://127.0.0.1:{port}", "a", "b"), timeout_s=0.5)
        with pytest.raises(ServiceError) as caught:
            bucket.head("feed.xml")
        assert caught.value.what == (
            f"storage: http://127.0.0.1:{port} did not answer in time while trying to read feed.xml"
        ), caught.value.what
        smtp = SmtpTransport(Config(email=EmailConfig(smtp_host="127.0.0.1", smtp_port=port)), timeout=0.5)
        with pytest.raises(Transient):
            smtp.send("news@example.com", "a@example.com", b"Subject: x\r\n\r\nx\r\n")
        assert time.monotonic() - started < 15
