"""What a reader sees: the visible text of the email and the web page as an HTML5 parser reads
them, for the example and for reviews written the way real blogs write them."""
from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.email import build_email
from pipeline.issue import parse_issue
from pipeline.page import PageAudio, build_page
from tests.conftest import EXAMPLE
from tests.visible import leaks, paragraphs, visible_text

WEB = "https://media.example.com/episodes/x/index.html"
FEED = "https://media.example.com/feed.xml"
AUDIO = PageAudio("https://media.example.com/episodes/x/x.mp3", 499.0, "https://media.example.com/episodes/x/transcript.vtt")


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
