"""The episode's audio: narration → cached speech → assembled, mastered, tagged MP3,
with a transcript and chapters timed from the real synthesised durations."""
from __future__ import annotations

import hashlib
import importlib
import json
import re
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import Config
from pipeline.errors import InputError, ServiceError
from pipeline.issue import Issue
from pipeline.lexicon import load_lexicon
from pipeline.narration import MAX_SCRIPT_CHARS, Narration, build_narration
from pipeline.report import Reporter
from pipeline.storage import sha256_of
from pipeline.tags import write_tags
from pipeline.textutil import write_atomic
from pipeline.tts import SpeechCache, Voice, chunk_key, resolve_voice, synthesize_missing

TARGET_LUFS = -16.0
# Measured on the finished MP3s, the result sat 0.5-0.9 LU under the aim (MP3 encoding and the
# true-peak ceiling both take a little): aim that much higher so the first encode lands on -16.
AIM_LUFS = TARGET_LUFS + 0.7
LOUDNESS_TOLERANCE = 0.4   # LU either side of the target, measured on the MP3
MAX_ENCODES = 4
TRUE_PEAK_MAX = -1.3       # dBTP of the final MP3, with a margin under Apple's -1
LIMIT_DBFS = -3.6          # sample-peak ceiling; the MP3's true peak lands about 2 dB above it
BITRATE = "64k"
OUTPUT_RATE = 44100
INTRO_GAP, OUTRO_GAP = 0.6, 0.8
AUDIO_VERSION = "6"        # bump when assembly or mastering changes


def ffmpeg() -> str:
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


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

    def summary(self) -> dict:
        return {"mp3": str(self.mp3) if self.mp3 else None, "duration_s": round(self.duration_s, 2),
                "bytes": self.bytes, "chunks_synthesized": self.chunks_synthesized,
                "chunks_cached": self.chunks_cached}


def decode_sting(path: Path, rate: int) -> np.ndarray:
    """Intro/outro as mono int16 at the voice's rate (pydub, with imageio-ffmpeg's ffmpeg)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # pydub warns when ffmpeg is not on PATH
        from pydub import AudioSegment
    AudioSegment.converter = ffmpeg()
    try:
        segment = AudioSegment.from_file(path, format=path.suffix.lstrip(".") or "mp3",
                                         codec="mp3" if path.suffix.lower() == ".mp3" else None)
    except Exception as exc:  # noqa: BLE001 - pydub re-raises ffmpeg failures as several types
        raise InputError.at(path, f"cannot decode the audio file ({type(exc).__name__})") from None
    segment = segment.set_channels(1).set_frame_rate(rate).set_sample_width(2)
    return np.frombuffer(segment.raw_data, dtype="<i2")


def _manifest_key(narration: Narration, keys: list[str], config: Config, issue: Issue) -> str:
    parts = {"v": AUDIO_VERSION, "keys": keys, "pauses": [c.pause_after for c in narration.chunks],
             "cues": [c.shown for c in narration.chunks], "chapters": narration.chapters,
             "chapter_of": [c.chapter for c in narration.chunks], "title": issue.title,
             "show": config.show.title, "author": issue.author or config.show.author, "date": str(issue.date),
             "intro": sha256_of(config.voice.intro), "outro": sha256_of(config.voice.outro),
             "cover": sha256_of(config.show.cover)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def build_episode_audio(issue: Issue, config: Config, out_dir: Path, cache_dir: Path, force: bool = False,
                        dry_run: bool = False, reporter: Reporter | None = None) -> AudioBuild:
    reporter = reporter or Reporter(quiet=True)
    narration = build_narration(issue, config.show, load_lexicon(config.voice.lexicon))
    if not narration.chunks:
        raise InputError.at(issue.source, "nothing to narrate: the review has no readable text")
    if narration.characters > MAX_SCRIPT_CHARS:
        hours = narration.characters / 15 / 3600
        raise InputError.at(issue.source, f"too long to narrate sensibly (about {hours:.1f} hours of speech; "
                            "the limit is 3 hours)")
    for sting in (config.voice.intro, config.voice.outro):
        if not sting.is_file():
            raise InputError.at(sting, "intro/outro file not found (set [voice] intro / outro)")
    voice = resolve_voice(config.voice.model, cache_dir)
    cache = SpeechCache(cache_dir)
    keys = [chunk_key(voice, chunk.spoken) for chunk in narration.chunks]
    missing = {k: c.spoken for k, c in zip(keys, narration.chunks) if force or not cache.has(k)}
    cached = len(keys) - len(missing)
    if dry_run:
        reporter.info(f"audio    would synthesise {len(missing)} chunks ({cached} cached)")
        return AudioBuild(None, None, None, 0.0, 0, "", len(missing), cached)

    out_dir.mkdir(parents=True, exist_ok=True)
    mp3, vtt, chapters = out_dir / f"{issue.slug}.mp3", out_dir / "transcript.vtt", out_dir / "chapters.json"
    manifest_path = out_dir / ".audio.json"
    manifest_key = _manifest_key(narration, keys, config, issue)
    if not missing and all(p.exists() for p in (mp3, vtt, chapters)) and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("key") == manifest_key and manifest.get("bytes") == mp3.stat().st_size:
            reporter.info(f"audio    {mp3} unchanged ({len(keys)} chunks cached)")
            return AudioBuild(mp3, vtt, chapters, manifest["duration_s"], manifest["bytes"],
                              manifest["sha256"], 0, cached)

    # scipy (for the loudness meter) takes ~2 s to import: do it while the voice speaks, and
    # never on a warm run that has nothing to master.
    preload = threading.Thread(target=importlib.import_module, args=("pipeline.loudness",), daemon=True)
    preload.start()
    progress = reporter.progress("synthesis", len(missing))
    synthesize_missing(voice, list(missing.items()), cache, progress)
    preload.join()
    cues, chapter_starts, duration = master_episode(narration, keys, cache, voice, config, mp3)
    write_tags(mp3, issue, config, narration.chapters, chapter_starts, duration)
    write_atomic(vtt, webvtt(cues))
    write_atomic(chapters, chapters_json(narration.chapters, chapter_starts))
    size, digest = mp3.stat().st_size, sha256_of(mp3)
    manifest_path.write_text(json.dumps({"key": manifest_key, "duration_s": duration, "bytes": size,
                                         "sha256": digest}))
    reporter.info(f"audio    {mp3}  ({duration / 60:.1f} min, {size / 1e6:.1f} MB; "
                  f"{len(missing)} chunks synthesised, {cached} cached)")
    return AudioBuild(mp3, vtt, chapters, duration, size, digest, len(missing), cached)


def master_episode(narration: Narration, keys: list[str], cache: SpeechCache, voice: Voice,
                   config: Config, mp3: Path) -> tuple[list[Cue], list[float], float]:
    """Assemble intro, speech with pauses and outro into raw PCM on disk while measuring its
    loudness, then encode once: gain to -16 LUFS, a peak limiter, 44.1 kHz mono CBR MP3."""
    from pipeline.loudness import LoudnessMeter
    rate = voice.sample_rate
    meter = LoudnessMeter(rate)
    cues: list[Cue] = []
    chapter_starts: list[float] = [0.0] * len(narration.chapters)
    seen_chapters: set[int] = {0}
    position = 0                                         # in samples
    with tempfile.TemporaryDirectory(prefix="publish-audio-") as tmp:
        raw_path = Path(tmp) / "episode.pcm"
        with raw_path.open("wb") as raw:
            def emit(samples: np.ndarray) -> None:
                nonlocal position
                raw.write(samples.astype("<i2").tobytes())
                meter.add(samples)
                position += len(samples)

            emit(decode_sting(config.voice.intro, rate))
            emit(np.zeros(int(INTRO_GAP * rate), dtype="<i2"))
            for key, chunk in zip(keys, narration.chunks):
                if chunk.chapter not in seen_chapters:
                    seen_chapters.add(chunk.chapter)
                    chapter_starts[chunk.chapter] = position / rate
                speech = cache.read(key)
                start = position / rate
                emit(speech)
                cues.append(Cue(start, position / rate, chunk.shown))
                emit(np.zeros(int(chunk.pause_after * rate), dtype="<i2"))
            emit(np.zeros(int(OUTRO_GAP * rate), dtype="<i2"))
            emit(decode_sting(config.voice.outro, rate))
        gain = AIM_LUFS - meter.integrated()
        # The limiter lowers loudness a little; measure its real output and correct it (one or
        # two passes: each is a full decode of the episode, so few).
        for _ in range(2):
            error = AIM_LUFS - limited_loudness(raw_path, rate, gain)
            if abs(error) < 0.15:
                break
            gain += error * 1.2                   # the limiter takes back part of any boost
        # MP3 encoding can overshoot the limiter by 1-2 dB between samples, and encoding and the
        # limiter both move the loudness a little: measure the real file and correct it.
        limit = LIMIT_DBFS
        for _ in range(MAX_ENCODES):
            encode_mp3(raw_path, rate, gain, mp3, limit)
            loudness, peak = mp3_levels(mp3)
            if peak <= TRUE_PEAK_MAX and abs(loudness - TARGET_LUFS) <= LOUDNESS_TOLERANCE:
                break
            if peak > TRUE_PEAK_MAX:
                limit -= peak - TRUE_PEAK_MAX + 0.2   # a lower ceiling, same gain: loudness barely moves
            gain += (TARGET_LUFS - loudness) * 1.2   # the limiter takes back part of any boost
    return cues, chapter_starts, position / rate


def _mastering_command(raw_path: Path, rate: int, gain_db: float, limit_db: float = LIMIT_DBFS) -> list[str]:
    limit = 10 ** (limit_db / 20)
    chain = (f"aformat=sample_fmts=flt,volume={gain_db:.3f}dB,aresample={OUTPUT_RATE},"
             f"alimiter=limit={limit:.4f}:attack=5:release=50:level=disabled")
    return [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(rate), "-ac", "1",
            "-i", str(raw_path), "-af", chain, "-ar", str(OUTPUT_RATE), "-ac", "1"]


def limited_loudness(raw_path: Path, rate: int, gain_db: float) -> float:
    """Integrated loudness of the gained and limited signal, streamed from ffmpeg."""
    from pipeline.loudness import LoudnessMeter
    meter = LoudnessMeter(OUTPUT_RATE)
    command = [*_mastering_command(raw_path, rate, gain_db), "-f", "f32le", "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:
        for block in iter(lambda: process.stdout.read(1 << 20), b""):
            meter.add(np.frombuffer(block[: len(block) // 4 * 4], dtype="<f4"))
    if process.returncode != 0:
        raise ServiceError("ffmpeg failed while measuring loudness")
    return meter.integrated()


def mp3_levels(mp3: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of the encoded file, from ffmpeg's ebur128."""
    result = subprocess.run([ffmpeg(), "-hide_banner", "-nostats", "-i", str(mp3), "-af", "ebur128=peak=true",
                             "-f", "null", "-"], capture_output=True, text=True)
    summary = result.stderr.rpartition("Summary:")[2]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if result.returncode != 0 or not loudness or not peak:
        raise ServiceError("ffmpeg could not measure the loudness of the MP3")
    return tuple(float(m.group(1)) if m.group(1) != "-inf" else -120.0 for m in (loudness, peak))


def encode_mp3(raw_path: Path, rate: int, gain_db: float, mp3: Path, limit_db: float = LIMIT_DBFS) -> None:
    tmp = mp3.with_name(f".{mp3.name}.tmp.mp3")
    command = [*_mastering_command(raw_path, rate, gain_db, limit_db), "-c:a", "libmp3lame", "-b:a", BITRATE,
               "-id3v2_version", "0", "-write_id3v1", "0", str(tmp)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"ffmpeg could not encode the MP3: {result.stderr.strip()[-300:]}")
    tmp.replace(mp3)


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


def chapters_json(titles: tuple[str, ...], starts: list[float]) -> str:
    chapters = [{"startTime": round(start, 3), "title": title} for title, start in zip(titles, starts)]
    return json.dumps({"version": "1.2.0", "chapters": chapters}, indent=2, ensure_ascii=False) + "\n"

