"""Mastering in blocks, so that encoding keeps pace with the voice and an edit re-encodes a
minute of audio instead of the episode.

The episode is cut into blocks of about six chunks. A block ends after a chunk whose own
cache key says so, so an edit moves no boundary but its own. Each block is mastered alone:
levelled to -16 LUFS, peak-limited, encoded to 44.1 kHz mono CBR MP3, then measured from the
encoded bytes (integrated loudness and true peak) and encoded again until both are in range.
It is cached by content under build/.cache/mp3/. The episode is the blocks' MP3 frames end to
end: each block starts with a fresh encoder (an empty bit reservoir) and ends in a pause, so
the frames join without a seam, and every frame decodes to exactly 1152 samples, so the
transcript and chapters are timed to the sample.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from pipeline.errors import ServiceError
from pipeline.textutil import write_atomic

TARGET_LUFS = -16.0
LOUDNESS_TOLERANCE = 0.5  # LU either side of the target, measured on the MP3 (the spec allows 1)
QUIET_LUFS = -60.0  # quieter than this (or under 0.4 s) there is no loudness to aim at
MAX_ENCODES = 4
TRUE_PEAK_MAX = -1.3  # dBTP of the MP3, with a margin under Apple's -1
LIMIT_DBFS = -3.6  # sample-peak ceiling; the MP3's true peak lands about 2 dB above it
BITRATE_KBPS = 64
OUTPUT_RATE = 44100
FRAME_SAMPLES = 1152
# Decoded audio lags the input by LAME's encoder delay, the decoder's delay and the limiter's
# 5 ms look-ahead: 1324 samples at 44.1 kHz (measured; tests/test_audio.py checks it).
CHAIN_DELAY_S = 1324 / OUTPUT_RATE
BLOCK_MEAN_PARTS, BLOCK_MAX_PARTS = 6, 12
MASTERING_VERSION = "blocks-1"  # part of every block's key: bump when the chain changes


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class Part:
    key: str  # the speech cache key, or the sha256 of an intro/outro file
    pause_s: float  # silence after its sound


@dataclass(frozen=True)
class AudioBlock:
    parts: tuple[Part, ...]
    rate: int

    @cached_property
    def key(self) -> str:
        spec = {"v": MASTERING_VERSION, "rate": self.rate, "parts": [[p.key, p.pause_s] for p in self.parts]}
        return hashlib.sha256(json.dumps(spec).encode()).hexdigest()


@dataclass(frozen=True)
class MasteredBlock:
    path: Path
    frames: int
    loudness: float  # LUFS of the encoded block
    peak: float  # dBTP of the encoded block
    starts: tuple[float, ...]  # seconds from the block's first frame to each part's sound
    lengths: tuple[float, ...]  # seconds of each part's sound, its pause excluded

    @property
    def duration_s(self) -> float:
        return self.frames * FRAME_SAMPLES / OUTPUT_RATE


def plan_blocks(intro: Part, speech: list[Part], outro: Part, rate: int) -> list[AudioBlock]:
    """Intro and outro alone; speech cut after any part whose key ends a block (1 in 6 do)."""
    blocks, current = [AudioBlock((intro,), rate)], []
    for part in speech:
        current.append(part)
        if int(part.key[:8], 16) % BLOCK_MEAN_PARTS == 0 or len(current) == BLOCK_MAX_PARTS:
            blocks.append(AudioBlock(tuple(current), rate))
            current = []
    if current:
        blocks.append(AudioBlock(tuple(current), rate))
    return [*blocks, AudioBlock((outro,), rate)]


class BlockCache:
    """build/.cache/mp3/<key[:2]>/<key>.mp3 with its measurements beside it in <key>.json."""

    def __init__(self, root: Path):
        self.root = root / "mp3"

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.mp3", folder / f"{key}.json"

    def load(self, key: str) -> MasteredBlock | None:
        mp3, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
            if mp3.stat().st_size != meta["bytes"]:
                return None
            return MasteredBlock(
                mp3, meta["frames"], meta["loudness"], meta["peak"], tuple(meta["starts"]), tuple(meta["lengths"])
            )
        except (OSError, ValueError, KeyError):
            return None

    def store(self, key: str, data: bytes, block: MasteredBlock) -> MasteredBlock:
        mp3, meta_path = self._paths(key)
        write_atomic(mp3, data)
        write_atomic(
            meta_path,
            json.dumps(
                {
                    "bytes": len(data),
                    "frames": block.frames,
                    "loudness": block.loudness,
                    "peak": block.peak,
                    "starts": block.starts,
                    "lengths": block.lengths,
                }
            ),
        )
        return MasteredBlock(mp3, block.frames, block.loudness, block.peak, block.starts, block.lengths)


def master_block(
    block: AudioBlock, sound_of: Callable[[Part], np.ndarray], cache: BlockCache, force: bool = False
) -> tuple[MasteredBlock, bool]:
    """The block from the cache, or assembled, levelled, encoded and measured; and whether it was encoded."""
    if not force and (cached := cache.load(block.key)) is not None:
        return cached, False
    rate, pieces, starts, lengths, position = block.rate, [], [], [], 0
    for part in block.parts:
        sound = sound_of(part)
        silence = np.zeros(int(part.pause_s * rate), dtype="<i2")
        starts.append(CHAIN_DELAY_S + position / rate)
        lengths.append(len(sound) / rate)
        pieces += [sound, silence]
        position += len(sound) + len(silence)
    data, loudness, peak = encode_levelled(np.concatenate(pieces), rate)
    mastered = MasteredBlock(Path(), count_frames(data), loudness, peak, tuple(starts), tuple(lengths))
    return cache.store(block.key, data, mastered), True


def encode_levelled(pcm: np.ndarray, rate: int) -> tuple[bytes, float, float]:
    """MP3 bytes at -16 LUFS under the true-peak ceiling, with the loudness and peak measured on them."""
    from pipeline.audio.loudness import LimitedLoudness

    model = LimitedLoudness(pcm, rate)
    quiet = model.unlimited <= QUIET_LUFS
    aim, limit = TARGET_LUFS, LIMIT_DBFS
    for _ in range(MAX_ENCODES):
        gain = 0.0 if quiet else model.gain_for(aim, limit)
        data = encode_mp3(pcm, rate, gain, limit)
        loudness, peak = mp3_levels(data)
        if peak <= TRUE_PEAK_MAX and (quiet or abs(loudness - TARGET_LUFS) <= LOUDNESS_TOLERANCE):
            break
        if peak > TRUE_PEAK_MAX:
            limit -= peak - TRUE_PEAK_MAX + 0.2  # a lower ceiling, same aim: loudness barely moves
        aim += TARGET_LUFS - loudness  # where the model missed, aim the other way
    return data, loudness, peak


def encode_mp3(pcm: np.ndarray, rate: int, gain_db: float, limit_db: float) -> bytes:
    limit = 10 ** (limit_db / 20)
    chain = (
        f"aformat=sample_fmts=flt,volume={gain_db:.3f}dB,aresample={OUTPUT_RATE},"
        f"alimiter=limit={limit:.4f}:attack=5:release=50:level=disabled"
    )
    command = [
        ffmpeg(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "s16le",
        "-ar",
        str(rate),
        "-ac",
        "1",
        "-i",
        "-",
        "-af",
        chain,
        "-ar",
        str(OUTPUT_RATE),
        "-ac",
        "1",
        "-c:a",
        "libmp3lame",
        "-b:a",
        f"{BITRATE_KBPS}k",
        "-write_xing",
        "0",
        "-id3v2_version",
        "0",
        "-write_id3v1",
        "0",
        "-f",
        "mp3",
        "-",
    ]
    result = subprocess.run(command, input=pcm.astype("<i2", copy=False).tobytes(), capture_output=True)
    if result.returncode != 0 or not result.stdout:
        raise ServiceError(f"ffmpeg could not encode the MP3: {result.stderr.decode(errors='replace')[-300:]}")
    return result.stdout


def mp3_levels(data: bytes) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of MP3 bytes, from ffmpeg's ebur128."""
    result = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostats", "-f", "mp3", "-i", "-", "-af", "ebur128=peak=true", "-f", "null", "-"],
        input=data,
        capture_output=True,
    )
    summary = result.stderr.decode(errors="replace").rpartition("Summary:")[2]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if result.returncode != 0 or not loudness or not peak:
        raise ServiceError("ffmpeg could not measure the loudness of the MP3")
    integrated, true_peak = (float(m.group(1)) if m.group(1) != "-inf" else -120.0 for m in (loudness, peak))
    return integrated, true_peak


_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def count_frames(data: bytes) -> int:
    """Frames in an MPEG-1 Layer III stream at 44.1 kHz, walking the frame headers."""
    position = frames = 0
    while position + 4 <= len(data):
        header = int.from_bytes(data[position : position + 4], "big")
        index = (header >> 12) & 0xF
        if header >> 17 != 0x7FFD or (header >> 10) & 3 != 0 or not 0 < index < 15:
            raise ServiceError(f"the encoder wrote an unexpected MP3 frame at byte {position}")
        position += 144_000 * _KBPS[index] // OUTPUT_RATE + ((header >> 9) & 1)
        frames += 1
    return frames


def episode_levels(blocks: list[MasteredBlock]) -> tuple[float, float]:
    """The episode's loudness (blocks' energy weighted by duration) and true peak (the highest)."""
    loud = [(b.duration_s, 10 ** (b.loudness / 10)) for b in blocks if b.loudness > QUIET_LUFS]
    total = sum(d for d, _ in loud)
    loudness = 10 * np.log10(sum(d * e for d, e in loud) / total) if total else -120.0
    return float(loudness), max((b.peak for b in blocks), default=-120.0)


def info_frame(frames: int) -> bytes:
    """A silent first frame carrying a Xing "Info" tag with the frame count, as LAME writes for
    CBR: players read the exact duration from it and tools see a constant bit rate. No LAME
    extension, so no decoder trims samples and the transcript timing stays exact."""
    size = 144_000 * BITRATE_KBPS // OUTPUT_RATE
    header = (0xFFFB << 16) | (_KBPS.index(BITRATE_KBPS) << 12) | 0xC4  # MPEG-1 L3, 44.1 kHz, mono
    side_info = bytes(17)
    tag = b"Info" + (1).to_bytes(4, "big") + frames.to_bytes(4, "big")
    return (header.to_bytes(4, "big") + side_info + tag).ljust(size, b"\0")


def join_blocks(blocks: list[MasteredBlock], out: Path) -> None:
    with out.open("wb") as handle:
        handle.write(info_frame(sum(block.frames for block in blocks)))
        for block in blocks:
            handle.write(block.path.read_bytes())
