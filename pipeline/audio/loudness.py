"""ITU-R BS.1770 integrated loudness of a block, and a model of what the peak limiter will do
to it, so a block's gain is found in numpy before ffmpeg encodes it once.

Numpy only, in float32: scipy would add 80 MB and 2 s of import to every cold run."""

from __future__ import annotations

import functools
import math

import numpy as np


def k_weighting(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting biquads (high shelf, then high pass) for any sample rate."""
    f0, gain, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = (
        np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]),
        np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]),
    )
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = (np.array([1.0, -2.0, 1.0]), np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    return [shelf, highpass]


def _magnitude(b: np.ndarray, a: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """|H| of a biquad at the given angular frequencies (real arithmetic; float64, as the high
    pass's denominator nearly vanishes at 0 Hz)."""
    c1, c2 = np.cos(frequencies), np.cos(2 * frequencies)

    def power(k: np.ndarray) -> np.ndarray:
        return k[0] ** 2 + k[1] ** 2 + k[2] ** 2 + 2 * (k[0] * k[1] + k[1] * k[2]) * c1 + 2 * k[0] * k[2] * c2

    return np.sqrt(np.maximum(power(b), 0) / np.maximum(power(a), 1e-30))


FFT_SIZE = 1 << 17


def k_weighted_energy(samples: np.ndarray, rate: int, frame: int) -> np.ndarray:
    """Energy (sum of squares) of the K-weighted signal in each frame of `frame` samples.

    Filtered in the frequency domain with zero phase (loudness sums energy over 100 ms blocks,
    which a few milliseconds of filter delay do not move), in overlapping pieces of one FFT
    size, each converted to float from the samples as it is needed: memory stays a few MB
    whatever the length (a float copy of a long block beside two sentences being spoken was
    what raised the long issue's peak), and the filter curve is computed once."""
    scale = np.float32(1 / 32768 if samples.dtype.kind == "i" else 1)
    frames = -(-len(samples) // frame)
    margin = rate // 4  # the filters' tails, either side
    step = (FFT_SIZE - 2 * margin) // frame * frame
    curve = _k_curve(rate, FFT_SIZE)
    energy = np.empty(frames, np.float32)
    for start in range(0, frames * frame, step):
        piece = np.zeros(step + 2 * margin, np.float32)  # samples start - margin .. start + step + margin
        first, last = max(start - margin, 0), min(start + step + margin, len(samples))
        piece[first - (start - margin) : last - (start - margin)] = samples[first:last]
        piece *= scale
        filtered = np.fft.irfft(np.fft.rfft(piece, FFT_SIZE) * curve, FFT_SIZE)
        valid = filtered[margin : margin + min(step, frames * frame - start)].reshape(-1, frame)
        energy[start // frame : start // frame + len(valid)] = np.einsum("ij,ij->i", valid, valid)
    return energy


@functools.lru_cache(maxsize=4)
def _k_curve(rate: int, size: int) -> np.ndarray:
    frequencies = np.linspace(0, np.pi, size // 2 + 1)
    gain = np.ones(len(frequencies))
    for b, a in k_weighting(rate):
        gain *= _magnitude(b, a, frequencies)
    return gain.astype(np.float32)


def running_min(x: np.ndarray, width: int) -> np.ndarray:
    """Minimum over a centred window of `width` samples (van Herk/Gil-Werman: O(n) in numpy)."""
    if width <= 1:
        return x
    pad = width // 2
    tail = width - 1 - pad + (-len(x) % width) + width
    padded = np.concatenate([np.full(pad, np.inf, x.dtype), x, np.full(tail, np.inf, x.dtype)])
    rows = padded[: len(padded) // width * width].reshape(-1, width)
    forward = np.minimum.accumulate(rows, axis=1).ravel()
    backward = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(backward[: len(x)], forward[width - 1 : width - 1 + len(x)])


def gated_loudness(sub_blocks: np.ndarray) -> float:
    """BS.1770 loudness from the mean squares of 100 ms sub-blocks: 400 ms blocks every 100 ms,
    absolute (-70 LUFS) and relative (-10 LU) gates."""
    if len(sub_blocks) < 4:
        return -70.0
    blocks = np.convolve(sub_blocks, np.ones(4) / 4, mode="valid")
    loud = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-12))
    above = blocks[loud > -70]
    if not len(above):
        return -70.0
    relative = -0.691 + 10 * np.log10(np.mean(above)) - 10
    gated = blocks[(loud > -70) & (loud > relative)]
    return float(-0.691 + 10 * np.log10(np.mean(gated)))


class LimitedLoudness:
    """Predicts a block's loudness after a gain and ffmpeg's alimiter. Per frame of ~2 ms it
    keeps the peak and the K-weighted energy; the gain reduction each frame's peak needs is held
    over 25 ms (the limiter's 5 ms attack and the part of its release that counts) and applied to
    the energy. Within about 0.3 LU of the encoded MP3 with this voice, where the limiter takes
    1-4 LU, so the first encode usually lands; and it holds only frame-sized arrays, not samples."""

    HOLD_S = 0.025

    def __init__(self, samples: np.ndarray, rate: int):
        hop = rate // 10
        self.frame = max(d for d in range(1, hop + 1) if hop % d == 0 and d <= 0.0025 * rate)
        self.frames_per_sub = hop // self.frame
        self.hold = max(1, round(self.HOLD_S * rate / self.frame))
        # Peaks per frame from the samples as they are (float copies of a long block came to tens of MB)
        frames = np.concatenate([samples, np.zeros(-len(samples) % hop, samples.dtype)]).reshape(-1, self.frame)
        scale = np.float32(1 / 32768 if samples.dtype.kind == "i" else 1)
        self.peak = np.maximum(frames.max(axis=1).astype(np.float32), -frames.min(axis=1).astype(np.float32)) * scale
        self.energy = k_weighted_energy(samples, rate, self.frame).astype(np.float64) / hop
        self.energy = np.concatenate([self.energy, np.zeros(len(self.peak) - len(self.energy))])
        self.unlimited = gated_loudness(self.energy.reshape(-1, self.frames_per_sub).sum(axis=1))

    def loudness(self, gain_db: float, limit_db: float) -> float:
        gain = 10 ** (gain_db / 20)
        needed = np.minimum(1.0, 10 ** (limit_db / 20) / np.maximum(self.peak * gain, 1e-9))
        held = running_min(needed, self.hold)
        sub_blocks = (self.energy * held * held).reshape(-1, self.frames_per_sub).sum(axis=1)
        return gated_loudness(sub_blocks) + 20 * math.log10(gain)

    def gain_for(self, aim: float, limit_db: float, max_gain: float = 30.0) -> float:
        """The gain that brings the limited block to `aim` (secant steps; loudness rises with gain)."""
        gain = min(max_gain, aim - self.unlimited)
        level = self.loudness(gain, limit_db)
        slope = 1.0
        for _ in range(6):
            if abs(level - aim) < 0.05 or gain >= max_gain:
                break
            step = (aim - level) / max(slope, 0.1)
            new_gain = min(max_gain, gain + step)
            new_level = self.loudness(new_gain, limit_db)
            if new_gain != gain:
                slope = (new_level - level) / (new_gain - gain)
            gain, level = new_gain, new_level
        return gain
