"""Regenerate the show's original assets: cover art and the intro/outro stings.

    .venv/bin/python scripts/make_assets.py

Everything is synthesised here (no samples, no fonts beyond Pillow's bundled one),
so the files are ours to publish and stay small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent.parent / "pipeline" / "assets"  # the packaged defaults
RATE = 44100


def cover(path: Path, size: int = 1400) -> None:
    y, x = np.mgrid[0:size, 0:size] / size
    glow = np.exp(-(((x - 0.5) ** 2) / 0.09 + ((y - 0.42) ** 2) / 0.06))
    base = np.stack([18 + 150 * glow, 14 + 22 * glow, 16 + 20 * glow], axis=-1)
    image = Image.fromarray(base.clip(0, 255).astype("uint8"), "RGB")
    draw = ImageDraw.Draw(image)
    for band_y in (60, size - 150):  # film strips, top and bottom
        draw.rectangle([0, band_y, size, band_y + 90], fill=(10, 10, 12))
        for hole_x in range(30, size, 90):
            draw.rounded_rectangle([hole_x, band_y + 25, hole_x + 44, band_y + 65], 8, fill=(235, 228, 214))
    big = ImageFont.load_default(size=190)
    small = ImageFont.load_default(size=62)
    for text, font, top in (("SCREEN", big, 420), ("REVIEWS", big, 620)):
        width = draw.textlength(text, font=font)
        draw.text(((size - width) / 2, top), text, font=font, fill=(246, 240, 230))
    tagline = "read it · hear it"
    width = draw.textlength(tagline, font=small)
    draw.text(((size - width) / 2, 880), tagline, font=small, fill=(255, 158, 148))
    image = image.filter(ImageFilter.SMOOTH)
    image.save(path, "JPEG", quality=82, optimize=True, progressive=True)


def _tone(freq: float, seconds: float, decay: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    partials = sum(np.sin(2 * np.pi * freq * k * t) / k**1.6 for k in (1, 2, 3, 4))
    attack = np.minimum(1, t / 0.012)
    return partials * attack * np.exp(-t / decay)


def sting(notes: list[tuple[float, float]], seconds: float) -> np.ndarray:
    """A few soft bell-like notes over a low pad: (start second, frequency)."""
    out = np.zeros(int(seconds * RATE))
    t = np.arange(out.size) / RATE
    out += 0.12 * np.sin(2 * np.pi * 55 * t) * np.minimum(1, t / 0.4) * np.minimum(1, (seconds - t) / 0.6)
    for start, freq in notes:
        note = _tone(freq, seconds - start, 0.5)
        begin = int(start * RATE)
        out[begin : begin + note.size] += 0.5 * note
    fade = np.minimum(1, (seconds - t) / 0.3)
    return out * fade / np.max(np.abs(out)) * 0.7


def export_mp3(samples: np.ndarray, path: Path) -> None:
    import imageio_ffmpeg
    from pydub import AudioSegment

    AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()
    pcm = (samples * 32767).astype("<i2").tobytes()
    AudioSegment(pcm, sample_width=2, frame_rate=RATE, channels=1).export(path, format="mp3", bitrate="96k")


if __name__ == "__main__":
    cover(HERE / "cover.jpg")
    # A minor arpeggio rising for the intro, falling for the outro.
    export_mp3(sting([(0.0, 220.0), (0.35, 261.63), (0.7, 329.63), (1.05, 440.0)], 3.2), HERE / "intro.mp3")
    export_mp3(sting([(0.0, 440.0), (0.35, 329.63), (0.7, 261.63), (1.05, 220.0)], 3.0), HERE / "outro.mp3")
    for name in ("cover.jpg", "intro.mp3", "outro.mp3"):
        print(name, (HERE / name).stat().st_size, "bytes")
