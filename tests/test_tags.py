"""pipeline/audio/tags.py: the episode's ID3 tags, read back by mutagen and by ffprobe."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date

from mutagen.id3 import ID3

from pipeline.audio.mastering import ffmpeg
from pipeline.audio.tags import write_tags
from pipeline.config import Config, ShowConfig
from pipeline.source.document import Issue
from tests.conftest import ROOT

TITLES = ("A long first chapter title, longer than the others", "Two", "The third, of middling length", "4")


def test_chapters_are_stored_in_time_order(tmp_path):
    """Issue 29, item 6: mutagen stores frames by size, so the chapters came out as chp0, toc,
    chp2, chp1, and ffmpeg (and apps that read them in stored order) listed them so."""
    mp3 = tmp_path / "episode.mp3"
    shutil.copy(ROOT / "pipeline" / "assets" / "intro.mp3", mp3)
    issue = Issue(tmp_path / "t.md", "T", date(2024, 3, 1), "t", "S", None, None, None, (), "", (), ())
    config = Config(show=replace(ShowConfig(), cover=ROOT / "pipeline" / "assets" / "cover.jpg"))
    write_tags(mp3, issue, config, TITLES, [0.0, 1.0, 2.0, 3.0], 4.0)
    tags = ID3(mp3)
    stored = [key for key in tags.keys() if key.startswith(("CHAP", "CTOC"))]
    assert stored == ["CTOC:toc", "CHAP:chp0", "CHAP:chp1", "CHAP:chp2", "CHAP:chp3"]
    assert str(tags["TIT2"]) == "T" and tags["APIC:Cover"].data  # the other frames intact
    # ffmpeg (the one publish masters with) as an independent reader: its metadata dump lists
    # the chapters in the order the file stores them.
    dump = subprocess.run(
        [ffmpeg(), "-v", "error", "-i", str(mp3), "-f", "ffmetadata", "-"], capture_output=True, check=True, text=True
    ).stdout
    chapters = dump.split("[CHAPTER]")[1:]
    assert [re.search(r"^title=(.*)$", c, re.M).group(1) for c in chapters] == list(TITLES)
    starts = [int(re.search(r"^START=(\d+)$", c, re.M).group(1)) for c in chapters]
    # ffmpeg takes the MP3's start delay (25 ms) off each start, the first held at 0.
    assert starts[0] == 0 and [b - a for a, b in zip(starts[1:], starts[2:])] == [1000, 1000]
