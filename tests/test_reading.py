"""Real-world Markdown read as a person reads it aloud: each rule written → spoken."""

import re

import pytest

from pipeline.audio.lexicon import Lexicon
from pipeline.audio.narration import build_narration
from pipeline.audio.spoken import normalize
from pipeline.config import ShowConfig
from pipeline.source.parse import parse_issue
from pipeline.textutil import split_sentences


def spoken(write_issue, body: str) -> list[str]:
    issue = parse_issue(write_issue(f"---\ntitle: T\ndate: 2024-01-01\nauthor: A\n---\n{body}\n"))
    return [c.spoken for c in build_narration(issue, ShowConfig(), Lexicon()).chunks][4:-1]


def test_a_label_value_table_reads_row_by_row_without_its_header(write_issue):
    said = spoken(
        write_issue,
        "| Category | Value |\n|---|---|\n| Title | A History of Islamic Spain |\n"
        "| Author | W. Montgomery Watt and Pierre Cachia |\n| Pages | 210 |\n",
    )
    assert said == [
        "Title: A History of Islamic Spain.",
        "Author: W. Montgomery Watt and Pierre Cachia.",
        "Pages: two hundred and ten.",
    ]


def test_a_wider_table_names_each_value(write_issue):
    said = spoken(write_issue, "| Episode | Title | Rating |\n|---|---|---|\n| 1 | Pilot | 8/10 |\n| 2 | Run | |\n")
    assert said == ["Episode: one, title: Pilot, rating: eight out of ten.", "Episode: two, title: Run."]


def test_a_raw_html_table_reads_the_same(write_issue):
    said = spoken(
        write_issue, "<table><tr><th></th><th></th></tr><tr><td>Director</td><td>Lee Jae-kyoo</td></tr></table>"
    )
    assert said == ["Director: [[ lˈiː dʒˈɛ kjˈuː. ]]"]


@pytest.mark.parametrize(
    "text",
    [
        "A book by W. Montgomery Watt and Pierre Cachia.",
        "J. R. R. Tolkien wrote it.",
        "Dr. No is a Bond film.",
        "The U.S. release came later.",
        "Track No. 7 is the best.",
    ],
)
def test_initials_and_abbreviations_never_end_a_sentence(text):
    assert split_sentences(text) == [text]


@pytest.mark.parametrize(
    "written,said",
    [
        ("Released April 23, 2024.", "Released April twenty-third, twenty twenty-four."),
        ("On 23 April 2024 it aired.", "On the twenty-third of April twenty twenty-four it aired."),
        ("Out Jan. 5th.", "Out January fifth."),
        ("You may 3 times.", "You may three times."),
        ("ASIN B074VCQ3WK", ""),
        ("The ISBN: 978-0-14-303943-3 is printed.", "The is printed."),
        ("Order code B074VCQ3WK now.", "Order code B zero seven four, V C Q three, W K now."),
        ("Catalogue CRD-2231 and an MP3 in 4K.", "Catalogue C R D, two two three one and an M P three in four K."),
        ("After COVID-19 it closed.", "After covid-nineteen it closed."),
        ("It was (barely) fine (really!).", "It was, barely, fine, really!"),
        ("“Run!” she said.", "Run! she said."),
        ("Dr. No (1962).", "Doctor No, nineteen sixty-two."),
        ("The bullied student.", "The bulleed student."),  # espeak says "bullid", heard as "bullet"
        ("Poor Cheong-san.", "Pore Cheong-san."),  # the voice says "purr", heard as "purred"
    ],
)
def test_written_to_spoken(written, said):
    assert normalize(written) == said


def test_a_sentence_in_brackets_is_not_stopped_twice(write_issue):
    """The example's "(He is not a fan of this.)" closes a paragraph: no stop after the bracket
    in the transcript, none doubled in what the voice is given."""
    issue = parse_issue(
        write_issue(
            "---\ntitle: T\ndate: 2024-01-01\n---\nShe names it after him. "
            "(He is not a fan of this.)\n\n- “A quoted item!”\n- (an aside)\n"
        )
    )
    chunks = build_narration(issue, ShowConfig(), Lexicon()).chunks
    shown = {c.shown: c.spoken for c in chunks}
    assert shown["(He is not a fan of this.)"] == "He is not a fan of this."
    assert shown["“A quoted item!”"] == "A quoted item!"
    assert shown["(an aside)."] == "an aside."
    assert not any(".." in c.spoken or re.search(r"[.!?][”’\")\]]+\.", c.shown) for c in chunks)


def test_raw_html_headings_breaks_and_entities(write_issue):
    issue = parse_issue(
        write_issue(
            "---\ntitle: T\ndate: 2024-01-01\n---\n<p>Rating &gt; 3.5 &amp; rising.</p>\n<h3>The Cast</h3>\n"
            "<p>First line<br>Second line</p>\n{% if page.rating > 3.5 %}<p>Good.</p>{% endif %}\n"
        )
    )
    narration = build_narration(issue, ShowConfig(), Lexicon())
    said = [c.spoken for c in narration.chunks]
    assert "The Cast" in narration.chapters
    assert "Rating greater than three point five and rising." in said
    assert "First line." in said and "Second line." in said
    assert not any("page" in s or "endif" in s or "gt" in s.split() for s in said)


def test_the_opening_and_the_body_say_a_date_alike(write_issue):
    issue = parse_issue(write_issue("---\ntitle: T\ndate: 2024-04-23\n---\nIt came out on April 23, 2024.\n"))
    said = [c.spoken for c in build_narration(issue, ShowConfig(), Lexicon()).chunks]
    assert "April twenty-third, twenty twenty-four." in said
    assert "It came out on April twenty-third, twenty twenty-four." in said


def test_written_words_take_their_share_of_the_spoken_ones():
    from pipeline.audio.transcript import Cue, time_words

    cue = Cue(10.0, 13.0, "It won 12 awards.")
    same = time_words(cue, [(0.0, 0.4), (0.5, 0.9), (1.0, 1.5), (1.6, 2.5)])
    assert [(w.start, w.end, w.text) for w in same] == [
        (10.0, 10.4, "It"),
        (10.5, 10.9, "won"),
        (11.0, 11.5, "12"),
        (11.6, 12.5, "awards."),
    ]
    spelled = time_words(Cue(0.0, 4.0, "Code B074."), [(0.0, 0.5), (1.0, 1.5), (1.6, 2.0), (2.1, 2.5), (2.6, 3.0)])
    assert [w.text for w in spelled] == ["Code", "B074."] and spelled[0].start == 0.0 and spelled[1].end == 3.0
    assert spelled[0].end <= spelled[1].start
    even = time_words(Cue(0.0, 2.0, "ab cd"), None)
    assert [(w.start, w.end) for w in even] == [(0.0, 1.0), (1.0, 2.0)]
