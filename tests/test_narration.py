import datetime as dt

import pytest

from pipeline.audio.lexicon import Lexicon, load_lexicon
from pipeline.audio.narration import MAX_CHUNK_CHARS, build_narration
from pipeline.audio.spoken import date_words, normalize
from pipeline.config import Config, ShowConfig
from pipeline.errors import InputError
from pipeline.source.parse import parse_issue


@pytest.mark.parametrize(
    "written,said",
    [
        ("a 12-part horror/drama series", "a twelve-part horror drama series"),
        ("On Netflix, see “#Alive” (2020).", "On Netflix, see Alive, twenty twenty."),
        ("released on Jan. 28, and", "released on January twenty-eighth, and"),
        ("It cost $5.99, or 20% more.", "It cost five dollars and ninety-nine cents, or twenty percent more."),
        ("Dr. Lee vs. the FBI, e.g. at 7:30 pm.", "Doctor Lee versus the F B I, for example at seven thirty p m."),
        ("the 21st century & the 1990s", "the twenty-first century and the nineteen nineties"),
        ("No. Thirteen, 2005.)", "number Thirteen, two thousand five."),
        ("zombies 🧟 and 안녕 Hangul", "zombies and Hangul"),
        ("1,234,567 people", "one million two hundred and thirty-four thousand five hundred and sixty-seven people"),
        ("It doesn’t go well — at all.", "It doesn't go well, at all."),
    ],
)
def test_normalize(written, said):
    assert normalize(written) == said


@pytest.mark.parametrize(
    "written,said",
    [
        ("★★★★★", "five stars out of five"),
        ("★★★★☆", "four stars out of five"),
        ("★★★½", "three and a half stars"),
        ("★★½☆☆", "two and a half stars out of five"),
        ("★", "one star"),
        ("Verdict: 4/5.", "Verdict: four out of five."),
        ("a 7.5/10 from me", "a seven point five out of ten from me"),
        ("on 3/5/2024 and 24/7", "on three five twenty twenty-four and twenty-four seven"),
    ],
)
def test_ratings_are_read_as_a_person_reads_them(written, said):
    """Issue 29, item 3: a table cell of stars was silently missing from the narration."""
    assert normalize(written) == said


def test_what_the_voice_would_drop_is_named_at_its_line(write_issue):
    """Issue 29, item 3: a symbol the voice says nothing for is a warning, not a silent loss."""
    from pipeline.audio.episode import unsaid_warning

    text = (
        "---\ntitle: Signs\ndate: 2024-03-01\n---\nA fine start (really) — “quoted” and so on.\n\n"
        "Plot → twist, 5 × 3 ✓ 🔥 and 서울.\n\n| A | B |\n|---|---|\n| ✓ | ★★★★☆ |\n"
    )
    issue = parse_issue(write_issue(text))
    narration = build_narration(issue, Config().show, Lexicon(()))
    assert narration.unsaid == ("→", "×", "✓", "🔥", "서울")
    warning = unsaid_warning(issue, narration.unsaid)
    assert warning.line == 7 and "leaves out '→', '×', '✓', '🔥', '서울'" in str(warning)
    plain = parse_issue(write_issue("---\ntitle: Plain\ndate: 2024-03-01\n---\nIt's (quite) good — “really”…\n"))
    assert build_narration(plain, Config().show, Lexicon(())).unsaid == ()


def test_date_words():
    assert date_words(dt.date(2022, 1, 28)) == "January twenty-eighth, twenty twenty-two"
    assert date_words(dt.date(2005, 3, 1)) == "March first, two thousand five"


def test_lexicon_is_whole_word_and_case_aware():
    lexicon = Lexicon((("Ohn-Jo", "ohn joe"), ("busan", "boo sahn"), ("Nam Ra", "nahm rah")))
    assert lexicon.apply("Nam Ohn-Jo, Ohn-Jo’s and ohn-jo") == "Nam ohn joe, ohn joe’s and ohn-jo"
    assert lexicon.apply("Train to Busan, BUSAN, Busanese") == "Train to boo sahn, boo sahn, Busanese"
    assert lexicon.apply("Nam Ra and Nam") == "nahm rah and Nam"


def test_bad_lexicon_names_the_line(tmp_path):
    path = tmp_path / "lexicon.toml"
    path.write_text('"Ohn-Jo" = "ohn joe"\n"Gwi-nam" = 3\n')
    with pytest.raises(InputError) as caught:
        load_lexicon(path)
    assert caught.value.problems[0].line == 2
    path.write_text('"Ohn-Jo" = "ohn joe"\nbroken line\n')
    with pytest.raises(InputError) as caught:
        load_lexicon(path)
    assert caught.value.problems[0].line == 2


def test_example_narration_opening_closing_and_names(example_path):
    config = Config()
    from tests.conftest import ROOT

    issue = parse_issue(example_path)
    narration = build_narration(issue, config.show, load_lexicon(ROOT / "pipeline" / "assets" / "lexicon.toml"))
    spoken = [c.spoken for c in narration.chunks]
    assert spoken[:3] == ["Screen Reviews.", "All of Us Are Dead.", "January twenty-eighth, twenty twenty-two."]
    assert spoken[-1].startswith("That was All of Us Are Dead")
    text = " ".join(spoken)
    assert "twelve-part" in text and "ohn joe" in text and "tʃˈʌŋ sˈɑːn" in text and "#" not in text
    assert "Ohn-Jo" in " ".join(c.shown for c in narration.chunks)  # transcript keeps the writing
    assert all(len(c.spoken) <= MAX_CHUNK_CHARS + 40 for c in narration.chunks)
    pauses = {c.pause_after for c in narration.chunks}
    assert len(pauses) >= 3  # sentence < paragraph < section


def test_structure_is_read_naturally(write_issue):
    issue = parse_issue(
        write_issue(
            "---\ntitle: T\ndate: 2024-01-01\nauthor: Kim\n---\nIntro text.\n\n## Cast\n\n- Park Ji-hoo\n- Yoon Chan-young\n\n"
            "![A zombie at the school gate](https://x/p.jpg)\n\n```\ncode()\n```\n\n"
            "See [the trailer](https://example.com/t).\n\n" + "Very long, " * 80 + "end.\n"
        )
    )
    narration = build_narration(issue, ShowConfig(), Lexicon())
    spoken = [c.spoken for c in narration.chunks]
    assert "A review by Kim." in spoken
    assert narration.chapters == ("T", "Cast")
    assert "Park [[ dʒˈiː hˈuː. ]]" in spoken and "Image: A zombie at the school gate." in spoken
    assert "See the trailer." in spoken and not any("code()" in s or "https" in s for s in spoken)
    assert all(len(s) <= MAX_CHUNK_CHARS for s in spoken)


def test_nothing_to_say_gives_no_chunks(write_issue):
    issue = parse_issue(write_issue("---\ntitle: T\ndate: 2024-01-01\n---\n![](https://x/a.jpg)\n\n🧟🧟\n"))
    assert build_narration(issue, ShowConfig(), Lexicon()).chunks == ()


def test_opening_names_the_show_author_when_the_issue_names_none(write_issue):
    issue = parse_issue(write_issue("---\ntitle: T\ndate: 2024-01-01\n---\nText.\n"))
    spoken = [
        c.spoken for c in build_narration(issue, ShowConfig(title="Night Shift", author="Jane Roe"), Lexicon()).chunks
    ]
    assert spoken[:3] == ["Night Shift.", "T.", "A review by Jane Roe."]
    same = [c.spoken for c in build_narration(issue, ShowConfig(title="Jane Roe", author="Jane Roe"), Lexicon()).chunks]
    assert "A review by Jane Roe." not in same  # the show's name is not said twice


@pytest.mark.parametrize(
    "body",
    [
        "## " + "A long heading " * 7_000 + "\n\nText.\n",  # 100,000 characters
        "| Verdict | Notes |\n|---|---|\n| good | " + "word " * 20_000 + "|\n",  # one table row
        "## " + "9" * 5_000 + "\n\nText.\n",  # a number past int()'s 4,300 digits
        "Costs $" + "9" * 5_000 + " and the " + "1" * 30 + "th time.\n",
    ],
)
def test_no_kind_of_block_hands_the_voice_more_than_it_can_take(write_issue, body):
    """Security 2, findings 5 and 9: headings and table rows skipped the split (piper's memory
    grows with a chunk: 2,560 characters took 2.9 GB), and 5,000 digits were an internal error."""
    from pipeline.audio.narration import MAX_SPOKEN_CHARS

    issue = parse_issue(write_issue("---\ntitle: Long\ndate: 2024-03-01\n---\n" + body))
    narration = build_narration(issue, ShowConfig(), Lexicon())
    assert narration.chunks and max(len(c.spoken) for c in narration.chunks) <= MAX_SPOKEN_CHARS
    assert max(len(c.shown) for c in narration.chunks) <= MAX_CHUNK_CHARS


def test_an_embed_made_a_link_is_not_read_aloud(write_issue):
    """Issue 29, item 3: the link a YouTube embed became was read aloud ("Watch on YouTube.")."""
    issue = parse_issue(
        write_issue(
            "---\ntitle: Beef\ndate: 2023-04-06\n---\n"
            '<iframe src="https://www.youtube.com/embed/AFPIMHBRfWQ"></iframe>\n\n'
            "Two strangers meet. [Watch on YouTube](https://example.com/kept) is a sentence here.\n"
        )
    )
    spoken = " ".join(chunk.shown for chunk in build_narration(issue, ShowConfig(), Lexicon()).chunks)
    assert spoken.count("Watch on YouTube") == 1  # the writer's own sentence stays; the embed's link goes
