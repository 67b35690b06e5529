"""Whisper base as a listener who has read the review: the episode in windows of whole cues
(about 25 s), each transcribed on its own and primed with the review's names. Run with the
Python that has faster-whisper (see ../shared/tools/README.md); bench/run --listen scores
the text it writes with asr_wer.py, beside the unprimed figures.

    python bench/primed_listener.py EPISODE.mp3 transcript.vtt OUT.txt [NAMES.txt]

Without NAMES it is the same windows unprimed, so the two differ only by the priming. Primed
over the whole episode instead (faster-whisper's hotwords), Whisper base falls into reciting
the list of names; a window at a time it does not.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent.parent / "shared" / "tools" / "asr_wer.py"
WINDOW_S = 25.0
RATE = 16000


def seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def windows(vtt: str) -> list[tuple[float, float]]:
    """Runs of whole cues of about WINDOW_S seconds, so no word is cut at a window's edge."""
    found, start, end = [], None, None
    for a, b in ((seconds(a), seconds(b)) for a, b in re.findall(r"([\d:.]+) --> ([\d:.]+)", vtt)):
        if start is None:
            start = a
        elif b - start > WINDOW_S:
            found.append((start, end))
            start = a
        end = b
    return found + ([(start, end)] if start is not None else [])


def main() -> None:
    audio_path, vtt_path, out = sys.argv[1:4]
    names = [line.strip() for line in open(sys.argv[4], encoding="utf-8") if line.strip()] if len(sys.argv) > 4 else []
    spec = importlib.util.spec_from_file_location("asr_wer", TOOL)
    asr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(asr)
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(asr.resolve_model("base")[0]), device="cpu", compute_type="int8", cpu_threads=2, local_files_only=True
    )
    audio = asr.decode_audio(audio_path)
    prompt = f"Names in this review: {', '.join(names)}." if names else None
    heard = []
    for start, end in windows(Path(vtt_path).read_text(encoding="utf-8")):
        clip = audio[int(max(0.0, start - 0.2) * RATE) : int((end + 0.3) * RATE)]
        segments, _ = model.transcribe(
            clip, language="en", beam_size=5, condition_on_previous_text=False, vad_filter=False, initial_prompt=prompt
        )
        heard.append(" ".join(segment.text.strip() for segment in segments))
    Path(out).write_text(" ".join(heard) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
