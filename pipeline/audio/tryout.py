"""Tools for the writer: the narration script exactly as the voice gets it, and a word or
phrase spoken through the same path, so a lexicon entry can be tuned by ear."""

from __future__ import annotations

from pathlib import Path

from pipeline.audio.lexicon import load_lexicon
from pipeline.audio.narration import Narration, build_narration, spoken_form
from pipeline.audio.spoken import Change
from pipeline.audio.tts import SpeechCache, Synthesis, chunk_key, resolve_voice, write_wav
from pipeline.config import Config
from pipeline.report import Reporter
from pipeline.source.document import Issue


def narration_of(issue: Issue, config: Config) -> Narration:
    return build_narration(issue, config.show, load_lexicon(config.voice.lexicon))


def script_text(narration: Narration) -> str:
    """Chapters, then each chunk: the text as written, what the voice is given where that
    differs, each substitution, and the pause after it."""
    lines: list[str] = []
    chapter = -1
    for number, chunk in enumerate(narration.chunks, 1):
        if chunk.chapter != chapter:
            chapter = chunk.chapter
            lines += [""] if lines else []
            lines.append(f"## chapter {chapter + 1}: {narration.chapters[chapter]}")
        lines.append(f"{number:>4}  {chunk.shown}")
        if chunk.spoken != chunk.shown:
            lines.append(f"      says   {chunk.spoken}")
        for change in chunk.changes:
            lines.append(f"      {change.kind:<7} {change.written} → {change.said or '(skipped)'}")
        lines.append(f"      pause  {chunk.pause_after:.2f} s")
    seconds = narration.characters / 15
    lines += [
        "",
        f"{len(narration.chunks)} chunks, {len(narration.chapters)} chapters, "
        f"{narration.characters} characters (about {seconds / 60:.0f} min of speech)",
    ]
    return "\n".join(lines)


def script_json(narration: Narration) -> dict:
    return {
        "chapters": list(narration.chapters),
        "characters": narration.characters,
        "chunks": [
            {
                "shown": c.shown,
                "spoken": c.spoken,
                "pause_after": c.pause_after,
                "chapter": c.chapter,
                "changes": [vars(change) for change in c.changes],
            }
            for c in narration.chunks
        ],
    }


def say(
    text: str, config: Config, out: Path, cache_dir: Path, names: tuple[str, ...] = ()
) -> tuple[str, list[Change], float]:
    """Speak a phrase to a WAV file with the show's voice (the speech cache is shared with
    `publish issue`). Returns what the voice was given, the substitutions and the seconds."""
    spoken, changes = spoken_form(text, load_lexicon(config.voice.lexicon), names)
    voice = resolve_voice(config.voice.model, cache_dir)
    cache = SpeechCache(cache_dir)
    key = chunk_key(voice, spoken)
    if not cache.has(key):
        Synthesis(voice, [(key, spoken)], cache, Reporter(quiet=True).progress("say", 1)).join()
    samples = cache.read(key)
    write_wav(out, samples, voice.sample_rate)
    return spoken, changes, len(samples) / voice.sample_rate
