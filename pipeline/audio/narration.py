"""The narration script: what a person would read aloud, as chunks with planned pauses.

Each chunk keeps the sentence as written (for the transcript) and as spoken (normalised,
with the lexicon applied) for the voice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from pipeline.audio.lexicon import Lexicon
from pipeline.audio.names import respell_names
from pipeline.audio.spoken import Change, date_words, normalize
from pipeline.config import ShowConfig
from pipeline.source.document import Block, Issue
from pipeline.source.rawhtml import is_embed_link
from pipeline.textutil import split_sentences
from pipeline.timefmt import long_date

SENTENCE_PAUSE = 0.35
PARAGRAPH_PAUSE = 0.8
SECTION_PAUSE = 1.5
MAX_CHUNK_CHARS = 320
MAX_SPOKEN_CHARS = 2 * MAX_CHUNK_CHARS  # what the voice is handed at most (piper: ~0.6 GB at 640)
# At about 15 characters a second, 3 hours of speech is ~160,000 characters of script.
MAX_SCRIPT_CHARS = 160_000
# A two-column table headed by these (or by nothing) is a list of labels and values.
GENERIC_HEADERS = frozenset(
    {
        "",
        "category",
        "value",
        "values",
        "field",
        "key",
        "name",
        "item",
        "detail",
        "details",
        "property",
        "attribute",
        "info",
        "information",
        "label",
        "description",
        "data",
        "fact",
        "facts",
        "specification",
        "spec",
    }
)


@dataclass(frozen=True)
class Chunk:
    shown: str  # as written: the transcript cue
    spoken: str  # what the voice is given
    pause_after: float  # seconds of silence after it
    chapter: int  # index into Narration.chapters
    changes: tuple[Change, ...] = ()  # what was substituted for the voice (`publish narration`)


@dataclass(frozen=True)
class Narration:
    chunks: tuple[Chunk, ...]
    chapters: tuple[str, ...]
    unsaid: tuple[str, ...] = ()  # symbols and letters of other scripts the voice is never given

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
    if block.kind == "code" or is_embed_link(block):
        return []  # code is not read aloud, nor the link an embedded player became
    text = "".join(s.text for s in block.spans if s.kind != "image" or block.kind == "image")
    if block.kind == "image":
        text = f"Image: {text}." if text.strip() else ""
    text = " ".join(text.split())
    if text and not _ends_with(text, ".!?:;,"):
        text += "."  # list items and lines broken by <br> are sentences
    return [part for sentence in split_sentences(text) for part in _split_long(sentence)]


def _cells(row: Block) -> list[str]:
    return [" ".join(cell.split()) for cell in "".join(s.text for s in row.spans).split(" | ")]


def _ends_with(text: str, marks: str) -> bool:
    """Whether the text ends in one of `marks`, inside any closing brackets and quotes: "(He is
    not a fan of this.)" is a whole sentence, and a stop after it would be said twice."""
    stripped = text.rstrip(")]}’”\"'»")
    return bool(stripped) and stripped[-1] in marks


def _sentence(text: str) -> str:
    return text if not text or _ends_with(text, ".!?") else text + "."


def _table_sentences(rows: list[Block]) -> list[list[str]]:
    """A table read as a person reads one aloud: a label/value table as "Title: A History of
    Islamic Spain." row by row, its generic header unread; a wider one as "Header: value,
    header: value." per row. Empty cells are passed over."""
    header, body = _cells(rows[0]), rows[1:]
    if not body:
        return [[_sentence(", ".join(cell for cell in header if cell))]]
    spoken = []
    generic = len(header) == 2 and all(h.lower().strip(" :") in GENERIC_HEADERS for h in header)
    for row in body:
        cells = _cells(row)
        if generic:
            label, value = (cells + ["", ""])[:2]
            text = f"{label.rstrip(':')}: {value}" if label and value else label or value
        else:
            named = [(h, v) for h, v in zip(header, cells, strict=False) if v]
            text = ", ".join(
                f"{h[:1].lower() + h[1:] if i and h[1:2].islower() else h}: {v}" if h else v
                for i, (h, v) in enumerate(named)
            )
        spoken.append([_sentence(text)] if text else [])
    return [[]] + spoken


def _readings(blocks: tuple[Block, ...]) -> Iterator[tuple[Block, list[str]]]:
    """Each block with the sentences it is read as; a table's rows are read together."""
    index = 0
    while index < len(blocks):
        if blocks[index].kind != "table_row":
            yield blocks[index], _block_sentences(blocks[index])
            index += 1
            continue
        end = index
        while end < len(blocks) and blocks[end].kind == "table_row":
            end += 1
        rows = list(blocks[index:end])
        yield from zip(rows, _table_sentences(rows), strict=True)
        index = end


def _opening(issue: Issue, show: ShowConfig) -> list[str]:
    lines = [f"{show.title}.", f"{issue.title}."]
    author = issue.byline(show.author)
    if author != show.title:  # not "Screen Reviews. … A review by Screen Reviews."
        lines.append(f"A review by {author}.")
    lines.append(f"{long_date(issue.date)}.")
    return lines


def spoken_form(text: str, lexicon: Lexicon, names: tuple[str, ...] = ()) -> tuple[str, list[Change]]:
    """What the voice is given for a written sentence or phrase (normalised, the lexicon, then the
    name rules), and each substitution made; `publish say` uses it too."""
    notes: list[Change] = []
    words = lexicon.apply(normalize(text, notes), notes)
    words, found = respell_names(words, names)
    return words, notes + [Change(n.rule, n.written, f"[[ {n.said} ]]") for n in found]


def build_narration(issue: Issue, show: ShowConfig, lexicon: Lexicon) -> Narration:
    chunks: list[Chunk] = []
    chapters: list[str] = []
    unsaid: dict[str, None] = {}

    def bounded(shown: str, pause: float, chapter: int, spoken: str | None) -> None:
        """One chunk, or more where the spoken form outgrows MAX_SPOKEN_CHARS (numbers said as
        words grow): the voice's memory grows with what it is handed, whatever the block."""
        words, notes = spoken_form(spoken if spoken is not None else shown, lexicon, issue.names)
        unsaid.update(dict.fromkeys(n.written for n in notes if n.kind == "dropped"))
        if len(words) > MAX_SPOKEN_CHARS and spoken is None and " " in shown.strip():
            middle = shown.rfind(" ", 0, len(shown) // 2 + 1)
            middle = middle if middle > 0 else shown.find(" ", len(shown) // 2)
            bounded(shown[:middle].strip(), SENTENCE_PAUSE, chapter, None)
            bounded(shown[middle:].strip(), pause, chapter, None)
            return
        if len(words) > MAX_SPOKEN_CHARS:  # one enormous word: said in part
            words = words[:MAX_SPOKEN_CHARS].rsplit(" ", 1)[0]
        if re.search(r"[A-Za-z]", words):  # nothing to say (emoji, other scripts) → skip
            chunks.append(Chunk(shown, words, pause, chapter, tuple(notes)))

    def say(shown: str, pause: float, chapter: int, spoken: str | None = None) -> None:
        """Every kind of text (headings, table rows, the opening) in pieces the voice can take."""
        pieces = _split_long(shown) if spoken is None else [shown]
        for index, piece in enumerate(pieces):
            bounded(piece, pause if index == len(pieces) - 1 else SENTENCE_PAUSE, chapter, spoken)

    chapters.append(issue.title)
    opening = _opening(issue, show)
    for index, line in enumerate(opening):
        spoken = f"{date_words(issue.date)}." if index == len(opening) - 1 else None
        say(line, SECTION_PAUSE if index == len(opening) - 1 else SENTENCE_PAUSE, 0, spoken)
    has_text = False
    for section in issue.sections:
        if section.title:  # every heading starts a chapter
            chapters.append(section.title)
            say(section.title, PARAGRAPH_PAUSE, len(chapters) - 1)
        for block, sentences in _readings(section.blocks):
            before = len(chunks)
            for number, sentence in enumerate(sentences):
                last = number == len(sentences) - 1
                say(sentence, PARAGRAPH_PAUSE if last else SENTENCE_PAUSE, len(chapters) - 1)
            has_text = has_text or (block.kind != "image" and len(chunks) > before)
        if chunks and chunks[-1].pause_after < SECTION_PAUSE:
            chunks[-1] = replace(chunks[-1], pause_after=SECTION_PAUSE)
    if not has_text:
        return Narration((), tuple(chapters), tuple(unsaid))  # only images, emoji or other scripts
    closing = f"That was {issue.title}, from {show.title}. Thanks for listening."
    say(closing, 0.0, len(chapters) - 1)
    return Narration(tuple(chunks), tuple(chapters), tuple(unsaid))
