"""The transcript: as WebVTT, one cue per sentence as written, timed from the real audio; and
as Podcasting 2.0 JSON, one segment per word. Written by the audio stage, read back by the
web page."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.timefmt import cue_stamp

_CUE_TIME = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?) --> (\d+):(\d\d):(\d\d(?:\.\d+)?)")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def webvtt(cues: list[Cue]) -> str:
    lines = ["WEBVTT", ""]
    for number, cue in enumerate(cues, 1):
        text = html.escape(cue.text, quote=False)
        lines += [str(number), f"{cue_stamp(cue.start)} --> {cue_stamp(cue.end)}", text, ""]
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


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


def time_words(cue: Cue, spoken: list[tuple[float, float]] | None) -> list[Word]:
    """The cue's written words, timed from where the voice said its words (seconds from the
    cue's start). The voice may say more words than are written ("12" is "twelve", a code
    is spelled), so a written word takes the share of the speech its share of the letters
    is, measured over the spoken words only and never across a pause between them."""
    written = cue.text.split()
    if not written:
        return []
    spans = [(a, b) for a, b in spoken or () if b > a] or [(0.0, cue.end - cue.start)]
    if len(spans) == len(written):
        return [
            Word(round(cue.start + a, 3), round(cue.start + b, 3), word)
            for (a, b), word in zip(spans, written, strict=True)
        ]
    speech = sum(b - a for a, b in spans)
    letters = sum(len(word) for word in written)

    def at(fraction: float) -> float:
        left = fraction * speech
        for a, b in spans:
            if left <= b - a:
                return a + left
            left -= b - a
        return spans[-1][1]

    words, done = [], 0
    for word in written:
        start, done = at(done / letters), done + len(word)
        words.append(Word(round(cue.start + start, 3), round(cue.start + at(done / letters), 3), word))
    return words


def transcript_json(words: list[Word]) -> str:
    """Podcasting 2.0 JSON transcript: a segment per word."""
    segments = [{"startTime": w.start, "endTime": w.end, "body": w.text} for w in words]
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, separators=(",", ":")) + "\n"
