"""Replays of the security review's proofs (issue 19): each must fail against this code."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.storage.embedded import free_base_port, listening_ports, port_is_free, start_embedded_store
from tests.conftest import ROOT


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=3)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.socket_path)


# What the review's attacker sent to the filer (list, read, upload, overwrite, delete), and the
# volume server's own blob API. A CORS preflight may still be answered; the requests are not.
FILER_REQUESTS = [
    ("GET", "/buckets/", None, {}),
    ("GET", "/buckets/podcast/catalog.json", None, {}),
    (
        "POST",
        "/buckets/podcast/catalog.json",
        b'--x\r\nContent-Disposition: form-data; name="file"; '
        b'filename="catalog.json"\r\n\r\n{"episodes": []}\r\n--x--\r\n',
        {"Content-Type": "multipart/form-data; boundary=x"},
    ),
    ("PUT", "/buckets/podcast/catalog.json", b"{}", {}),
    ("DELETE", "/buckets/podcast/catalog.json", None, {}),
    ("POST", "/1,01637037d6", b"a blob", {"Origin": "http://evil.example"}),
    ("GET", "/1,01637037d6", None, {}),
]


def _answer(connection, method, path, body, headers):
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Access-Control-Allow-Origin")
    except (OSError, http.client.HTTPException):
        return None, None  # gRPC ports hang up on HTTP/1: no answer at all
    finally:
        connection.close()


def test_the_embedded_store_answers_no_anonymous_filer_request_on_any_port(tmp_path):
    from pipeline.storage.bucket import Bucket, Item, Target

    port = free_base_port()
    server = start_embedded_store(tmp_path / "data", port, "publish-local", "a-secret-for-this-test")
    try:
        bucket = Bucket(
            Target(
                "podcast",
                "us-east-1",
                server.endpoint,
                server.access_key,
                server.secret_key,
                create_bucket=True,
                public_read=True,
            )
        )
        bucket.ensure_bucket()
        bucket.put(Item("catalog.json", "application/json", "no-cache", data=b'{"episodes": []}'))
        ports = listening_ports(server.process.pid)
        assert port in ports and len(ports) >= 5
        sockets = list((tmp_path / "data").glob("*.sock"))
        targets = [
            (f"port {p}", lambda p=p: http.client.HTTPConnection("127.0.0.1", p, timeout=3)) for p in ports if p != port
        ]
        targets += [(f"socket {s.name}", lambda s=s: _UnixConnection(str(s))) for s in sockets]
        for name, connect in targets:
            for method, path, body, headers in FILER_REQUESTS:
                status, _ = _answer(connect(), method, path, body, headers)
                assert status is None or not 200 <= status < 300, f"{name}: {method} {path} answered {status}"
        # The S3 port serves public reads to anyone, and writes only when signed.
        for method, _, body, headers in FILER_REQUESTS[2:5]:  # POST, PUT, DELETE
            status, _ = _answer(
                http.client.HTTPConnection("127.0.0.1", port, timeout=3), method, "/podcast/catalog.json", body, headers
            )
            assert status in (400, 403, 405), f"S3 port: anonymous {method} answered {status}"
        assert bucket.get("catalog.json")[0] == b'{"episodes": []}'
        assert oct((tmp_path / "data").stat().st_mode & 0o777) == "0o700"
    finally:
        server.stop()
    assert not list(Path("/tmp").glob(f"seaweedfs-*-{port}.sock"))
    assert not list((tmp_path / "data").glob("*.sock"))


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def _any(self):
        type(self).seen.append((self.command, self.path, dict(self.headers)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

    def log_message(self, *args):
        pass


def _clean_env(port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PUBLISH_LOCAL_S3_PORT"] = str(port)
    return env


def test_a_foreign_server_on_the_embedded_port_never_gets_a_signed_request(tmp_path):
    port = free_base_port()
    foreign = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Recorder)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    try:
        data = tmp_path / ".publish" / "s3" / "data"
        data.mkdir(parents=True)
        # A stale record of a server that is gone, whose pid now belongs to some other process.
        (data / "server.json").write_text(json.dumps({"pid": os.getpid(), "port": port}))
        (tmp_path / "publish.toml").write_text(f'[show]\ncover = "{ROOT / "pipeline" / "assets" / "cover.jpg"}"\n')
        issue = tmp_path / "2024-03-01-a-test.md"
        issue.write_text("---\ntitle: T\n---\nA review.\n")
        run = subprocess.run(
            [sys.executable, "-m", "pipeline", "issue", str(issue), "--no-audio"],
            cwd=tmp_path,
            env=_clean_env(port),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 1, run.stderr
        assert f"port {port} on 127.0.0.1 is in use by another program" in run.stderr
        signed = [r for r in _Recorder.seen if "Authorization" in r[2] or "authorization" in r[2]]
        assert signed == []
        assert not (data / "server.json").exists()
    finally:
        foreign.shutdown()
        foreign.server_close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_serve_stops_its_store_on_sigterm_and_sighup(tmp_path, sig):
    port = free_base_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "serve"],
        cwd=tmp_path,
        env=_clean_env(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    record = tmp_path / ".publish" / "s3" / "data" / "server.json"
    deadline = time.monotonic() + 60
    while not record.exists() or not serve.stdout:
        assert time.monotonic() < deadline and serve.poll() is None
        time.sleep(0.1)
    line = serve.stdout.readline()
    assert "serving" in line, line
    weed = json.loads(record.read_text())["pid"]
    serve.send_signal(sig)
    # Issue 29, item 11: stopping `serve` is what it is for: "stopped", exit 0 (it said "run
    # the same command again to finish" and exited 128+N).
    assert serve.wait(30) == 0
    rest = serve.stdout.read()
    assert "stopped" in rest and "run the same command again" not in rest, rest
    assert not Path(f"/proc/{weed}").exists() or "zombie" in Path(f"/proc/{weed}/status").read_text()
    assert all(port_is_free(p) for p in (port, port + 2, port + 4, port + 6))
    assert not record.exists()


def test_a_port_held_by_another_shows_serve_names_that_show(tmp_path):
    """Issue 29, item 11: not "another program" when it is this tool, for another show."""
    port = free_base_port()
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    serve = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "serve"],
        cwd=tmp_path / "one",
        env=_clean_env(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert serve.stdout and "serving" in serve.stdout.readline()
        issue = tmp_path / "two" / "2024-03-01-a-test.md"
        issue.write_text("---\ntitle: T\n---\nA review.\n")
        (tmp_path / "two" / "publish.toml").write_text(
            f'[show]\ncover = "{ROOT / "pipeline" / "assets" / "cover.jpg"}"\n'
        )
        run = subprocess.run(
            [sys.executable, "-m", "pipeline", "issue", str(issue), "--no-audio"],
            cwd=tmp_path / "two",
            env=_clean_env(port),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 1, run.stderr
        assert f"held by the embedded store of the show in {(tmp_path / 'one').resolve()}" in run.stderr
        assert "another program" not in run.stderr
    finally:
        serve.terminate()
        assert serve.wait(30) == 0


def test_the_threat_model_is_written_down():
    text = (ROOT / "docs" / "security.md").read_text()
    for heading in ("Who can reach the embedded store", "What is public", "What is secret"):
        assert heading in text


def _publish(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    (cwd / "publish.toml").write_text(f'[show]\ncover = "{ROOT / "pipeline" / "assets" / "cover.jpg"}"\n')
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "issue",
            *args,
            "--no-upload",
            "--no-audio",
            "--build-dir",
            str(cwd / "build"),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("target", ["../.env", "/dev/zero", "/etc/hostname"])
def test_a_linked_issue_file_that_leaves_its_folder_is_refused_and_not_read(tmp_path, target):
    (tmp_path / ".env").write_text("PUBLISH_SECRET=s3cr3t-value-never-published\nAWS_SECRET_ACCESS_KEY=abc\n")
    issues = tmp_path / "issues"
    issues.mkdir()
    link = issues / "2024-03-03-guest-review.md"
    link.symlink_to(target)
    started = time.monotonic()
    run = _publish(tmp_path, str(link))
    assert time.monotonic() - started < 10
    assert run.returncode == 2
    assert run.stderr.count("error:") == 1 and "is a link to a file outside its folder" in run.stderr
    assert not (tmp_path / "build").exists()


def test_a_link_within_the_folder_and_devices_and_pipes(tmp_path):
    issues = tmp_path / "issues"
    issues.mkdir()
    (issues / "2024-03-03-guest-review.md").write_text("---\ntitle: Guest\n---\nA fine review.\n")
    (issues / "2024-03-04-latest.md").symlink_to("2024-03-03-guest-review.md")
    assert _publish(tmp_path, str(issues / "2024-03-04-latest.md")).returncode == 0
    os.mkfifo(issues / "2024-03-05-pipe.md")
    run = _publish(tmp_path, str(issues / "2024-03-05-pipe.md"), timeout=20)
    assert run.returncode == 2 and "not a regular file" in run.stderr


SLOW_INPUTS = {  # the review's small inputs that took long, each must finish or be refused in 5 s
    "yaml aliases": (
        '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
        + "title: T\n---\nBody.\n"
    ),
    "nested divs": "---\ntitle: T\n---\n" + "<div>" * 100_000 + "text" + "</div>" * 100_000 + "\n",
    "self-closed divs": "---\ntitle: T\n---\n<p>x</p>\n" + "<div/>" * 10_000 + "\n",  # HTML opens each
    "divs closed by other names": "---\ntitle: T\n---\n<p>x</p>\n" + "<div></x>" * 10_000 + "\n",
    "Dr. A repeated": "---\ntitle: T\n---\n" + "Dr. A " * 10_000 + "\n",
    "a heading of brackets": "---\ntitle: T\n---\n## " + "[" * 100_000 + "\n\nText.\n",
    "a 5000-digit episode": "---\ntitle: T\nepisode: " + "9" * 5000 + "\n---\nText.\n",
    "a 5000-digit Hugo episode": '+++\ntitle = "T"\nepisode = ' + "9" * 5000 + "\n+++\nText.\n",
    "YAML nested 5000 deep": "---\ntitle: T\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nText.\n",
    "TOML nested 5000 deep": '+++\ntitle = "T"\nx = ' + "[" * 5000 + "]" * 5000 + "\n+++\nText.\n",
    "a heading of 5000 digits": "---\ntitle: T\n---\n## " + "9" * 5000 + "\n\nText.\n",
    "Pelican continuation lines": "Title: T\nDate: 2024-03-01\nSummary: a\n" + "  more words\n" * 140_000 + "\nText.\n",
    "a run of spaces": "---\ntitle: T\n---\nA" + " " * 200_000 + "b.\n",
    "names that parse every way": "---\ntitle: T\nnames: [ko, ja]\n---\n"
    + "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaax Aeaeaeaeaeaeaeaeaeaeaeaeaex. " * 2000
    + "\n",
}


def _publish_cpu(folder: Path, issue: Path, build: Path) -> tuple[float, subprocess.CompletedProcess]:
    """The CPU seconds of one `publish issue --dry-run` of `issue` (the child's own time, not
    the wall clock: a busy machine stretches the wall clock but not the work a quadratic input
    would multiply)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "issue",
                str(issue),
                "--no-upload",
                "--dry-run",
                "--build-dir",
                str(build),
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{issue.name}: still running after 30 s")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, run


@pytest.fixture(scope="module")
def small_input_show(tmp_path_factory):
    """A show folder, its build folder's voice cache warmed, and the CPU time a plain issue costs:
    the interpreter's start, the imports, the voice's checks and the email's build, which every
    input pays and none of them multiplies."""
    folder = tmp_path_factory.mktemp("small")
    (folder / "publish.toml").write_text(f'[show]\ncover = "{ROOT / "pipeline" / "assets" / "cover.jpg"}"\n')
    plain = folder / "2024-03-01-plain.md"
    plain.write_text("---\ntitle: T\n---\nA plain review of a few words.\n")
    _publish_cpu(folder, plain, folder / "build")  # patches the voice into the cache once
    baseline, run = _publish_cpu(folder, plain, folder / "build")
    assert run.returncode == 0, run.stderr
    return folder, baseline


@pytest.mark.parametrize("name", list(SLOW_INPUTS))
def test_small_inputs_finish_or_are_refused_in_seconds(small_input_show, name):
    folder, baseline = small_input_show
    issue = folder / "2024-03-01-small.md"
    issue.write_text(SLOW_INPUTS[name])
    cpu, run = _publish_cpu(folder, issue, folder / "build")
    assert cpu - baseline < 5, f"{name}: {cpu:.1f} s of CPU, {baseline:.1f} s for a plain issue"
    assert run.returncode in (0, 2), run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr


def _poison(project, change) -> subprocess.CompletedProcess | object:
    """Publish one issue, then rewrite its catalog.json as an attacker with write access would."""
    from click.testing import CliRunner

    from pipeline.cli import main
    from pipeline.storage.bucket import Item

    assert project.publish(project.issue()).exit_code == 0
    bucket = project.bucket_client()
    catalog = json.loads(bucket.get("catalog.json")[0])
    change(catalog["episodes"][0])
    bucket.put(Item("catalog.json", "application/json", "no-cache", data=json.dumps(catalog).encode()))
    return CliRunner().invoke(main, ["feed", "--config", str(project.root / "publish.toml")])


def test_markup_from_a_poisoned_catalogue_never_reaches_the_feed(project):
    from lxml import etree

    def change(episode):
        episode["content_html"] = (
            '<p>ok</p><script>steal()</script><img src=x onerror="alert(1)">'
            '<td style="position:fixed;background:url(https://evil.example/p.gif)">x</td>'
        )

    result = _poison(project, change)
    assert result.exit_code == 0, result.output
    feed = etree.fromstring(project.bucket_client().get("feed.xml")[0])
    content = feed.find(".//{http://purl.org/rss/1.0/modules/content/}encoded").text
    assert "<p>ok</p>" in content
    for bad in ("<script", "onerror", "position:fixed", "url("):
        assert bad not in content


@pytest.mark.parametrize(
    "key", ["https://evil.example/x.mp3", "episodes/../../elsewhere/x.mp3", "episodes/another-episode/x.mp3"]
)
def test_a_poisoned_catalogue_cannot_point_the_feed_elsewhere(project, key):
    def change(episode):
        episode["audio"]["key"] = key

    result = _poison(project, change)
    assert result.exit_code == 2 and "outside its folder" in result.stderr
    assert key.split("/")[-1] not in project.bucket_client().get("feed.xml")[0].decode().replace("a-short-test", "")


def test_summaries_are_inert_in_every_feed_field(project):
    from lxml import etree

    issue = project.issue(
        '---\ntitle: "T"\ndate: 2024-03-01\nsummary: "<img src=x onerror=alert(1)> hi"\n---\nBody text.\n'
    )
    assert project.publish(issue, "--no-audio").exit_code == 0
    assert project.publish(issue).exit_code == 0
    feed = etree.fromstring(project.bucket_client().get("feed.xml")[0])
    item = feed.find(".//item")
    for name in ("description", "{http://www.itunes.com/dtds/podcast-1.0.dtd}summary"):
        text = item.findtext(name)
        assert "<img" not in text and "&lt;img" in text, name  # apps decode once and render: still text


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds one empty row: what an image bomb looks like to a reader."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "ref,expected",
    [
        ("../../private/x.png", "outside the site's folder"),
        ("/../../private/x.png", "outside the site's folder"),
        ("linked.png", "outside"),
        ("bomb.png", "decompression bomb"),
        ("huge.png", "13000×13000 pixels"),
    ],
)
def test_images_stay_in_the_site_and_are_bounded(tmp_path, ref, expected):
    """Security 2, finding 7: images from outside the site (through '..' or a link) were
    published, and a 30000×30000 PNG was an internal error."""
    private, show = tmp_path / "private", tmp_path / "show"
    (show / "issues").mkdir(parents=True)
    private.mkdir()
    (private / "x.png").write_bytes(_png_header(10, 10))
    (show / "issues" / "linked.png").symlink_to(private / "x.png")
    (show / "issues" / "bomb.png").write_bytes(_png_header(30000, 30000))
    (show / "issues" / "huge.png").write_bytes(_png_header(13000, 13000))
    (show / "issues" / "2024-03-01-pictures.md").write_text(f"---\ntitle: Pictures\n---\nText.\n\n![x]({ref})\n")
    run = _publish(show, "issues/2024-03-01-pictures.md")
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("error:") == 1 and expected in run.stderr, run.stderr
    assert "internal error" not in run.stderr and not (show / "build").exists()


@pytest.mark.parametrize("linked", ["audio", "issues"])
def test_init_writes_nothing_through_a_linked_folder(tmp_path, linked):
    """Security 2, finding 11: with show/audio or show/issues a link elsewhere, `publish init`
    wrote the cover, stings, lexicon or welcome issue outside the show."""
    elsewhere, show = tmp_path / "elsewhere", tmp_path / "show"
    elsewhere.mkdir()
    show.mkdir()
    (show / linked).symlink_to(elsewhere)
    run = subprocess.run(
        [sys.executable, "-m", "pipeline", "init", str(show)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and "is a link" in run.stderr, run.stderr
    assert list(elsewhere.iterdir()) == [] and not (show / "publish.toml").exists()


def test_finding_14_tokens_addresses_and_many_files():
    """Security 2, finding 14: v1 tokens (bound to no list) stop verifying on a set day; an
    address is normalised by our own rule (NFC, case, the Unicode form of its domain), so a
    change in email-validator's output cannot rename records; many files dedupe in linear time."""
    import datetime as dt

    from pipeline.mail.unsubscribe import V1_ACCEPTED_UNTIL, make_token, normalize_address, verify_any

    secret = "s" * 20
    v1 = make_token("a@example.com", secret)
    assert verify_any("a@example.com", v1, [secret], ["l.example.com"], today=V1_ACCEPTED_UNTIL - dt.timedelta(1))
    assert not verify_any("a@example.com", v1, [secret], ["l.example.com"], today=V1_ACCEPTED_UNTIL)
    v2 = make_token("a@example.com", secret, "l.example.com")
    assert verify_any("a@example.com", v2, ["new" * 7, secret], ["list-uuid", "l.example.com"])
    assert not verify_any("a@example.com", v2, ["new" * 7], ["l.example.com"])
    assert normalize_address(" Émilie@XN--BCHER-KVA.Example ") == normalize_address("e\u0301milie@bücher.example")


def test_twenty_thousand_files_on_the_command_line_dedupe_in_linear_time(tmp_path):
    from pipeline.batch import issue_files

    paths = []
    for n in range(20_000):
        paths.append(tmp_path / f"2024-01-01-issue-{n}.md")
    for path in paths:
        path.touch()
    started = time.process_time()
    assert len(issue_files(paths + paths[:100])) == 20_000
    assert time.process_time() - started < 5  # 23 s when each path was checked against a list
