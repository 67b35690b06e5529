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
