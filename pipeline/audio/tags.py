"""ID3v2 tags for the episode MP3 (mutagen): title, artist, album, date, genre, cover art,
and chapter frames (CHAP + CTOC) that podcast apps show as chapters."""

from __future__ import annotations

from pathlib import Path

from mutagen.id3 import APIC, CHAP, CTOC, ID3, TALB, TCON, TDRC, TIT2, TPE1, CTOCFlags

from pipeline.config import Config
from pipeline.source.document import Issue


def write_tags(
    mp3: Path, issue: Issue, config: Config, titles: tuple[str, ...], starts: list[float], duration_s: float
) -> None:
    tags = ID3()
    tags.add(TIT2(encoding=3, text=issue.title))
    tags.add(TPE1(encoding=3, text=issue.byline(config.show.author)))
    tags.add(TALB(encoding=3, text=config.show.title))
    tags.add(TDRC(encoding=3, text=issue.date.isoformat()))
    tags.add(TCON(encoding=3, text="Podcast"))
    cover = config.show.cover
    mime = "image/png" if cover.suffix.lower() == ".png" else "image/jpeg"
    tags.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=cover.read_bytes()))
    ends = [*starts[1:], duration_s]
    ids = [f"chp{number}" for number in range(len(titles))]
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text="Chapters")],
        )
    )
    for element_id, title, start, end in zip(ids, titles, starts, ends):
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=int(start * 1000),
                end_time=int(end * 1000),
                sub_frames=[TIT2(encoding=3, text=title)],
            )
        )
    tags.save(mp3, v2_version=3)
    chapters_in_time_order(mp3)


def _chapter_start(raw: bytes) -> int:
    """A CHAP frame's start time in ms: after the 10-byte frame header, its element id (ended
    by NUL), then four bytes."""
    end = raw.index(b"\0", 10) + 1
    return int.from_bytes(raw[end : end + 4], "big")


def chapters_in_time_order(mp3: Path) -> None:
    """mutagen stores frames by size, so chapters came out as chp0, toc, chp2, chp1, and ffmpeg
    and some apps list chapters in stored order. Rewrite the tag with the table of contents
    first and the chapters by start time, in the places they held: same frames, same size."""
    with mp3.open("r+b") as file:
        head = file.read(10)
        if head[:3] != b"ID3" or head[3] != 3 or head[5] != 0:  # v2.3, no unsynchronisation
            return
        size = sum(b << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        body = file.read(size)
        frames, at = [], 0
        while at + 10 <= len(body) and body[at : at + 4].strip(b"\0"):
            end = at + 10 + int.from_bytes(body[at + 4 : at + 8], "big")
            frames.append(body[at:end])
            at = end
        slots = [i for i, raw in enumerate(frames) if raw[:4] in (b"CTOC", b"CHAP")]
        wanted = sorted(
            (frames[i] for i in slots), key=lambda raw: (raw[:4] != b"CTOC", raw[:4] == b"CHAP" and _chapter_start(raw))
        )
        for slot, raw in zip(slots, wanted):
            frames[slot] = raw
        file.seek(10)
        file.write(b"".join(frames) + body[at:])
