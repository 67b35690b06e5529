"""Decode an MP3 with ffmpeg and measure it the way a mastering engineer would."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

RATE = 44100


def decode(path) -> np.ndarray:
    raw = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def integrated_lufs(samples: np.ndarray) -> float:
    return pyloudnorm.Meter(RATE).integrated_loudness(samples)


def true_peak_dbtp(samples: np.ndarray) -> float:
    return 20 * np.log10(np.max(np.abs(resample_poly(samples, 4, 1))) + 1e-12)


def silent_stretches(samples: np.ndarray, floor_db: float = -50, window_s: float = 0.1) -> list[float]:
    """Lengths in seconds of runs of windows quieter than floor_db RMS."""
    size = int(RATE * window_s)
    windows = samples[: len(samples) // size * size].reshape(-1, size)
    quiet = 20 * np.log10(np.sqrt(np.mean(windows**2, axis=1)) + 1e-12) < floor_db
    runs, current = [], 0
    for is_quiet in quiet:
        if is_quiet:
            current += 1
        elif current:
            runs.append(current * window_s)
            current = 0
    if current:
        runs.append(current * window_s)
    return runs
