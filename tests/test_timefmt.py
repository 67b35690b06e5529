"""pipeline/timefmt.py: one rounding of a duration wherever a reader sees it."""

from pipeline.timefmt import clock, minutes_seconds


def test_the_length_beside_a_player_counts_seconds_as_the_player_does():
    """Issue 29, item 8: "0 min 48 s" stood beside a player saying 0:47."""
    for seconds in (47.2, 47.9, 599.99, 3601.5):
        minutes, secs = clock(seconds).split(":")[-2:]
        assert minutes_seconds(seconds).endswith(f" {int(secs):02d} s")
    assert minutes_seconds(47.9) == "0 min 47 s" and clock(47.9) == "0:47"
