"""Text normalisation for speech: numbers, dates, money, symbols and abbreviations written
out the way a reader would say them."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MONTHS = {
    "january": "January",
    "february": "February",
    "march": "March",
    "april": "April",
    "may": "May",
    "june": "June",
    "july": "July",
    "august": "August",
    "september": "September",
    "october": "October",
    "november": "November",
    "december": "December",
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "sept": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# Identifiers a listener needs only when they are not labelled: the label and its code are skipped.
CODE_LABELS = ("ASIN", "ISBN-13", "ISBN-10", "ISBN", "EAN", "UPC", "SKU", "DOI", "ISSN", "OCLC", "LCCN")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ABBREVIATIONS = {
    "Dr.": "Doctor",
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Ms.": "Miz",
    "Prof.": "Professor",
    "St.": "Saint",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "vs.": "versus",
    "vs": "versus",
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "approx.": "approximately",
    "No.": "number",
    "ft.": "feet",
    "min.": "minutes",
    "Mt.": "Mount",
}
CURRENCY = {
    "$": ("dollar", "cent"),
    "£": ("pound", "penny"),
    "€": ("euro", "cent"),
    "¥": ("yen", None),
    "₩": ("won", None),
}
KEEP_CAPS = {"I", "A", "OK", "TV"}
# Words the voice's espeak rules misread, respelled ("bullied" → "bˈʊlɪd", heard as "bullet";
# "poor" → "pˈʊɹ", which this voice says as "purr": heard "purred" twice in the example).
VOICE_FIXES = {
    "bullied": "bulleed",
    "bellied": "belleed",
    "tallied": "talleed",
    "poor": "pore",
    "poorer": "porer",
    "poorest": "porest",
    "poorly": "porely",
}


def cardinal(n: int) -> str:
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f"-{ONES[ones]}" if ones else "")
    for value, name in SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            words = f"{cardinal(high)} {name}"
            if rest:
                words += (" and " if rest < 100 and value == 100 else " ") + cardinal(rest)
            return words
    raise AssertionError(n)


def ordinal(n: int) -> str:
    words = cardinal(n)
    head, sep, last = words.rpartition("-" if "-" in words.split(" ")[-1] else " ")
    if last in ORDINAL_WORDS:
        last = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}" if sep else last


def year(n: int) -> str:
    if 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + ONES[low] if low < 10 else cardinal(low)}"


MAX_DIGITS = 15  # beyond, a number is read digit by digit, as a person reads a long code


def _whole(digits: str) -> str:
    if len(digits.lstrip("0")) > MAX_DIGITS:
        return " ".join(DIGIT_WORDS[int(d)] for d in digits)
    return cardinal(int(digits or 0))


def _number(text: str) -> str:
    """A written number (commas, decimals) as words."""
    text = text.replace(",", "")
    if "." in text:
        whole, frac = text.split(".", 1)
        return f"{_whole(whole)} point {' '.join(ONES[int(d)] for d in frac)}"
    return _whole(text)


def _money(match: re.Match) -> str:
    symbol, amount, scale = match.group(1), match.group(2).replace(",", ""), match.group(3)
    unit, sub = CURRENCY[symbol]
    if scale:
        return f"{_number(amount)} {scale} {unit}s"
    whole, _, cents = amount.partition(".")
    words = f"{_whole(whole)} {unit}{'' if whole.lstrip('0') == '1' or unit in ('yen', 'won') else 's'}"
    if cents and sub and int(cents.ljust(2, "0")[:2]):
        value = int(cents.ljust(2, "0")[:2])
        plural = "pence" if sub == "penny" else sub + "s"
        words += f" and {cardinal(value)} {sub if value == 1 else plural}"
    return words


def _time(match: re.Match) -> str:
    hour, minute, meridiem = int(match.group(1)), int(match.group(2)), match.group(3)
    spoken = cardinal(hour) + (
        " o'clock"
        if minute == 0 and not meridiem
        else ""
        if minute == 0
        else f" oh {ONES[minute]}"
        if minute < 10
        else f" {cardinal(minute)}"
    )
    if meridiem:
        spoken += " " + " ".join(meridiem.replace(".", "").lower())
        if meridiem.endswith("."):
            spoken += "."  # "p.m." may also end the sentence
    return spoken


def _caps(match: re.Match) -> str:
    word = match.group(0)
    if word in KEEP_CAPS:
        return "T V" if word == "TV" else word
    if len(word) <= 3 or not re.search(r"[AEIOUY]", word):
        return " ".join(word)  # an initialism: F B I
    return word.lower()  # an acronym said as a word, or shouting


@dataclass(frozen=True)
class Change:
    """One substitution made for the voice, for `publish narration` to show."""

    kind: str  # number, date, money, time, rating, abbreviation, letters, code, lexicon, ko, ja, dropped
    written: str
    said: str


def _sub(
    pattern: str,
    repl: str | Callable[[re.Match], str],
    text: str,
    notes: list[Change] | None,
    kind: str,
    flags: int = 0,
) -> str:
    """re.sub that notes what it changed."""

    def replace(match: re.Match) -> str:
        said = repl(match) if callable(repl) else match.expand(repl)
        if notes is not None and said != match.group(0):
            notes.append(Change(kind, match.group(0), said))
        return said

    return re.sub(pattern, replace, text, flags=flags)


def spell_code(code: str) -> str:
    """'B074VCQ3WK' → 'B zero seven four, V C Q three, W K': characters in groups of four, or
    in the groups its hyphens make (978-0-14-303943-3)."""
    groups = code.split("-") if "-" in code else [code[i : i + 4] for i in range(0, len(code), 4)]
    return ", ".join(
        " ".join(DIGIT_WORDS[int(c)] if c.isdigit() else c.upper() for c in group) for group in groups if group
    )


def _keep_case(written: str, said: str) -> str:
    return said[:1].upper() + said[1:] if written[:1].isupper() else said


def _dates(text: str, notes: list[Change] | None) -> str:
    """'April 23, 2024', 'Apr. 23rd' and '23 April 2024' with ordinals; the year follows as a year."""
    text = _sub(
        rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!:)",
        lambda m: f"{MONTHS[m.group(1).lower()]} {ordinal(int(m.group(2)))}" if m.group(1)[0].isupper() else m.group(0),
        text,
        notes,
        "date",
        re.I,
    )
    return _sub(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\b\.?",
        lambda m: (
            f"the {ordinal(int(m.group(1)))} of {MONTHS[m.group(2).lower()]}" if m.group(2)[0].isupper() else m.group(0)
        ),
        text,
        notes,
        "date",
        re.I,
    )


def _codes(text: str, notes: list[Change] | None) -> str:
    """Labelled identifiers (ISBN 978-…, ASIN B07…) are skipped; other codes that mix capitals
    and digits are spelled (B074VCQ3WK, CRD-2231, MP3, 4K, R2-D2), but not COVID-19."""
    labels = "|".join(re.escape(label) for label in CODE_LABELS)
    text = _sub(rf"\(?\b(?:{labels})\b:?\s*[0-9A-Z][0-9A-Z-]{{5,}}\b\)?", "", text, notes, "code")
    return _sub(
        r"(?<![\w-])(?=[A-Z0-9-]*[A-Z])(?=[A-Z0-9-]*\d)[A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])",
        lambda m: m.group(0) if re.fullmatch(r"[A-Z]{4,}-\d{1,3}", m.group(0)) else spell_code(m.group(0)),
        text,
        notes,
        "code",
    )


_STARS = re.compile(r"(★{1,10})(½?)(☆{0,10})")
_SCORE = re.compile(r"(?<![\d/.])(\d{1,2}(?:\.\d)?)\s?/\s?(5|10)(?![\d/]|\.\d)")


def _stars(match: re.Match) -> str:
    """★★★½ → three and a half stars; ★★★★☆ → four stars out of five: a rating as it is read.
    The scale is said where the run shows it: empty stars, or all five filled."""
    filled, half, empty = len(match.group(1)), bool(match.group(2)), len(match.group(3))
    count = cardinal(filled) + (" and a half stars" if half else " star" if filled == 1 else " stars")
    scale = filled + half + empty
    return f"{count} out of {cardinal(scale)}" if empty or scale == 5 else count


def _score(match: re.Match) -> str:
    return f"{_number(match.group(1))} out of {cardinal(int(match.group(2)))}"


def normalize(text: str, notes: list[Change] | None = None) -> str:
    """Written English → what the voice should say; `notes` collects what was changed."""
    text = _sub(_STARS.pattern, _stars, text, notes, "rating")  # before NFKC makes ½ "1⁄2"
    text = unicodedata.normalize("NFKC", text)
    text = _sub(_SCORE.pattern, _score, text, notes, "rating")
    text = re.sub(r"(\w)[’‘](\w)", r"\1'\2", text)  # apostrophes stay
    text = re.sub(r"[“”„«»\"‘’]", "", text)  # quotes are heard, not said
    text = re.sub(r"\s*[—–]\s*|\s+-\s+", ", ", text)  # dashes become pauses
    text = re.sub(r"\s*\(\s*", ", ", text)
    text = re.sub(r"\s*\)\s*(?=[.,;:!?])|(?<=[.,;:!?])\s*\)", "", text)
    text = re.sub(r"\s*\)\s*", ", ", text)
    text = re.sub(r"\[[^\[\]]{0,500}\]\([^()\s]{0,2000}\)", "", text)  # bounded: no backtracking
    text = re.sub(r"https?://\S+", "", text)
    text = _codes(text, notes)
    text = _sub(
        r"\b(?:" + "|".join(VOICE_FIXES) + r")\b",
        lambda m: _keep_case(m.group(0), VOICE_FIXES[m.group(0).lower()]),
        text,
        notes,
        "respell",
        re.I,
    )
    for written, said in ABBREVIATIONS.items():
        text = _sub(rf"(?<![\w.]){re.escape(written)}(?=\s|$|,)", said, text, notes, "abbreviation")
    text = _dates(text, notes)
    text = _sub(
        r"([$£€¥₩])\s?(\d[\d,]*(?:\.\d+)?)(?:\s?(million|billion|thousand|trillion))?", _money, text, notes, "money"
    )
    text = _sub(r"\b(\d{1,2}):(\d{2})\s?([ap]\.?m\.?)?(?![\w.])", _time, text, notes, "time", re.I)
    text = _sub(r"(\d+(?:\.\d+)?)\s?%", lambda m: f"{_number(m.group(1))} percent", text, notes, "number")
    text = _sub(r"\b(\d{1,15})(st|nd|rd|th)\b", lambda m: ordinal(int(m.group(1))), text, notes, "number")
    text = _sub(
        r"\b(1[1-9]\d\d|20\d\d)s\b",
        lambda m: (
            year(int(m.group(1))).replace("y", "ies")
            if year(int(m.group(1))).endswith("ty")
            else year(int(m.group(1))) + "s"
        ),
        text,
        notes,
        "number",
    )
    text = _sub(r"(?<![\d.,])(1[1-9]\d\d|20\d\d)(?!\d|[.,]\d)", lambda m: year(int(m.group(1))), text, notes, "number")
    text = _sub(
        r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\d.])\d+(?:\.\d+)?",
        lambda m: _number(m.group(0)),
        text,
        notes,
        "number",
    )
    text = re.sub(r"#(\w)", r"\1", text)  # #Alive → Alive
    text = text.replace("&", " and ").replace("+", " plus ").replace("@", " at ")
    text = re.sub(r"\s>\s(?=\w)", " greater than ", text)
    text = re.sub(r"\s<\s(?=\w)", " less than ", text)
    text = re.sub(r"(?<=\w)/(?=\w)", " ", text)  # horror/drama → horror drama
    text = _sub(r"\b[A-Z]{2,}\b", _caps, text, notes, "letters")
    if notes is not None:
        notes += [Change("dropped", part, "") for part in _unsaid_parts(text)]
    text = "".join(ch for ch in text if _speakable(ch))
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([!?])\.+|\.+([!?])", r"\1\2", text)  # "(really!)." → "really!"
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"([.!?])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]\s*([.!?])", r"\1", text)
    text = re.sub(r"^[\s,;:]+", "", text)
    return " ".join(text.split())


def _speakable(ch: str) -> bool:
    """Latin letters, digits, spaces and punctuation the voice handles; not emoji or other scripts."""
    if ch.isspace() or ch in ".,;:!?'-[]ˈˌː":
        return True
    category = unicodedata.category(ch)
    if category.startswith(("L", "M")):
        try:
            name = unicodedata.name(ch)
            return "LATIN" in name or "IPA" in name or "MODIFIER" in name
        except ValueError:
            return False
    return category.startswith("N")


def _unsaid(ch: str) -> bool:
    """A character the voice is not given that a listener would miss: a symbol (→, ✓, ×, ♥,
    an emoji) or a letter of another script; not punctuation, nor a separator (|, ^, `) the
    ear does without."""
    return not _speakable(ch) and ch not in "|^`" and unicodedata.category(ch).startswith(("S", "L", "M"))


def _unsaid_parts(text: str) -> list[str]:
    """What `_unsaid` finds, once each: symbols one by one, other scripts a word at a time."""
    parts, word = [], ""
    for ch in text + " ":
        if _unsaid(ch) and unicodedata.category(ch).startswith(("L", "M")):
            word += ch
            continue
        if word:
            parts.append(word)
            word = ""
        if _unsaid(ch):
            parts.append(ch)
    return list(dict.fromkeys(parts))


def date_words(day: dt.date) -> str:
    return f"{day:%B} {ordinal(day.day)}, {year(day.year)}"
