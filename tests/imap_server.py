"""A real IMAP server for the tests: Debian's dovecot (dovecot-imapd), on loopback, with one
user whose Maildir the test fills. Started as this user with its state in a folder of its own."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.smtp_server import free_port

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = root
}}
"""


def dovecot_path() -> str:
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if not found:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed: .ci/run installs Debian's dovecot-imapd")
        pytest.skip("no dovecot here: apt-get install -y dovecot-imapd")
    return found


class ImapServer:
    """Its folder is made in the system's temporary folder: the mail user (nobody) must reach it,
    and pytest's own folders are the test user's alone."""

    def __init__(self, user: str, password: str):
        self.root = Path(tempfile.mkdtemp(prefix="publish-imap-"))
        self.root.chmod(0o755)
        self.user, self.password = user, password
        self.port = free_port()
        self.maildir = self.root / "mail" / user / "Maildir"

    def __enter__(self) -> ImapServer:
        binary = dovecot_path()
        for folder in ("run", "state", "mail", "mail/" + self.user + "/Maildir/new", f"mail/{self.user}/Maildir/cur"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / f"mail/{self.user}/Maildir/tmp").mkdir(exist_ok=True)
        for path in [self.root / "mail", *(self.root / "mail").rglob("*")]:
            path.chmod(0o777)  # the mail user (nobody) writes its indexes beside the messages
        (self.root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        (self.root / "dovecot.conf").write_text(CONFIG.format(root=self.root, port=self.port))
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "stderr.log").open("wb"),
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    if connection.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("dovecot did not start: " + (self.root / "stderr.log").read_text()[-500:])
            time.sleep(0.1)

    def deliver(self, raw: bytes, name: str) -> None:
        path = self.maildir / "new" / f"{name}.eml"
        path.write_bytes(raw)
        path.chmod(0o666)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)
