"""The unsubscribe journal: what the service accepted while the private store did not answer,
kept on disk and replayed into the store, so no unsubscribe is lost."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path

from pipeline.mail.liststore import ListStore


class Journal:
    """Unsubscribes accepted while the store was down: one JSON line each, fsync'd before the
    answer, replayed into the store in order. A replay first renames the journal aside, so an
    unsubscribe written meanwhile goes to a new journal and is never dropped with the old one."""

    def __init__(self, path: Path):
        self.path, self.replaying = path, path.with_name(path.name + ".replaying")
        self._lock = threading.Lock()

    def append(self, address: str, key: str = "") -> None:
        """An unsubscribe of the address, or of the record named `key` (a link without one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"unsubscribe": address, "at": int(time.time()), **({"key": key} if key else {})}
        line = json.dumps(entry) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    @staticmethod
    def _read(path: Path) -> list[tuple[str, str]]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
                entry = json.loads(line)
                found.append((str(entry["unsubscribe"]), str(entry.get("key", ""))))
        return found

    def pending(self) -> list[tuple[str, str]]:
        return self._read(self.replaying) + self._read(self.path)

    def replay(self, store: ListStore) -> int:
        """Write every journalled unsubscribe to the store; a failure leaves them for next time."""
        with self._lock:
            if not self.replaying.exists():
                if not self.path.exists():
                    return 0
                os.replace(self.path, self.replaying)
            pending = self._read(self.replaying)
        for address, key in pending:
            store.add(address, key=key)
        self.replaying.unlink(missing_ok=True)
        return len(pending)
