"""What a long run tells the user: messages and progress on stderr, never on stdout
(stdout is kept for --json)."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Reporter:
    """Lines are written whole under one lock: the speech and upload threads report progress
    while the main thread reports each stage. A warning said once is not repeated (a run of
    many issues would otherwise repeat a show-wide one for each)."""

    quiet: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _said: set[str] = field(default_factory=set, repr=False)
    _bar_open: bool = field(default=False, repr=False)  # a terminal bar awaits its newline

    def info(self, message: str) -> None:
        if not self.quiet:
            self.write(message + "\n")

    def warn(self, message: str) -> None:
        with self._lock:
            if message in self._said:
                return
            self._said.add(message)
            self.write(f"warning: {message}\n")

    def write(self, text: str, bar: bool = False) -> None:
        with self._lock:
            if self._bar_open and not bar:
                text = "\n" + text
            self._bar_open = bar and not text.endswith("\n")
            self.stream.write(text)
            self.stream.flush()

    def progress(self, label: str, total: int) -> Progress:
        return Progress(self, label, total)


class Progress:
    """A one-line bar on a terminal; a few plain lines otherwise (CI logs, pipes)."""

    def __init__(self, reporter: Reporter, label: str, total: int):
        self.reporter, self.label, self.total = reporter, label, max(total, 0)
        self.done = 0
        self.started = time.monotonic()
        self.tty = hasattr(reporter.stream, "isatty") and reporter.stream.isatty()
        self._last_tenth = -1

    def advance(self, step: int = 1) -> None:
        with self.reporter._lock:
            self.done += step
            if self.reporter.quiet or not self.total:
                return
            fraction = min(1.0, self.done / self.total)
            if self.tty:
                filled = int(fraction * 30)
                bar = "█" * filled + "·" * (30 - filled)
                end = "\n" if self.done >= self.total else ""
                self.reporter.write(
                    f"\r{self.label:<12} {bar} {self.done}/{self.total} {time.monotonic() - self.started:5.1f}s{end}",
                    bar=True,
                )
            elif int(fraction * 10) != self._last_tenth:
                self._last_tenth = int(fraction * 10)
                self.reporter.write(f"{self.label}: {self.done}/{self.total}\n")
