"""The episode's audio: narration → cached speech → mastered blocks → one tagged MP3, with a
transcript and chapters timed from the real synthesised durations."""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.audio.lexicon import load_lexicon
from pipeline.audio.mastering import (
    MASTERING_VERSION,
    BlockCache,
    MasteredBlock,
    Part,
    episode_levels,
    ffmpeg,
    join_blocks,
    master_block,
    plan_blocks,
)
from pipeline.audio.narration import MAX_SCRIPT_CHARS, Narration, build_narration
from pipeline.audio.tags import write_tags
from pipeline.audio.transcript import Cue, time_words, transcript_json, webvtt
from pipeline.audio.tts import SpeechCache, Synthesis, Voice, chunk_key, resolve_voice
from pipeline.config import Config
from pipeline.errors import InputError, Problem
from pipeline.report import Reporter
from pipeline.source.document import Issue
from pipeline.textutil import atomic_path, sha256_of, write_atomic

INTRO_GAP, OUTRO_GAP = 0.6, 0.8
AUDIO_VERSION = "7"  # bump when assembly changes (mastering has its own MASTERING_VERSION)


@dataclass(frozen=True)
class AudioBuild:
    mp3: Path | None
    transcript: Path | None
    chapters: Path | None
    duration_s: float
    bytes: int
    sha256: str
    chunks_synthesized: int
    chunks_cached: int
    blocks_encoded: int = 0
    words: Path | None = None  # transcript.json: every word timed

    def summary(self) -> dict:
        return {
            "mp3": str(self.mp3) if self.mp3 else None,
            "duration_s": round(self.duration_s, 2),
            "bytes": self.bytes,
            "chunks_synthesized": self.chunks_synthesized,
            "chunks_cached": self.chunks_cached,
            "blocks_encoded": self.blocks_encoded,
        }


def decode_sting(path: Path, rate: int) -> np.ndarray:
    """Intro/outro as mono int16 at the voice's rate (pydub, with imageio-ffmpeg's ffmpeg)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pydub warns when ffmpeg is not on PATH
        from pydub import AudioSegment
    AudioSegment.converter = ffmpeg()
    try:
        segment = AudioSegment.from_file(
            path, format=path.suffix.lstrip(".") or "mp3", codec="mp3" if path.suffix.lower() == ".mp3" else None
        )
    except Exception as exc:  # noqa: BLE001 - pydub re-raises ffmpeg failures as several types
        raise InputError.at(path, f"cannot decode the audio file ({type(exc).__name__})") from None
    segment = segment.set_channels(1).set_frame_rate(rate).set_sample_width(2)
    return np.frombuffer(segment.raw_data, dtype="<i2")


def _manifest_key(narration: Narration, keys: list[str], config: Config, issue: Issue) -> str:
    parts = {
        "v": AUDIO_VERSION,
        "mastering": MASTERING_VERSION,
        "keys": keys,
        "pauses": [c.pause_after for c in narration.chunks],
        "cues": [c.shown for c in narration.chunks],
        "chapters": narration.chapters,
        "chapter_of": [c.chapter for c in narration.chunks],
        "title": issue.title,
        "show": config.show.title,
        "author": issue.byline(config.show.author),
        "date": str(issue.date),
        "intro": sha256_of(config.voice.intro),
        "outro": sha256_of(config.voice.outro),
        "cover": sha256_of(config.show.cover),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class AudioPlan:
    """What an issue's audio needs, known before anything is spoken: its narration, the voice,
    each chunk's cache key and the chunks not yet in the cache."""

    narration: Narration
    voice: Voice
    keys: list[str]
    missing: dict[str, str]  # key -> text to speak

    @property
    def cached(self) -> int:
        return len(self.keys) - len(self.missing)


def plan_audio(issue: Issue, config: Config, cache_dir: Path, force: bool = False) -> AudioPlan:
    """Every check that can fail before synthesis (an empty or overlong script, a missing intro
    or voice), so a run of many issues finds them all before it speaks a word."""
    narration = build_narration(issue, config.show, load_lexicon(config.voice.lexicon))
    if not narration.chunks:
        raise InputError.at(issue.source, "nothing to narrate: the review has no readable text")
    if narration.characters > MAX_SCRIPT_CHARS:
        hours = narration.characters / 15 / 3600
        raise InputError.at(
            issue.source, f"too long to narrate sensibly (about {hours:.1f} hours of speech; the limit is 3 hours)"
        )
    for sting in (config.voice.intro, config.voice.outro):
        if not sting.is_file():
            raise InputError.at(sting, "intro/outro file not found (set [voice] intro / outro)")
    voice = resolve_voice(config.voice.model, cache_dir)
    cache = SpeechCache(cache_dir)
    keys = [chunk_key(voice, chunk.spoken) for chunk in narration.chunks]
    missing = {k: c.spoken for k, c in zip(keys, narration.chunks) if force or not cache.has(k)}
    return AudioPlan(narration, voice, keys, missing)


def unsaid_warning(issue: Issue, unsaid: tuple[str, ...]) -> Problem:
    """Which characters of the review the listener never hears, at the line of the first."""
    lines = issue.source.read_text("utf-8", errors="replace").splitlines()
    line = next((n for n, text in enumerate(lines, 1) if unsaid[0] in text), None)
    shown = ", ".join(f"'{ch}'" for ch in unsaid[:8]) + (f" and {len(unsaid) - 8} more" if len(unsaid) > 8 else "")
    return Problem(
        str(issue.source),
        f"the narration leaves out {shown}: the voice says nothing for them; "
        "where a listener should hear one, write what it means in words",
        line,
    )


def build_episode_audio(
    issue: Issue,
    config: Config,
    out_dir: Path,
    cache_dir: Path,
    force: bool = False,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    shared: tuple[AudioPlan, Synthesis] | None = None,
) -> AudioBuild:
    """`shared`: this issue's plan and the speech engine of a run of many issues, already
    speaking it; without it, the issue gets an engine of its own."""
    reporter = reporter or Reporter(quiet=True)
    plan = shared[0] if shared else plan_audio(issue, config, cache_dir, force)
    narration, voice, keys, missing, cached = plan.narration, plan.voice, plan.keys, plan.missing, plan.cached
    if narration.unsaid:
        reporter.warn(str(unsaid_warning(issue, narration.unsaid)))
    cache = SpeechCache(cache_dir)
    if dry_run:
        reporter.info(f"audio    would synthesise {len(missing)} chunks ({cached} cached)")
        return AudioBuild(None, None, None, 0.0, 0, "", len(missing), cached)

    out_dir.mkdir(parents=True, exist_ok=True)
    mp3, vtt, chapters = out_dir / f"{issue.slug}.mp3", out_dir / "transcript.vtt", out_dir / "chapters.json"
    words = out_dir / "transcript.json"
    manifest_path = out_dir / ".audio.json"
    manifest_key = _manifest_key(narration, keys, config, issue)
    if not missing and all(p.exists() for p in (mp3, vtt, chapters, words)) and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("key") == manifest_key and manifest.get("bytes") == mp3.stat().st_size:
            reporter.info(f"audio    {mp3} unchanged ({len(keys)} chunks cached)")
            return AudioBuild(
                mp3,
                vtt,
                chapters,
                manifest["duration_s"],
                manifest["bytes"],
                manifest["sha256"],
                0,
                cached,
                words=words,
            )

    # The voice speaks on background threads while this one masters each block as soon as its
    # sentences are ready (the intro straight away).
    speech = (
        shared[1]
        if shared
        else Synthesis(voice, list(missing.items()), cache, reporter.progress("synthesis", len(missing)))
    )
    blocks, encoded = master_blocks(narration, keys, speech, cache, voice.sample_rate, config, cache_dir, force)
    if shared:
        for key in missing:  # a cached block needs no speech, but its words need timing
            speech.wait(key)
    else:
        speech.join()
    cues, chapter_starts, duration = timeline(narration, blocks)
    with atomic_path(mp3) as tmp:
        join_blocks(blocks, tmp)
        write_tags(tmp, issue, config, narration.chapters, chapter_starts, duration)
    write_atomic(vtt, webvtt(cues))
    rate = voice.sample_rate
    write_atomic(
        words,
        transcript_json(
            [
                word
                for cue, key in zip(cues, keys, strict=True)
                for word in time_words(cue, [(a / rate, b / rate) for a, b in cache.words(key) or ()])
            ]
        ),
    )
    write_atomic(chapters, chapters_json(narration.chapters, chapter_starts))
    size, digest = mp3.stat().st_size, sha256_of(mp3)
    manifest_path.write_text(json.dumps({"key": manifest_key, "duration_s": duration, "bytes": size, "sha256": digest}))
    loudness, peak = episode_levels(blocks)
    reporter.info(
        f"audio    {mp3}  ({duration / 60:.1f} min, {size / 1e6:.1f} MB, {loudness:.1f} LUFS, "
        f"{peak:.1f} dBTP; {len(missing)} chunks synthesised, {cached} cached; "
        f"{encoded} of {len(blocks)} blocks encoded)"
    )
    return AudioBuild(mp3, vtt, chapters, duration, size, digest, len(missing), cached, encoded, words)


def master_blocks(
    narration: Narration,
    keys: list[str],
    speech: Synthesis,
    cache: SpeechCache,
    rate: int,
    config: Config,
    cache_dir: Path,
    force: bool,
) -> tuple[list[MasteredBlock], int]:
    """Intro, the chunks with their pauses, and outro, mastered block by block as the voice reaches them."""
    intro, outro = Part(sha256_of(config.voice.intro), INTRO_GAP), Part(sha256_of(config.voice.outro), 0.0)
    stings = {intro.key: config.voice.intro, outro.key: config.voice.outro}
    parts = [Part(key, chunk.pause_after) for key, chunk in zip(keys, narration.chunks)]
    parts[-1] = Part(parts[-1].key, parts[-1].pause_s + OUTRO_GAP)

    def sound_of(part: Part) -> np.ndarray:
        if part.key in stings:
            return decode_sting(stings[part.key], rate)
        speech.wait(part.key)
        return cache.read(part.key)

    block_cache = BlockCache(cache_dir)
    plan = plan_blocks(intro, parts, outro, rate)
    # The outro needs no speech: mastered second, not left for after the last sentence.
    order = [0, len(plan) - 1, *range(1, len(plan) - 1)]
    results = {index: master_block(plan[index], sound_of, block_cache, force) for index in order}
    return [results[index][0] for index in range(len(plan))], sum(encoded for _, encoded in results.values())


def timeline(narration: Narration, blocks: list[MasteredBlock]) -> tuple[list[Cue], list[float], float]:
    """Cues, chapter starts and duration, from where each part's sound sits in the joined blocks."""
    sounds, offset = [], 0.0
    for block in blocks:
        sounds += [(offset + start, length) for start, length in zip(block.starts, block.lengths)]
        offset += block.duration_s
    cues = [
        Cue(start, start + length, chunk.shown) for (start, length), chunk in zip(sounds[1:-1], narration.chunks)
    ]  # between intro and outro
    chapter_starts = [0.0] * len(narration.chapters)
    seen = {0}
    for cue, chunk in zip(cues, narration.chunks):
        if chunk.chapter not in seen:
            seen.add(chunk.chapter)
            chapter_starts[chunk.chapter] = cue.start
    return cues, chapter_starts, offset


def chapters_json(titles: tuple[str, ...], starts: list[float]) -> str:
    chapters = [{"startTime": round(start, 3), "title": title} for title, start in zip(titles, starts)]
    return json.dumps({"version": "1.2.0", "chapters": chapters}, indent=2, ensure_ascii=False) + "\n"
