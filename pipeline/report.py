"""What a long run tells the user: messages and progress on stderr, never on stdout
(stdout is kept for --json)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Reporter:
    quiet: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.stream, flush=True)

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
        self.done += step
        if self.reporter.quiet or not self.total:
            return
        fraction = min(1.0, self.done / self.total)
        if self.tty:
            filled = int(fraction * 30)
            bar = "█" * filled + "·" * (30 - filled)
            end = "\n" if self.done >= self.total else ""
            print(f"\r{self.label:<12} {bar} {self.done}/{self.total} {time.monotonic() - self.started:5.1f}s",
                  end=end, file=self.reporter.stream, flush=True)
        elif int(fraction * 10) != self._last_tenth:
            self._last_tenth = int(fraction * 10)
            print(f"{self.label}: {self.done}/{self.total}", file=self.reporter.stream, flush=True)
