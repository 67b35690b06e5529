"""The narration script: what a person would read aloud, as chunks with planned pauses.

Each chunk keeps the sentence as written (for the transcript) and as spoken (normalised,
with the lexicon applied) for the voice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.audio.lexicon import Lexicon
from pipeline.audio.spoken import date_words, normalize
from pipeline.config import ShowConfig
from pipeline.issue import Block, Issue
from pipeline.textutil import split_sentences

SENTENCE_PAUSE = 0.35
PARAGRAPH_PAUSE = 0.8
SECTION_PAUSE = 1.5
MAX_CHUNK_CHARS = 320
# At about 15 characters a second, 3 hours of speech is ~160,000 characters of script.
MAX_SCRIPT_CHARS = 160_000


@dataclass(frozen=True)
class Chunk:
    shown: str            # as written: the transcript cue
    spoken: str           # what the voice is given
    pause_after: float    # seconds of silence after it
    chapter: int          # index into Narration.chapters


@dataclass(frozen=True)
class Narration:
    chunks: tuple[Chunk, ...]
    chapters: tuple[str, ...]

    @property
    def characters(self) -> int:
        return sum(len(c.spoken) for c in self.chunks)


def _split_long(sentence: str) -> list[str]:
    """Very long sentences are split at clause breaks, then at word boundaries."""
    if len(sentence) <= MAX_CHUNK_CHARS:
        return [sentence]
    parts, current = [], ""
    for piece in re.split(r"(?<=[,;:—–])\s+", sentence):
        while len(piece) > MAX_CHUNK_CHARS:
            cut = piece.rfind(" ", 0, MAX_CHUNK_CHARS)
            cut = cut if cut > 0 else MAX_CHUNK_CHARS
            if current:
                parts.append(current)
                current = ""
            parts.append(piece[:cut])
            piece = piece[cut:].strip()
        if current and len(current) + len(piece) + 1 > MAX_CHUNK_CHARS:
            parts.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    if current:
        parts.append(current)
    return parts


def _block_sentences(block: Block) -> list[str]:
    if block.kind == "code":
        return []                                  # code is not read aloud
    text = "".join(s.text for s in block.spans if s.kind != "image" or block.kind == "image")
    if block.kind == "image":
        text = f"Image: {text}." if text.strip() else ""
    text = " ".join(text.split())
    if block.kind in ("list_item", "table_row") and text and text[-1] not in ".!?":
        text += "."                                # list items are read as sentences
    return [part for sentence in split_sentences(text) for part in _split_long(sentence)]


def _opening(issue: Issue, show: ShowConfig) -> list[str]:
    lines = [f"{show.title}.", f"{issue.title}."]
    author = issue.byline(show.author)
    if author != show.title:                       # not "Screen Reviews. … A review by Screen Reviews."
        lines.append(f"A review by {author}.")
    lines.append(f"{issue.date:%B} {issue.date.day}, {issue.date.year}.")
    return lines


def build_narration(issue: Issue, show: ShowConfig, lexicon: Lexicon) -> Narration:
    chunks: list[Chunk] = []
    chapters: list[str] = []

    def say(shown: str, pause: float, chapter: int, spoken: str | None = None) -> None:
        words = lexicon.apply(normalize(spoken if spoken is not None else shown))
        if re.search(r"[A-Za-z]", words):          # nothing to say (emoji, other scripts) → skip
            chunks.append(Chunk(shown, words, pause, chapter))

    chapters.append(issue.title)
    opening = _opening(issue, show)
    for index, line in enumerate(opening):
        spoken = f"{date_words(issue.date)}." if index == len(opening) - 1 else None
        say(line, SECTION_PAUSE if index == len(opening) - 1 else SENTENCE_PAUSE, 0, spoken)
    has_text = False
    for section in issue.sections:
        if section.title:                          # every heading starts a chapter
            chapters.append(section.title)
            say(section.title, PARAGRAPH_PAUSE, len(chapters) - 1)
        for block in section.blocks:
            sentences = _block_sentences(block)
            before = len(chunks)
            for number, sentence in enumerate(sentences):
                last = number == len(sentences) - 1
                say(sentence, PARAGRAPH_PAUSE if last else SENTENCE_PAUSE, len(chapters) - 1)
            has_text = has_text or (block.kind != "image" and len(chunks) > before)
        if chunks and chunks[-1].pause_after < SECTION_PAUSE:
            chunks[-1] = Chunk(chunks[-1].shown, chunks[-1].spoken, SECTION_PAUSE, chunks[-1].chapter)
    if not has_text:
        return Narration((), tuple(chapters))            # only images, emoji or other scripts
    closing = f"That was {issue.title}, from {show.title}. Thanks for listening."
    say(closing, 0.0, len(chapters) - 1)
    return Narration(tuple(chunks), tuple(chapters))
