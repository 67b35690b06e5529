"""An HTTP proxy in front of the test S3 that counts requests and, at a chosen one, kills the
client (SIGKILL) or plays dead, to inject faults at exact points of a publish."""

from __future__ import annotations

import http.client
import os
import signal
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Where in request number `at` the fault strikes:
#   kill-before: the request never reaches the server; kill-after: the server applied it, the
#   client never hears; kill-mid-body: half an upload sent; server-down: from `at` on, every
#   connection is dropped (the server died); frozen: from `at` on, requests hang until `thaw()`
#   (a server stopped with SIGSTOP), then are dropped.
MODES = ("kill-before", "kill-after", "kill-mid-body", "server-down", "frozen")


@dataclass
class Fault:
    at: int = 0  # 1-based request number; 0 = never
    mode: str = "kill-before"
    victim_pid: int | None = None
    log: list[str] = field(default_factory=list)
    fired: bool = False


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream)
        self.fault = Fault()
        self.count = 0
        self.lock = threading.Lock()
        self.thawed = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                with proxy.lock:
                    proxy.count += 1
                    number = proxy.count
                fault = proxy.fault
                fault.log.append(f"{number} {self.command} {self.path.split('?')[0]}")
                strike = fault.at == number or (fault.mode in ("server-down", "frozen") and 0 < fault.at <= number)
                if strike and fault.mode == "frozen":
                    proxy.thawed.wait(120)
                    return self.drop()
                length = int(self.headers.get("Content-Length") or 0)
                if strike and fault.mode == "kill-mid-body" and length > 1:
                    self.rfile.read(length // 2)
                    return self.kill()
                body = self.rfile.read(length) if length else b""
                if strike and fault.mode in ("kill-before", "server-down"):
                    return self.kill() if fault.mode == "kill-before" else self.drop()
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                # Host stays as the client sent it: it is part of the SigV4 signature.
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                upstream.close()
                if strike and fault.mode in ("kill-after", "kill-mid-body"):
                    return self.kill()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                # A HEAD answer has no body but states the object's length.
                length = answer.getheader("Content-Length") if self.command == "HEAD" else len(payload)
                self.send_header("Content-Length", str(length or 0))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def kill(self):
                proxy.fault.fired = True
                if proxy.fault.victim_pid:
                    os.kill(proxy.fault.victim_pid, signal.SIGKILL)
                self.drop()

            def drop(self):
                proxy.fault.fired = True
                self.close_connection = True
                self.connection.shutdown(2)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = forward

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # broken pipes after a kill are the point

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def arm(self, at: int, mode: str, victim_pid: int | None = None) -> None:
        self.thawed.clear()
        self.fault = Fault(at, mode, victim_pid)
        self.count = 0

    def thaw(self) -> None:
        """Back to passing every request through; requests held while frozen are dropped."""
        self.fault = Fault()
        self.thawed.set()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thawed.set()
        self.server.shutdown()
        self.server.server_close()
