"""Names by rule (pipeline/audio/names.py): Korean and Japanese names said from their
spelling, and ordinary English never touched."""

import pytest
from english_words import get_english_words_set

from pipeline.audio.lexicon import Lexicon
from pipeline.audio.names import japanese_phonemes, korean_phonemes, respell_names
from pipeline.audio.narration import build_narration
from pipeline.config import ShowConfig
from pipeline.errors import InputError
from pipeline.source.parse import parse_issue


@pytest.mark.parametrize(
    "written,said",
    [
        ("Cheong-san", "tʃˈʌŋ sˈɑːn"),
        ("Byeong-chan", "bjˈʌŋ tʃˈɑːn"),
        ("Gwi-nam", "ɡwˈiː nˈɑːm"),
        ("Su-hyeok", "sˈuː hjˈʌk"),
        ("Jae-hyeok", "dʒˈɛ hjˈʌk"),
        ("Hye-soo", "hjˈɛ sˈuː"),
        ("Kyu-hyung", "kjˈuː hjˈʌŋ"),
        ("Byung-chul", "bjˈʌŋ tʃˈʌl"),
        ("Si-hoon", "ʃˈiː hˈuːn"),
        ("Yoon", "jˈuːn"),
        ("Chan-young", "tʃˈɑːn jˈʌŋ"),
        ("Yi-hyun", "ˈiː hjˈuːn"),
    ],
)
def test_korean_syllables_become_phonemes(written, said):
    assert korean_phonemes(written) == said


@pytest.mark.parametrize(
    "written,said",
    [
        ("Nezuko", "nɛzˈuːkoʊ"),
        ("Kamado", "kɑːmˈɑːdoʊ"),
        ("Kimetsu", "kiːmˈɛtsuː"),
        ("Yaiba", "jɑːˈiːbɑː"),
        ("Shinjuku", "ʃiːndʒˈuːkuː"),
    ],
)
def test_japanese_morae_become_phonemes(written, said):
    assert japanese_phonemes(written) == said


def test_names_in_a_sentence_with_surnames_beside_them():
    text, changes = respell_names("Kang Jin-goo (Oh Hee-hoon) and Ahn Seung Gyun meet Lim Jae-hyeok.")
    assert [c.written for c in changes] == ["Kang", "Jin-goo", "Hee-hoon", "Seung", "Gyun", "Lim", "Jae-hyeok"]
    assert text.startswith("[[ kˈɑːŋ dʒˈiːn ɡˈuː ]] (Oh [[ hˈiː hˈuːn ]]) and Ahn [[ sˈʌŋ ɡjˈuːn ]] meet")
    assert (
        respell_names("In Byeong-chan's lab, Kang Jin-goo, Oh")[0]
        == "In [[ bjˈʌŋ tʃˈɑːnz ]] lab, [[ kˈɑːŋ dʒˈiːn ɡˈuː, ]] Oh"
    )  # piper drops punctuation after [[ ]]
    assert respell_names("Hyosan and Lee Suhyeok.")[1] == []  # single words need the hint
    assert [c.written for c in respell_names("Hyosan and Lee Suhyeok.", ["ko"])[1]] == ["Hyosan", "Lee", "Suhyeok"]
    assert [c.rule for c in respell_names("Nezuko Kamado in Kimetsu no Yaiba.", ["ja"])[1]] == ["ja"] * 4
    assert respell_names("Asia and Japanese and Karaoke.", ["ja"])[1] == []  # a name is two words or more
    # An English given name beside a Japanese surname keeps its English reading.
    assert [c.written for c in respell_names("Joe Hisaishi and Kate Miyazaki score it.", ["ja"])[1]] == [
        "Hisaishi",
        "Miyazaki",
    ]
    assert [c.written for c in respell_names("Joe Hisaishi Mamoru Hosoda", ["ja"])[1]] == [
        "Hisaishi",
        "Mamoru",
        "Hosoda",
    ]


def test_what_the_lexicon_produced_is_left_alone():
    lexicon = Lexicon((("Cheong-san", "chung sahn"), ("Gwi-nam", "[[ ɡwˈiː nˈɑːm ]]")))
    text, changes = respell_names(lexicon.apply("Cheong-san and Gwi-nam and Su-hyeok."))
    assert text == "chung sahn and [[ ɡwˈiː nˈɑːm ]] and [[ sˈuː hjˈʌk. ]]"
    assert [c.written for c in changes] == ["Su-hyeok"]


@pytest.fixture(scope="module")
def english() -> list[str]:
    words = get_english_words_set(["web2", "gcide"], lower=False, alpha=True)
    return sorted({w[:1].upper() + w[1:] for w in words})


def test_no_english_word_is_touched_without_a_hint(english):
    assert len(english) > 200_000
    touched = [w for w in english if respell_names(f"The {w} and the {w}.")[1]]
    assert touched == []
    compounds = (
        "Coca-Cola Jean-Luc Spider-Man Wi-Fi Hi-Fi Yo-Yo Tic-Tac Mid-Atlantic Anglo-Saxon Pan-Am "
        "Sci-Fi X-Men T-Shirt Co-Op Hip-Hop Ping-Pong Bee-Gees Mini-Me Jay-Z Ho-Hum Lo-Fi Pre-War"
    )
    assert respell_names(compounds)[1] == []


def test_common_english_words_are_left_alone_with_a_hint(english):
    common = [
        "Game",
        "Japan",
        "Tokyo",
        "Samurai",
        "Banana",
        "Korea",
        "Seoul",
        "Netflix",
        "Squid",
        "Zombie",
        "Sonata",
        "Panama",
        "Obama",
        "Hospital",
        "Music",
        "Teacher",
        "Police",
        "Army",
    ]
    for hint in ("ko", "ja"):
        assert [c.written for c in respell_names(" ".join(common), [hint])[1]] == []
    marked = [w for w in english if respell_names(w, ["ko"])[1]]
    assert len(marked) < 0.0005 * len(english)  # rare and learned: Hyalite, Epihyal, Kwela


def test_names_hint_in_front_matter(write_issue):
    issue = parse_issue(write_issue("---\ntitle: T\ndate: 2024-01-01\nnames: [ko]\n---\nAt Hyosan High.\n"))
    spoken = " ".join(c.spoken for c in build_narration(issue, ShowConfig(), Lexicon()).chunks)
    assert "At [[ hjˈoʊ sˈɑːn ]] High." in spoken
    with pytest.raises(InputError, match=r":4: 'names' must be a list of languages from ko, ja"):
        parse_issue(write_issue("---\ntitle: T\ndate: 2024-01-01\nnames: [korean]\n---\nText.\n"))
