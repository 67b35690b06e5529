"""The episode audio, decoded and measured. Uses the short issue (and the shared speech
cache); one test narrates the whole example."""

import json
import re

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode

from pipeline.audio.lexicon import load_lexicon
from pipeline.audio.narration import build_narration
from pipeline.config import load_config
from pipeline.source.parse import parse_issue
from tests.audio_measure import decode, integrated_lufs, silent_stretches, true_peak_dbtp
from tests.conftest import SHORT_ISSUE, Project


def _build(project):
    """Publish the short issue locally; return (summary, build dir, issue path)."""
    issue = project.issue()
    result = project.publish(issue, "--no-upload")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), project.build_dir() / "a-short-test", issue


@pytest.fixture(scope="module")
def built(local_project):
    """One build for the tests that only read it (it was one per test: seven publishes)."""
    return _build(local_project)


@pytest.fixture
def rebuilt(tmp_path, speech_cache):
    """A build of its own, for a test that edits the issue or the config and builds again:
    (summary, build dir, issue path, the project)."""
    project = Project(tmp_path, None, "local", speech_cache)
    return (*_build(project), project)


def vtt_cues(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp):
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    assert text.startswith("WEBVTT\n")
    cues = []
    for block in text.strip().split("\n\n")[1:]:
        lines = block.split("\n")
        start, end = re.fullmatch(r"(\S+) --> (\S+)", lines[1]).groups()
        cues.append((seconds(start), seconds(end), " ".join(lines[2:])))
    return cues


def test_mp3_is_mastered_podcast_audio(built):
    summary, out, _ = built
    mp3 = out / "a-short-test.mp3"
    info = MP3(mp3).info
    assert (info.sample_rate, info.channels, info.bitrate) == (44100, 1, 64000)
    assert info.bitrate_mode == BitrateMode.CBR
    samples = decode(mp3)
    duration = len(samples) / 44100
    assert abs(duration - summary["audio"]["duration_s"]) / duration < 0.02
    assert abs(integrated_lufs(samples) - -16) <= 1.0
    assert true_peak_dbtp(samples) <= -1.0
    # no silence longer than the planned pauses (section pause 1.5 s)
    assert max(silent_stretches(samples)) < 1.8


def test_duration_is_chunks_plus_pauses(built, local_project):
    summary, out, issue = built
    config = load_config(local_project.root / "publish.toml")
    narration = build_narration(parse_issue(issue), config.show, load_lexicon(config.voice.lexicon))
    cues = vtt_cues((out / "transcript.vtt").read_text(encoding="utf-8"))
    assert len(cues) == len(narration.chunks)
    speech = sum(end - start for start, end, _ in cues)
    pauses = sum(c.pause_after for c in narration.chunks)
    stings = MP3(config.voice.intro).info.length + MP3(config.voice.outro).info.length + 0.6 + 0.8
    assert abs(summary["audio"]["duration_s"] - (speech + pauses + stings)) / summary["audio"]["duration_s"] < 0.02


def test_every_word_is_timed_where_it_is_heard(built):
    """transcript.json: a segment per written word, inside its sentence's cue, and the voice
    sounding through each one (the pauses between sentences hold no word)."""
    _, out, _ = built
    cues = vtt_cues((out / "transcript.vtt").read_text(encoding="utf-8"))
    data = json.loads((out / "transcript.json").read_text(encoding="utf-8"))
    segments = data["segments"]
    assert data["version"] == "1.0.0"
    assert [s["body"] for s in segments] == [w for _, _, text in cues for w in text.split()]
    bounds = [(start, end) for start, end, text in cues for _ in text.split()]
    for segment, (start, end) in zip(segments, bounds, strict=True):
        assert start - 0.01 <= segment["startTime"] < segment["endTime"] <= end + 0.01
    starts = [s["startTime"] for s in segments]
    assert starts == sorted(starts)
    samples = decode(out / "a-short-test.mp3")

    def rms(a, b):
        part = samples[int(a * 44100) : int(b * 44100)]
        return float((part**2).mean() ** 0.5) if len(part) else 0.0

    loud = [rms(s["startTime"], s["endTime"]) for s in segments]
    assert sum(level > 0.02 for level in loud) >= 0.95 * len(loud)
    gaps = [(a[1] + 0.05, b[0] - 0.05) for a, b in zip(cues, cues[1:]) if b[0] - a[1] > 0.5]
    assert gaps and all(rms(a, b) < 0.2 * min(loud) + 0.01 for a, b in gaps)


def test_transcript_and_chapters_follow_the_audio(built):
    summary, out, _ = built
    cues = vtt_cues((out / "transcript.vtt").read_text(encoding="utf-8"))
    starts = [c[0] for c in cues]
    assert starts == sorted(starts) and all(s < e for s, e, _ in cues)
    assert cues[0][2] == "Screen Reviews." and "Nam Ohn-Jo meets Lee Cheong-san at Hyosan High." in [c[2] for c in cues]
    assert summary["audio"]["duration_s"] - cues[-1][1] < 5  # outro sting after the last words
    chapters = json.loads((out / "chapters.json").read_text())
    assert chapters["version"] == "1.2.0"
    assert [c["title"] for c in chapters["chapters"]] == ["A Short Test", "Second part"]
    second = next(c for c in cues if c[2] == "Second part")
    assert abs(chapters["chapters"][1]["startTime"] - second[0]) < 0.01


def test_id3_tags_and_chapters_read_back(built):
    summary, out, _ = built
    tags = ID3(out / "a-short-test.mp3")
    assert str(tags["TIT2"]) == "A Short Test" and str(tags["TPE1"]) == "Test Writer"
    assert str(tags["TALB"]) == "Screen Reviews" and str(tags["TCON"]) == "Podcast"
    assert str(tags["TDRC"]) == "2024-03-01"
    assert tags["APIC:Cover"].mime == "image/jpeg" and len(tags["APIC:Cover"].data) > 10_000
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == ["A Short Test", "Second part"]
    assert tags["CTOC:toc"].child_element_ids == [c.element_id for c in sorted(chaps, key=lambda c: c.element_id)]


def test_the_feed_carries_the_chapters_for_apps_that_read_podlove(built, local_project):
    """gPodder's parser (podcastparser) reads psc:chapters; the chapters are the MP3's own."""
    import io

    import podcastparser

    summary, out, _ = built
    feed = (local_project.build_dir() / "feed.xml").read_bytes()
    (episode,) = podcastparser.parse(summary["feed_url"], io.BytesIO(feed))["episodes"]
    starts = [
        c.start_time / 1000 for c in sorted(ID3(out / "a-short-test.mp3").getall("CHAP"), key=lambda c: c.start_time)
    ]
    assert [c["title"] for c in episode["chapters"]] == ["A Short Test", "Second part"]
    assert [c["start"] for c in episode["chapters"]] == [int(s) for s in starts]


def test_rerun_synthesises_nothing_and_edit_only_its_chunks(rebuilt):
    summary, out, issue, project = rebuilt
    again = json.loads(project.publish(issue, "--no-upload").stdout)
    assert again["audio"]["chunks_synthesized"] == 0
    issue.write_text(SHORT_ISSUE.replace("It doesn’t go well.", "It goes badly, then worse."), encoding="utf-8")
    edited = json.loads(project.publish(issue, "--no-upload").stdout)
    assert edited["audio"]["chunks_synthesized"] == 1
    assert edited["audio"]["chunks_cached"] == again["audio"]["chunks_cached"] - 1
    assert again["audio"]["blocks_encoded"] == 0
    assert 1 <= edited["audio"]["blocks_encoded"] <= 2  # its block (and, rarely, the next)
    samples = decode(out / "a-short-test.mp3")
    assert abs(len(samples) / 44100 - edited["audio"]["duration_s"]) < 0.05
    assert abs(integrated_lufs(samples) - -16) <= 0.5 and true_peak_dbtp(samples) <= -1.0


def test_lexicon_changes_narration_not_transcript(rebuilt):
    summary, out, issue, project = rebuilt
    transcript_before = (out / "transcript.vtt").read_text(encoding="utf-8")
    lexicon = project.root / "lexicon.toml"
    lexicon.write_text('"Hyosan" = "[[ hjˈoʊsɑːn ]]"\n')
    config = (project.root / "publish.toml").read_text()
    config = re.sub(r'lexicon = ".*"', f'lexicon = "{lexicon}"', config)
    (project.root / "publish.toml").write_text(config)
    result = json.loads(project.publish(issue, "--no-upload").stdout)
    assert result["audio"]["chunks_synthesized"] >= 1
    transcript_after = (out / "transcript.vtt").read_text(encoding="utf-8")
    assert [c[2] for c in vtt_cues(transcript_after)] == [c[2] for c in vtt_cues(transcript_before)]
    assert "Hyosan" in transcript_after


@pytest.mark.parametrize(
    "case,message",
    [
        ("only images", "nothing to narrate"),
        ("missing intro", "intro/outro file not found"),
        ("missing voice", "voice file not found"),
    ],
)
def test_bad_audio_input_exit_2(project, case, message):
    issue = project.issue()
    config = project.config()
    text = config.read_text()
    if case == "only images":
        issue = project.issue("---\ntitle: Pics\ndate: 2024-01-01\n---\n![](https://x/a.jpg)\n", "2024-01-01-pics.md")
    elif case == "missing intro":
        config.write_text(re.sub(r'intro = ".*"', 'intro = "nope/intro.mp3"', text))
    else:
        config.write_text(text.replace("[voice]", '[voice]\nmodel = "nope/voice.onnx"'))
    result = project.publish(issue, "--no-upload")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.startswith("error: ")


@pytest.mark.slow
def test_whole_example_end_to_end(project, example_path):
    result = project.publish(example_path, "--no-upload")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    samples = decode(summary["audio"]["mp3"])
    assert 400 < len(samples) / 44100 < 900
    assert abs(integrated_lufs(samples) - -16) <= 1.0 and true_peak_dbtp(samples) <= -1.0
    assert max(silent_stretches(samples)) < 1.8
    cues = vtt_cues((project.build_dir() / "all-of-us-are-dead" / "transcript.vtt").read_text(encoding="utf-8"))
    assert len(samples) / 44100 - cues[-1][1] < 5
