"""Replays of the security review's proofs (issue 19): each must fail against this code."""
from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.seaweed import free_base_port, listening_ports, port_is_free, start_local_s3
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
    ("POST", "/buckets/podcast/catalog.json", b'--x\r\nContent-Disposition: form-data; name="file"; '
     b'filename="catalog.json"\r\n\r\n{"episodes": []}\r\n--x--\r\n',
     {"Content-Type": "multipart/form-data; boundary=x"}),
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
        return None, None                  # gRPC ports hang up on HTTP/1: no answer at all
    finally:
        connection.close()


def test_the_embedded_store_answers_no_anonymous_filer_request_on_any_port(tmp_path):
    from pipeline.storage import Bucket, Item, Target
    port = free_base_port()
    server = start_local_s3(tmp_path / "data", port, "publish-local", "a-secret-for-this-test")
    try:
        bucket = Bucket(Target("podcast", "us-east-1", server.endpoint, server.access_key, server.secret_key,
                               create_bucket=True, public_read=True))
        bucket.ensure_bucket()
        bucket.put(Item("catalog.json", "application/json", "no-cache", data=b'{"episodes": []}'))
        ports = listening_ports(server.process.pid)
        assert port in ports and len(ports) >= 5
        sockets = list((tmp_path / "data").glob("*.sock"))
        targets = [(f"port {p}", lambda p=p: http.client.HTTPConnection("127.0.0.1", p, timeout=3))
                   for p in ports if p != port]
        targets += [(f"socket {s.name}", lambda s=s: _UnixConnection(str(s))) for s in sockets]
        for name, connect in targets:
            for method, path, body, headers in FILER_REQUESTS:
                status, _ = _answer(connect(), method, path, body, headers)
                assert status is None or not 200 <= status < 300, f"{name}: {method} {path} answered {status}"
        # The S3 port serves public reads to anyone, and writes only when signed.
        for method, _, body, headers in FILER_REQUESTS[2:5]:   # POST, PUT, DELETE
            status, _ = _answer(http.client.HTTPConnection("127.0.0.1", port, timeout=3), method,
                                "/podcast/catalog.json", body, headers)
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
        (tmp_path / "publish.toml").write_text(f'[show]\ncover = "{ROOT / "audio" / "cover.jpg"}"\n')
        issue = tmp_path / "2024-03-01-a-test.md"
        issue.write_text("---\ntitle: T\n---\nA review.\n")
        run = subprocess.run([sys.executable, "-m", "pipeline", "issue", str(issue), "--no-audio"],
                             cwd=tmp_path, env=_clean_env(port), capture_output=True, text=True, timeout=60)
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
    serve = subprocess.Popen([sys.executable, "-m", "pipeline", "serve"], cwd=tmp_path, env=_clean_env(port),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    record = tmp_path / ".publish" / "s3" / "data" / "server.json"
    deadline = time.monotonic() + 60
    while not record.exists() or not serve.stdout:
        assert time.monotonic() < deadline and serve.poll() is None
        time.sleep(0.1)
    line = serve.stdout.readline()
    assert "serving" in line, line
    weed = json.loads(record.read_text())["pid"]
    serve.send_signal(sig)
    assert serve.wait(30) == 128 + sig
    assert not Path(f"/proc/{weed}").exists() or "zombie" in Path(f"/proc/{weed}/status").read_text()
    assert all(port_is_free(p) for p in (port, port + 2, port + 4, port + 6))
    assert not record.exists()


def test_readme_has_the_threat_model():
    text = (ROOT / "docs" / "security.md").read_text()
    for heading in ("Who can reach the embedded store", "What is public", "What is secret"):
        assert heading in text
