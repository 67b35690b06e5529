"""Times as publish writes them, one home for each form: the current time in UTC, a date in
words, a duration as a reader, a listener's app or a progress line shows it."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_stamp() -> str:
    """Now, as the catalogue, the list and the send log record it: '2026-12-01T23:26:22+00:00'."""
    return utc_now().isoformat(timespec="seconds")


def long_date(day: dt.date) -> str:
    """'January 28, 2022': the date an email, a page and the narration give."""
    return f"{day:%B} {day.day}, {day.year}"


def clock(seconds: float) -> str:
    """'4:05', or '1:02:03' past an hour: a chapter's start on the page."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def cue_stamp(seconds: float) -> str:
    """'00:04:05.250': a WebVTT cue time."""
    hours, rest = divmod(max(0.0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def elapsed(seconds: float) -> str:
    """'4m05s': a progress line's elapsed and remaining time."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def listen_minutes(seconds: float) -> int:
    """Whole minutes to listen, at least 1: '12 min' on the email and the home page."""
    return max(1, round(seconds / 60))


def minutes_seconds(seconds: float) -> str:
    """'12 min 05 s': the episode's length beside the player, in whole seconds as the player
    counts them (47.9 s is 0:47 there, so '0 min 47 s' here, not 48)."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s"
