"""What a reader sees: the visible text of the email and the web page as an HTML5 parser reads
them, for the example and for reviews written the way real blogs write them."""

from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.mail.compose import build_email
from pipeline.site.page import PageAudio, build_page
from pipeline.source.parse import parse_issue
from pipeline.source.rawhtml import is_embed_link
from tests.conftest import EXAMPLE
from tests.visible import leaks, paragraphs, visible_text

WEB = "https://media.example.com/episodes/x/index.html"
FEED = "https://media.example.com/feed.xml"
AUDIO = PageAudio(
    "https://media.example.com/episodes/x/x.mp3", 499.0, "https://media.example.com/episodes/x/transcript.vtt"
)


def outputs(path):
    issue = parse_issue(path)
    email = build_email(issue, Config(), WEB, FEED, audio_minutes=8)
    page = build_page(issue, Config(), WEB, FEED, AUDIO, episode=1)
    return issue, {"email.html": email.html, "index.html": page}


@pytest.fixture(scope="module")
def example():
    return outputs(EXAMPLE)


@pytest.mark.parametrize("name", ["email.html", "index.html"])
def test_example_shows_no_markup_and_each_paragraph_is_its_own_p(example, name):
    issue, built = example
    html = built[name]
    assert leaks(html) == []
    found = paragraphs(html)
    for block in issue.blocks:
        if block.kind == "paragraph":
            assert block.text in found, block.text[:60]
    text = visible_text(html)
    assert issue.title in text


def test_template_filters_keep_safe_html_safe_and_strip_control_characters():
    from markupsafe import Markup

    from pipeline.templating import environment

    template = environment().from_string("{{ body | safe }}|{{ text }}|{{ marked }}")
    out = template.render(body="<p>A\x07 b</p>", text="<i>\x01x</i>", marked=Markup("<b>c\x0b</b>"))
    assert out == "<p>A b</p>|&lt;i&gt;x&lt;/i&gt;|<b>c</b>"


REVIEWS = EXAMPLE.parent.parent / "tests" / "reviews"
RAW_HTML = REVIEWS / "2024-04-28-oke-oka.md"
TABLES = REVIEWS / "2024-05-06-book-shelf.md"


@pytest.mark.parametrize("path", [RAW_HTML, TABLES], ids=["raw-html", "tables"])
@pytest.mark.parametrize("name", ["email.html", "index.html"])
def test_blog_reviews_show_no_markup_or_template_code(path, name):
    issue, built = outputs(path)
    html = built[name]
    assert leaks(html) == []
    text = visible_text(html)
    assert "page.excerpt" not in text and "page.rating" not in text
    found = paragraphs(html)
    assert "<p></p>" not in issue.body_html
    for block in issue.blocks:  # a <br> splits a paragraph into two spoken blocks
        if block.kind == "paragraph" and name == "index.html" and is_embed_link(block):
            assert f"Loads from YouTube when you press play · {block.text}" in text  # click to load
        elif block.kind == "paragraph":
            assert any(block.text in p for p in found), block.text[:60]


def test_raw_html_review_reads_as_written():
    issue, built = outputs(RAW_HTML)
    text = visible_text(built["email.html"])
    assert "Shree Karthick’s Oke Oka Jeevitham" in text
    assert "1998 & fix" in text and "read > write" in text and "Rating: 4/5 ♥" in text
    assert issue.summary.startswith("Shree Karthick’s Oke Oka Jeevitham is a gentle film")
    assert [s.title for s in issue.sections if s.title] == ["The story", "Why it works"]
    assert any(w.message.startswith("template code") for w in issue.warnings)
    assert issue.warnings[0].line == 6


def test_an_embedded_video_becomes_a_link():
    _, built = outputs(RAW_HTML)
    from tests.visible import parse

    for html in built.values():
        links = {a.get("href"): "".join(a.itertext()) for a in parse(html).iter("a")}
        assert links.get("https://www.youtube.com/watch?v=dQw4w9WgXcQ") == "Watch on YouTube"


def test_styles_in_table_cells_are_inert():
    _, built = outputs(RAW_HTML)
    from tests.visible import parse

    for html in built.values():
        for cell in parse(html).iter("td"):
            style = (cell.get("style") or "").replace(" ", "")
            assert "position" not in style and "url(" not in style and "z-index" not in style


def _email(path=EXAMPLE, **kwargs):
    from pipeline.config import EmailConfig

    config = Config(email=EmailConfig(address="Screen Reviews, 1 Example Street, Springfield"))
    return build_email(parse_issue(path), config, WEB, FEED, **kwargs)


def test_one_listen_button_with_audio_and_none_without():
    with_audio = visible_text(_email(audio_minutes=8).html)
    assert with_audio.count("Listen to this review") == 1
    without = _email()
    for text in (visible_text(without.html), without.text):
        assert "Listen" not in text and "Podcast feed" not in text and "audio" not in text.lower()


def test_footer_says_who_sends_why_and_how_to_leave():
    built = _email(audio_minutes=8)
    text = visible_text(built.html)
    footer = text[text.rindex("You are receiving") :]
    for words in ("Unsubscribe", "View in browser", "1 Example Street, Springfield", "news@example.com"):
        assert words in footer
    assert "1 Example Street, Springfield" in built.text
    assert built.warnings == ()
    assert any("address" in w for w in build_email(parse_issue(EXAMPLE), Config(), WEB, FEED).warnings)


def test_preheader_is_the_summary_then_padding():
    from tests.visible import parse

    built = _email(audio_minutes=8)
    hidden = next(div for div in parse(built.html).iter("div") if "display:none" in (div.get("style") or ""))
    preview = "".join(hidden.itertext())
    summary = parse_issue(EXAMPLE).summary
    assert preview.startswith(summary)
    assert len(preview) - len(summary) >= 100 and not preview[len(summary) :].strip("\u034f\u200c\xa0 ")


def test_the_writers_summary_is_the_subtitle_under_the_title_and_a_derived_one_is_not(example, write_issue):
    """Issue 29, item 8: Substack's subtitle, on the page, in the email and in its text part."""
    issue, built = example
    for name in ("email.html", "index.html"):
        text = visible_text(built[name])
        after_title = text[text.index(issue.title) + len(issue.title) :]
        assert after_title.lstrip().startswith(issue.summary), name
    email = build_email(issue, Config(), WEB, FEED)
    assert issue.summary.split()[0] in email.text.split("=" * len(issue.title), 1)[1].splitlines()[2]
    plain = parse_issue(write_issue("---\ntitle: Plain\ndate: 2024-03-01\n---\nIt was good. It was short.\n"))
    assert plain.summary == "It was good. It was short." and plain.subtitle == ""
    page = visible_text(build_page(plain, Config(), WEB, FEED, AUDIO, episode=1))
    assert page.count("It was good.") == 1


def test_header_image_has_alt_text():
    from tests.visible import parse

    cover = "https://media.example.com/cover.jpg"
    images = {i.get("src"): i.get("alt") for i in parse(_email(cover_url=cover).html).iter("img")}
    assert images[cover] == "Screen Reviews"
    still = ("https://media.example.com/episodes/x/images/still.jpg", "A still")
    images = {i.get("src"): i.get("alt") for i in parse(_email(cover_url=cover, image=still).html).iter("img")}
    assert images[still[0]] == "A still"


def test_text_part_of_a_raw_html_review():
    text = _email(RAW_HTML, audio_minutes=1).text
    lines = text.splitlines()
    assert lines[lines.index("The story") + 1] == "-" * len("The story")
    assert "> “Time is a circle, but friendship is a straight line.”" in lines
    assert "read > write" in text and "&gt;" not in text and "&#8217;" not in text and "Karthick’s" in text
    assert "{{" not in text and "{%" not in text and "page.rating" not in text
    assert "Watch on YouTube [1]" in text and "[1] https://www.youtube.com/watch?v=dQw4w9WgXcQ" in lines
    assert all(len(line) <= 78 or " " not in line for line in lines)


def test_the_transcript_reads_back_as_written(tmp_path):
    from pipeline.audio.transcript import Cue, read_cues, webvtt

    cues = [Cue(0.0, 1.5, "Tom & Jerry <3 it."), Cue(1.85, 3725.25, "“Wait what?” — the end.")]
    (tmp_path / "t.vtt").write_text(webvtt(cues), encoding="utf-8")
    assert list(read_cues(tmp_path / "t.vtt")) == cues


def test_template_tags_wrapped_over_two_lines_are_removed(write_issue):
    issue = parse_issue(
        write_issue(
            "---\ntitle: T\n---\nSee [the fix]({{ site.repository\n}}/issues/1) and [this]({% link\n_docs/x.md %}).\n"
        )
    )
    assert "site.repository" not in issue.body_html and "link" not in issue.blocks[0].text
    assert issue.warnings and issue.warnings[0].line == 4
