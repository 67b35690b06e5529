"""Streaming ITU-R BS.1770 integrated loudness, fed chunk by chunk while the episode is
assembled, so measuring never holds the whole episode in memory."""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter, lfilter_zi


def k_weighting(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting biquads (high shelf, then high pass) for any sample rate."""
    f0, gain, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = (np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]),
             np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = (np.array([1.0, -2.0, 1.0]), np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    return [shelf, highpass]


class LoudnessMeter:
    def __init__(self, rate: int):
        self.rate = rate
        self.filters = k_weighting(rate)
        self.states = [lfilter_zi(b, a) * 0 for b, a in self.filters]
        self.hop = rate // 10                         # 100 ms sub-blocks; a gating block is 4 of them
        self.pending = np.zeros(0)
        self.sub_blocks: list[float] = []

    def add(self, samples: np.ndarray) -> None:
        x = samples.astype(np.float64)
        if samples.dtype.kind == "i":
            x /= 32768.0
        for index, (b, a) in enumerate(self.filters):
            x, self.states[index] = lfilter(b, a, x, zi=self.states[index])
        x = np.concatenate([self.pending, x])
        whole = len(x) // self.hop * self.hop
        if whole:
            self.sub_blocks.extend(np.mean(x[:whole].reshape(-1, self.hop) ** 2, axis=1).tolist())
        self.pending = x[whole:]

    def integrated(self) -> float:
        subs = np.array(self.sub_blocks)
        if len(subs) < 4:
            return -70.0
        blocks = np.convolve(subs, np.ones(4) / 4, mode="valid")
        loud = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-12))
        above = blocks[loud > -70]
        if not len(above):
            return -70.0
        relative = -0.691 + 10 * np.log10(np.mean(above)) - 10
        gated = blocks[(loud > -70) & (loud > relative)]
        return float(-0.691 + 10 * np.log10(np.mean(gated)))
