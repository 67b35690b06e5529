"""Waiting and trying again, the one way: every wait is bounded (by a deadline or a number of
tries), sleeps between tries, and ends in the caller's own error naming what failed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    check: Callable[[], T | None], timeout_s: float, interval: Callable[[], float], give_up: Callable[[], BaseException]
) -> T:
    """`check()` until it returns something (not None), sleeping `interval()` seconds between
    calls; past `timeout_s` raises `give_up()`. `check` may raise to stop at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise give_up()
        time.sleep(interval())


def retry(
    call: Callable[[], T],
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    delays: Iterable[float],
    give_up: Callable[[BaseException, int], BaseException],
) -> T:
    """`call()`, and again after each of `delays` while it raises `retry_on`; when the delays
    are spent, raises `give_up(last error, tries)` in its place."""
    tries = 0
    for delay in (*delays, None):
        try:
            return call()
        except retry_on as exc:
            tries += 1
            if delay is None:
                raise give_up(exc, tries) from None
            time.sleep(delay)
    raise AssertionError("unreachable")  # the last pass returns or raises
