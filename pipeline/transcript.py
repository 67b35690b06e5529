"""The transcript as WebVTT: one cue per sentence as written, timed from the real audio.
Written by the audio stage, read back by the web page."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

_CUE_TIME = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?) --> (\d+):(\d\d):(\d\d(?:\.\d+)?)")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _timestamp(seconds: float) -> str:
    hours, rest = divmod(max(0.0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def webvtt(cues: list[Cue]) -> str:
    lines = ["WEBVTT", ""]
    for number, cue in enumerate(cues, 1):
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines += [str(number), f"{_timestamp(cue.start)} --> {_timestamp(cue.end)}", text, ""]
    return "\n".join(lines)


def read_cues(vtt: Path) -> tuple[Cue, ...]:
    """The cues of a WebVTT file `webvtt` wrote."""
    cues: list[Cue] = []
    lines = vtt.read_text("utf-8").split("\n")
    for index, line in enumerate(lines):
        match = _CUE_TIME.match(line)
        if match and index + 1 < len(lines):
            h1, m1, s1, h2, m2, s2 = match.groups()
            start = int(h1) * 3600 + int(m1) * 60 + float(s1)
            end = int(h2) * 3600 + int(m2) * 60 + float(s2)
            cues.append(Cue(round(start, 3), round(end, 3), html.unescape(lines[index + 1])))
    return tuple(cues)
