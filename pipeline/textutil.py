"""Small text helpers shared by several stages."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

# A sentence ends at . ! ? (optionally followed by closing quotes or brackets) before
# whitespace and an opening capital, quote, bracket or digit. Abbreviations that
# commonly precede a capital are protected so "Dr. Lee" stays one sentence.
_ABBREVIATIONS = (
    "Dr",
    "Mr",
    "Mrs",
    "Ms",
    "Prof",
    "St",
    "Jr",
    "Sr",
    "vs",
    "No",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
    "e.g",
    "i.e",
    "etc",
    "Mt",
    "Gen",
    "Col",
    "Lt",
    "Sgt",
    "Capt",
    "Rev",
    "Vol",
    "vol",
    "ca",
    "approx",
    "al",
    "Fig",
    "U.S",
    "U.K",
    "U.N",
    "E.U",
    "Ph.D",
    "Ft",
    "Gov",
    "Sen",
    "Rep",
)
# An initial (W. Montgomery Watt, J. R. R. Tolkien) never ends a sentence; "I." may.
_INITIAL = "[A-HJ-Z]"
_SENTENCE_END = re.compile(r"(?<=[.!?])([”\"’')\]]*)\s+(?=[“\"‘'(\[A-Z0-9#])")
# Tested against the end of a candidate sentence only: rescanning the whole growing sentence
# after each abbreviation made "Dr. A " x 10,000 quadratic (14 s).
_ABBREV_END = re.compile(r"(?<![^\s(.])(?:" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + "|" + _INITIAL + r")\.$")
_LONGEST_ABBREVIATION = max(len(a) for a in _ABBREVIATIONS) + 2


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping closing quotes with their sentence."""
    text = " ".join(text.split())
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start()
        if _ABBREV_END.search(text, max(start, end - _LONGEST_ABBREVIATION), end):
            continue
        sentences.append((text[start:end] + match.group(1)).strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# Characters XML cannot hold and MJML chokes on: C0 controls but tab, LF and CR; DEL; lone
# surrogates; the noncharacters U+FFFE and U+FFFF. Stripped from text bound for any output.
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# In a one-line value (a config string, a mail header) every C0 control and DEL is foreign.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def xml_safe(text: str) -> str:
    return NOT_XML.sub("", text)


def sha256_of(data: bytes | Path) -> str:
    """SHA-256 of bytes, or of a file read in 1 MB pieces."""
    digest = hashlib.sha256()
    if isinstance(data, Path):
        with data.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(data)
    return digest.hexdigest()


# The shapes of names publish writes: a slug (an episode's folder), a UUID (a show's or a
# list's id), a key prefix (folders, each ending in '/').
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PREFIX_PATTERN = r"(?:[a-z0-9][a-z0-9._-]*/)*"


def is_web_url(value: str) -> bool:
    """An address a reader's browser or podcast app can open: http(s), nothing else."""
    return value.startswith(("http://", "https://"))


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")


# Apple Podcasts' limit for a description, in bytes: the feed's tightest.
FEED_DESCRIPTION_LIMIT = 4000


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—– ") + "…"


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` when the block ends, removed
    if it fails, so an interrupted run never leaves half a file. The name carries the process
    id: two runs sharing a cache or build folder never write into one file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path
