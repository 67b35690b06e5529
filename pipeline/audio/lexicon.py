"""The pronunciation lexicon: whole-word, case-aware respellings for the narration only."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipeline.audio.spoken import Change
from pipeline.errors import InputError
from pipeline.source.files import key_line, read_user_text, toml_problem


@dataclass(frozen=True)
class Lexicon:
    entries: tuple[tuple[str, str], ...] = ()

    def apply(self, text: str, notes: list[Change] | None = None) -> str:
        if not self.entries:
            return text

        def replace(match: re.Match) -> str:
            said = self._replace(match)
            if notes is not None:
                notes.append(Change("lexicon", match.group(0), said))
            return said

        return self._pattern().sub(replace, text)

    def _pattern(self) -> re.Pattern:
        cached = self.__dict__.get("_compiled")
        if cached is None:
            ordered = sorted(self.entries, key=lambda e: -len(e[0]))
            alternatives = [(f"(?i:{re.escape(w)})" if w == w.lower() else re.escape(w)) for w, _ in ordered]
            cached = re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])")
            object.__setattr__(self, "_compiled", cached)
            object.__setattr__(self, "_lookup", {w: s for w, s in self.entries})
            object.__setattr__(self, "_lower", {w: s for w, s in self.entries if w == w.lower()})
        return cached

    def _replace(self, match: re.Match) -> str:
        word = match.group(0)
        return self.__dict__["_lookup"].get(word) or self.__dict__["_lower"][word.lower()]


MAX_LEXICON_BYTES = 1024 * 1024


def load_lexicon(path: Path) -> Lexicon:
    if not path.exists() and not path.is_symlink():
        raise InputError.at(path, "lexicon file not found (set [voice] lexicon, or create it)")
    text = read_user_text(path, "lexicon", MAX_LEXICON_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = toml_problem(exc)
        raise InputError.at(path, f"not a valid lexicon line: {message}", line) from None
    entries = []
    for word, said in data.items():
        line = key_line(text, word)
        if not isinstance(said, str) or not said.strip():
            raise InputError.at(path, f"'{word}' must map to a respelling or [[ phonemes ]] in quotes", line)
        if said.count("[[") != said.count("]]"):
            raise InputError.at(path, f"'{word}': unbalanced [[ ]] around phonemes", line)
        if not word.strip():
            raise InputError.at(path, "an entry has an empty word", line)
        entries.append((word.strip(), said.strip()))
    return Lexicon(tuple(entries))
