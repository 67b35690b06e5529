"""Block mastering: the MP3 blocks decode on their own exactly as they do joined, the timing
constant is the encoder's real delay, and the numpy loudness model agrees with reference meters."""

import hashlib
import subprocess

import imageio_ffmpeg
import numpy as np
import pyloudnorm
import pytest
from mutagen.mp3 import MP3, BitrateMode
from scipy.ndimage import minimum_filter1d
from scipy.signal import lfilter

from pipeline.audio.loudness import LimitedLoudness, gated_loudness, k_weighted_energy, k_weighting, running_min
from pipeline.audio.mastering import (
    CHAIN_DELAY_S,
    FRAME_SAMPLES,
    OUTPUT_RATE,
    TARGET_LUFS,
    BlockCache,
    MasteredBlock,
    Part,
    count_frames,
    encode_levelled,
    encode_mp3,
    info_frame,
    mp3_levels,
    plan_blocks,
)
from tests.audio_measure import decode

RATE = 22050


def speechlike(seconds: float, seed: int) -> np.ndarray:
    """Bursts of shaped noise with a speech-like crest factor, silent at both ends."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    envelope = np.abs(np.sin(np.linspace(0, seconds * 3 * np.pi, n))) ** 3
    signal = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same") * envelope * 3000
    signal[: RATE // 5] = signal[-RATE // 5 :] = 0
    return signal.astype("<i2")


def test_chain_delay_is_the_encoders_real_delay():
    clicks = np.zeros(RATE, dtype="<i2")
    clicks[[0, RATE // 2]] = 20000
    decoded = decode_bytes(encode_mp3(clicks, RATE, 0.0, -1.0))
    first, second = np.argmax(np.abs(decoded[:20000])), 20000 + np.argmax(np.abs(decoded[20000:40000]))
    assert first == round(CHAIN_DELAY_S * OUTPUT_RATE)
    assert second - first == OUTPUT_RATE // 2


def test_blocks_decode_alone_as_they_do_joined(tmp_path):
    blocks = [encode_mp3(speechlike(3 + n, n), RATE, 12.0, -3.6) for n in range(3)]
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(info_frame(sum(count_frames(b) for b in blocks)) + b"".join(blocks))
    whole = decode(joined)
    parts = [decode_bytes(b) for b in blocks]
    assert [len(p) for p in parts] == [count_frames(b) * FRAME_SAMPLES for b in blocks]
    assert len(whole) == sum(len(p) for p in parts)
    assert np.max(np.abs(whole - np.concatenate(parts))) < 1e-3  # no seam: frames are independent
    info = MP3(joined).info
    assert info.bitrate_mode == BitrateMode.CBR and info.bitrate == 64000
    assert info.length == pytest.approx(len(whole) / OUTPUT_RATE, abs=1e-6)


def test_levelled_block_is_on_target_under_the_ceiling():
    data, loudness, peak = encode_levelled(speechlike(20, 7), RATE)
    assert abs(loudness - TARGET_LUFS) <= 0.4 and peak <= -1.3
    assert (loudness, peak) == mp3_levels(data)
    samples = decode_bytes(data).astype(np.float64)
    assert abs(pyloudnorm.Meter(OUTPUT_RATE).integrated_loudness(samples) - TARGET_LUFS) <= 0.5


def test_quiet_block_is_left_alone():
    data, loudness, _ = encode_levelled(np.zeros(RATE // 4, dtype="<i2"), RATE)
    assert loudness <= -60 and count_frames(data) > 0


def test_loudness_meter_agrees_with_scipy_filters_and_pyloudnorm():
    samples = speechlike(40, 3)  # longer than one FFT piece, so the pieces join
    weighted = samples / 32768.0
    for b, a in k_weighting(RATE):  # the BS.1770 biquads, run as IIR filters
        weighted = lfilter(b, a, weighted)
    hop = RATE // 10
    exact = gated_loudness(np.mean(weighted[: len(weighted) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    measured = gated_loudness(k_weighted_energy(samples, RATE, hop)[: len(samples) // hop] / hop)
    assert measured == pytest.approx(exact, abs=0.01)
    assert LimitedLoudness(samples, RATE).unlimited == pytest.approx(exact, abs=0.01)
    # pyloudnorm designs its filters slightly differently at 22.05 kHz
    assert measured == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(samples / 32768.0), abs=0.2)
    values = np.random.default_rng(5).random(1001).astype(np.float32)
    for width in (1, 7, 8, 551):
        expected = minimum_filter1d(values, width, mode="constant", cval=np.inf)
        assert np.array_equal(running_min(values, width), expected)


def test_an_edit_moves_only_its_own_block_boundary():
    keys = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(60)]
    before = plan_blocks(Part("intro", 0.6), [Part(k, 0.35) for k in keys], Part("outro", 0), RATE)
    edited = keys[:20] + ["f" * 64] + keys[21:]
    after = plan_blocks(Part("intro", 0.6), [Part(k, 0.35) for k in edited], Part("outro", 0), RATE)
    changed = {b.key for b in after} - {b.key for b in before}
    assert 1 <= len(changed) <= 2 and len(before) > 5


def test_block_cache_refuses_a_truncated_file(tmp_path):
    cache = BlockCache(tmp_path)
    block = plan_blocks(Part("a" * 64, 0.1), [], Part("b" * 64, 0), RATE)[0]
    data = encode_mp3(speechlike(1, 1), RATE, 0.0, -3.6)
    stored = cache.store(block.key, data, MasteredBlock(tmp_path, count_frames(data), -16.0, -3.0, (0.0,), (1.0,)))
    assert cache.load(block.key) == stored
    stored.path.write_bytes(data[:-10])
    assert cache.load(block.key) is None


def decode_bytes(data: bytes) -> np.ndarray:
    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "mp3", "-i", "-", "-f", "f32le", "-"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4")
