"""Names by rule: romanised Korean and Japanese names said as a careful English-speaking
presenter says them, as raw espeak phonemes for piper (`[[ … ]]`), with no lexicon entry.

Both romanisations are regular, so a name's sound follows from its spelling. espeak reads
them as English words ("Cheong-san" → "chəng-san", "Jae-hyeok" → "jee-hyoke"), which is
what listeners heard as "chunky sand". Recognised without help:
  - a capitalised hyphenated name whose every part is one Korean syllable (Cheong-san,
    Gwi-nam, Jae-hyeok, Hee-hoon): English has no such compounds;
  - a Korean surname, or a one-syllable name English never spells so (eo, eu, yeo, hy-,
    gy-, gw-: Seung, Gyun), next to one (Lim Jae-hyeok, Seung-Ri Ha, Ahn Seung Gyun).
With the issue's `names: [ko]`, also single capitalised words of two or more Korean
syllables with such a spelling (Suhyeok, Hyosan); with `names: [ja]`, runs of two or more
capitalised words in Hepburn, maybe joined by a particle (Nezuko Kamado, Kimetsu no Yaiba). Some words that parse are
said as English words by English speakers (Tokyo, Samurai): they are left alone. A lexicon entry
always wins: it is applied first, and what it produced is never touched again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

LANGUAGES = ("ko", "ja")

# Korean (Revised Romanization, McCune–Reischauer as commonly written without breves, and the
# popular spellings of names: oo, ee, u for eo before ng/l as in Sung, Byung, Chul).
KO_INITIALS = {
    "kk": "k",
    "tt": "t",
    "pp": "p",
    "ss": "s",
    "jj": "dʒ",
    "ch": "tʃ",
    "sh": "ʃ",
    "g": "ɡ",
    "k": "k",
    "n": "n",
    "d": "d",
    "t": "t",
    "r": "ɹ",
    "l": "l",
    "m": "m",
    "b": "b",
    "p": "p",
    "s": "s",
    "j": "dʒ",
    "h": "h",
}
KO_VOWELS = {
    "yeo": "jʌ",
    "yae": "jɛ",
    "wae": "wɛ",
    "weo": "wʌ",
    "eo": "ʌ",
    "eu": "ʌ",
    "ae": "ɛ",
    "oe": "wɛ",
    "ui": "wiː",
    "wa": "wɑː",
    "wo": "wʌ",
    "we": "wɛ",
    "wi": "wiː",
    "ya": "jɑː",
    "yo": "joʊ",
    "yu": "juː",
    "ye": "jɛ",
    "yi": "iː",
    "you": "jʌ",
    "yoo": "juː",
    "woo": "wuː",
    "oo": "uː",
    "ee": "iː",
    "a": "ɑː",
    "e": "ɛ",
    "i": "iː",
    "o": "oʊ",
    "u": "uː",
}
KO_FINALS = {"ng": "ŋ", "ck": "k", "k": "k", "n": "n", "l": "l", "m": "m", "p": "p", "t": "t"}
# Family names as romanised in the West; applied only beside a name recognised above.
KO_SURNAMES = frozenset(
    "Ahn An Bae Baek Bang Byun Cha Chae Cheon Cho Choi Chung Do Gang Gil Go Gong Gu Ha Ham Han Heo Hong "
    "Hwang Hyun Im Jang Jeon Jeong Ji Jin Jo Joo Ju Jung Kang Kim Ko Kwak Kwon Lee Lim Min Moon Myung Na Nam "
    "Noh Oh Ok Pyo Ra Ryu Seo Seok Shin Sim Son Song Sung Tak Um Won Woo Yang Yeo Yeom Yi Yoo Yoon Yu Yun".split()
)

# Japanese (Hepburn): a mora is (consonant)(y)vowel, or n before a consonant or at the end.
JA_CONSONANTS = {
    "sh": "ʃ",
    "ch": "tʃ",
    "ts": "ts",
    "j": "dʒ",
    "f": "f",
    "k": "k",
    "g": "ɡ",
    "s": "s",
    "z": "z",
    "t": "t",
    "d": "d",
    "n": "n",
    "h": "h",
    "b": "b",
    "p": "p",
    "m": "m",
    "y": "j",
    "r": "ɾ",
    "w": "w",
}
JA_VOWELS = {
    "aa": "ɑː",
    "ii": "iː",
    "uu": "uː",
    "ee": "ɛː",
    "oo": "oʊ",
    "ou": "oʊ",
    "ā": "ɑː",
    "ī": "iː",
    "ū": "uː",
    "ē": "ɛː",
    "ō": "oʊ",
    "a": "ɑː",
    "i": "iː",
    "u": "uː",
    "e": "ɛ",
    "o": "oʊ",
}
# Words that parse as names but that English speakers say as English words.
ENGLISH_AS_IS = frozenset(
    "Game Japan Sudan Panama Banana Tomato Sonata Obama Anime Sake Karate Karaoke Tsunami Samurai Sushi "
    "Tokyo Osaka Kyoto Judo Emoji Origami Manga Ninja Kimono Honda Toyota Nissan Mazda Subaru Yamaha "
    "Mode Made Side Rise Ride Hide Wide Name Same Time Home Dome Note Tone Zone One None Gone Done "
    "Sana Mina Tina Nina Gina Dana Diana Hana Anna Ina Maria Mario Sara Tara Kara Lana Dina Rita Rosa "
    "Moana Nemo Simba Yoda Kobe Miami Hawaii Hanoi Seoul Busan Korea Korean Pan-Am Ho-Hum "
    "Museum Pigeon Dungeon Surgeon Luncheon Gideon Simeon Napoleon Chameleon Galleon Pantheon Odeon Neon "
    "Leon Eon Neutrino Makeup Oneup Hereon Geum Yeoman Hyena Hyenas Kwanzaa Libya Libyan Wigwam Hyaline "
    "Kyanite Ojibwa Ryukyu".split()
)
# English given names that parse as Hepburn: "Joe Hisaishi" is Joe (not "jo-eh") beside a
# Japanese surname that is still read as one.
ENGLISH_GIVEN = frozenset("Joe Jose Kate Jane June Jude Mike Nate Zane Dane Kane Shane Wade Rose Sue Hope".split())
# Endings English words have and single-word Korean names (Jeon, Hyeon) do not, after a vowel.
ENGLISH_ENDING = re.compile(r"[aeiou][a-z]*(?:geon|deon|leon|theon|seum|neum|eum|eup)$")


def _alternation(table: dict[str, str]) -> str:
    return "|".join(sorted(map(re.escape, table), key=len, reverse=True))


_KO_SYLLABLE = re.compile(
    rf"({_alternation(KO_INITIALS)})?({_alternation(KO_VOWELS)})((?:{_alternation(KO_FINALS)})(?![aeiouwy]))?"
)
_KO_WORD = re.compile(rf"(?:{_KO_SYLLABLE.pattern})+")
_JA_MORA = re.compile(rf"(?:(?:({_alternation(JA_CONSONANTS)})\1?)(y)?)?({_alternation(JA_VOWELS)})|(n)(?![aeiouy])")
_JA_WORD = re.compile(rf"(?:{_JA_MORA.pattern})+")
_RAW = re.compile(r"\[\[[^\[\]]*\]\]")  # no nesting: linear on "[[[[…"
# A part of a name is short; a longer word is never parsed (the syllable patterns are ambiguous,
# "aeae…" or "aaaa…", so a long word that fails at its end could backtrack for minutes).
MAX_PART = 12
_WORD = re.compile(r"(?<![\w\[-])[A-Z][a-zāīūēō]*(?:-[A-Za-z][a-zāīūēō]*)*(?![\w-])")


def korean_phonemes(word: str) -> str | None:
    """'Cheong-san' → 'tʃˈʌŋ sˈɑːn'; None when a part is not Korean syllables. Every syllable
    is stressed alike, as a careful presenter says them, with espeak's marks (stress before
    the vowel) so the voice meets what it was trained on."""
    out: list[str] = []
    for part in word.lower().split("-"):
        if len(part) > MAX_PART or not _KO_WORD.fullmatch(part):
            return None
        for syllable in _KO_SYLLABLE.finditer(part):
            initial, vowel, final = syllable.groups()
            sound = KO_VOWELS[vowel]
            if vowel in ("u", "yu") and final in ("ng", "l"):
                sound = sound.replace("uː", "ʌ")  # Sung, Hyung, Chul: the popular spelling of eo
            if initial == "s" and sound.startswith(("iː", "wiː")):
                initial = "sh"  # 시 is "shee"
            onset = KO_INITIALS[initial] if initial else ""
            glide = sound[0] if sound[0] in "jw" else ""
            out.append(onset + glide + "ˈ" + sound[len(glide) :] + (KO_FINALS[final] if final else ""))
    return " ".join(out)


def japanese_phonemes(word: str) -> str | None:
    """'Kamado' → 'kɑːmˈɑːdoʊ' (stress near the end, as English speakers place it)."""
    text = word.lower()
    if len(text) > MAX_PART or not _JA_WORD.fullmatch(text):
        return None
    morae: list[tuple[str, str]] = []
    for mora in _JA_MORA.finditer(text):
        consonant, glide, vowel, syllabic_n = mora.groups()
        if syllabic_n:
            morae.append(("n", ""))
            continue
        doubled = mora.group(0).startswith(consonant * 2) if consonant else False
        onset = (JA_CONSONANTS[consonant] if consonant else "") + ("j" if glide else "")
        if consonant == "s" and vowel in ("i", "ii", "ī"):
            onset = "ʃ"
        if consonant == "t" and vowel in ("u", "uu", "ū"):
            onset = "ts"
        if consonant == "h" and vowel in ("u", "uu", "ū"):
            onset = "f"
        morae.append((("t" if doubled and consonant in ("t", "ch", "ts") else "") + onset, JA_VOWELS[vowel]))
    vowels = [i for i, (_, sound) in enumerate(morae) if sound]
    if len(vowels) < 2:
        return None
    stressed = vowels[-2]
    return "".join(onset + ("ˈ" if i == stressed else "") + sound for i, (onset, sound) in enumerate(morae))


@dataclass(frozen=True)
class Respelling:
    written: str
    said: str
    rule: str  # "ko" or "ja"


def _marked(word: str) -> bool:
    """A syllable English spelling rarely makes: eo or eu before ng or k (Cheong, Seung, Hyeok), yeo,
    hy-, gy-, ky-, by-, gw-, kw-."""
    return any(
        (vowel in ("eo", "eu", "weo") and final in ("ng", "k"))
        or vowel == "yeo"
        or (initial in ("h", "g", "k", "b") and vowel[0] in "yw")
        for initial, vowel, final in _KO_SYLLABLE.findall(word.lower())
    )


def _korean_looking(word: str, hinted: bool) -> bool:
    """A hyphenated name of one-syllable parts; with the `ko` hint, also a marked single word."""
    parts = word.lower().split("-")
    if not all(len(part) <= MAX_PART and _KO_WORD.fullmatch(part) for part in parts):
        return False
    if len(parts) > 1:
        syllables = [_KO_SYLLABLE.findall(part) for part in parts]
        if any(len(found) != 1 for found in syllables) or len(parts) > 3:
            return False
        frames = {(found[0][0], found[0][2]) for found in syllables}
        return len(frames) == len(parts)  # not Yo-Yo, Hip-Hop, Ping-Pong
    syllables = _KO_SYLLABLE.findall(parts[0])
    return (
        hinted
        and len(syllables) >= 2
        and _marked(word)
        and not ENGLISH_ENDING.search(parts[0])
        and all(initial for initial, _, _ in syllables[1:])
    )  # not A-di-eu, A-le-ut


def respell_names(text: str, hints: Iterable[str] = ()) -> tuple[str, list[Respelling]]:
    """The text with every recognised name as `[[ phonemes ]]`, and what was changed."""
    hints = set(hints)
    inside = [False] * (len(text) + 1)  # already phonemes (the lexicon's): left alone
    for raw in _RAW.finditer(text):
        inside[raw.start() : raw.end()] = [True] * (raw.end() - raw.start())
    words = [m for m in _WORD.finditer(text) if not inside[m.start()]]
    korean = {
        i for i, m in enumerate(words) if _korean_looking(m.group(0), "ko" in hints) and m.group(0) not in ENGLISH_AS_IS
    }

    def beside(i: int) -> bool:
        word = words[i].group(0)
        return (
            (word in KO_SURNAMES or ("-" not in word and _marked(word)))
            and korean_phonemes(word) is not None
            and word not in ENGLISH_AS_IS
        )

    def adjacent(i: int, j: int) -> bool:
        a, b = sorted((i, j))
        return (
            0 <= a and b < len(words) and re.fullmatch(r"[\s,]*", text[words[a].end() : words[b].start()]) is not None
        )

    candidates = {i for i in range(len(words)) if i not in korean and beside(i)}
    korean |= {
        i
        for i in candidates
        if "-" not in words[i].group(0)
        and _marked(words[i].group(0))
        and any(j in candidates and adjacent(i, j) and _marked(words[j].group(0)) for j in (i - 1, i + 1))
    }
    queue = sorted(korean)
    while queue:  # surnames and short names next to a name
        i = queue.pop()
        for j in (i - 1, i + 1):
            if j in candidates and j not in korean and adjacent(i, j):
                korean.add(j)
                queue.append(j)
    japanese: set[int] = set()
    if "ja" in hints:  # a run of two or more: Nezuko Kamado, Kimetsu no Yaiba
        fits = {
            i
            for i, m in enumerate(words)
            if i not in korean
            and "-" not in m.group(0)
            and m.group(0) not in ENGLISH_AS_IS | ENGLISH_GIVEN
            and japanese_phonemes(m.group(0))
        }
        partners = fits | {i for i, m in enumerate(words) if m.group(0) in ENGLISH_GIVEN}
        for i in fits:
            for j in (i - 1, i + 1):
                a, b = sorted((i, j))
                if j in partners and re.fullmatch(
                    r" (?:no |to |ni |wa |ga )?", text[words[a].end() : words[b].start()]
                ):
                    japanese.add(i)
    found: list[tuple[int, int, str, str]] = []
    for i, m in enumerate(words):
        word = m.group(0)
        if i in korean:
            found.append((m.start(), m.end(), korean_phonemes(word) or "", "ko"))
        elif i in japanese:
            found.append((m.start(), m.end(), japanese_phonemes(word) or "", "ja"))
    changes = [Respelling(text[start:end], said, rule) for start, end, said, rule in found]
    out, last = [], 0
    for start, end, said, _ in found:
        out.append(text[last:start] + f"[[ {said} ]]")
        last = end
    out.append(text[last:])
    return close_phoneme_blocks("".join(out)), changes


def close_phoneme_blocks(text: str) -> str:
    """piper phonemizes the text between `[[ ]]` blocks on its own and drops the punctuation
    that follows a block, and with it the pause and the falling tone: "Jin-goo, Oh" ran on as
    "ɡuːˈoʊ". So adjacent blocks become one, and a possessive and the punctuation after a
    block move inside it, with a space after if a word follows."""
    out, last = [], 0
    for run in _RUN.finditer(text):
        phonemes = " ".join(block.strip() for block in _BLOCK.findall(run.group(1)))
        if run.group(2):  # Byeong-chan's: the possessive in phonemes
            phonemes += _possessive(phonemes)
        phonemes += run.group(3)
        out.append(
            text[last : run.start()] + f"[[ {phonemes} ]]" + (" " if text[run.end() : run.end() + 1].isalnum() else "")
        )
        last = run.end()
    out.append(text[last:])
    return "".join(out)


_BLOCK = re.compile(r"\[\[([^\[\]]*)\]\]")
_RUN = re.compile(r"((?:\[\[[^\[\]]*\]\]\s*)*\[\[[^\[\]]*\]\])('s|’s)?([.,;:!?]*)")


def _possessive(phonemes: str) -> str:
    last = phonemes.rstrip("ːˈˌ ")[-1:]
    return "ᵻz" if last in "szʃʒ" or phonemes.endswith(("tʃ", "dʒ")) else "s" if last in "ptkfθ" else "z"
