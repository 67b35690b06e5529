import email
import email.policy
import re
from html import unescape

import lxml.html
import pytest

from pipeline.config import Config, EmailConfig
from pipeline.mail.compose import GMAIL_CLIP_BYTES, build_email
from pipeline.source.parse import parse_issue
from tests.golden_cases import GOLDEN, example_email_text

WEB = "https://media.example.com/episodes/x/index.html"
ADDRESSED = Config(email=EmailConfig(address="Screen Reviews, 1 Example Street, Springfield"))
FEED = "https://media.example.com/feed.xml"


@pytest.fixture(scope="module")
def example_build():
    from tests.conftest import EXAMPLE

    issue = parse_issue(EXAMPLE)
    return issue, build_email(issue, ADDRESSED, WEB, FEED, audio_minutes=8)


def visible_text(html: str) -> str:
    tree = lxml.html.fromstring(html)
    return " ".join(unescape(tree.text_content()).split())


def test_html_parses_and_holds_title_and_every_paragraph(example_build):
    issue, built = example_build
    text = visible_text(built.html)
    assert issue.title in text
    for block in issue.blocks:
        assert block.text in text
    assert "Listen to this review" in text and "View in browser" in text and "Unsubscribe" in text


def test_html_is_small_enough_for_gmail(example_build):
    _, built = example_build
    assert 5_000 < built.html_bytes < GMAIL_CLIP_BYTES
    assert built.warnings == ()


def test_html_has_preheader_dark_mode_and_links(example_build):
    issue, built = example_build
    assert issue.summary in unescape(built.html)
    assert "prefers-color-scheme: dark" in built.html
    assert 'name="color-scheme"' in built.html
    tree = lxml.html.fromstring(built.html)
    hrefs = [a.get("href") for a in tree.iter("a")]
    assert WEB in hrefs and FEED in hrefs
    assert any(h and h.startswith("https://example.com/unsubscribe?") for h in hrefs)


def test_text_part_wraps_and_matches_golden(example_build):
    expected = (GOLDEN / "all-of-us-are-dead.email.txt").read_text(encoding="utf-8")
    assert example_email_text() == expected, "run `make golden` if this change is intended"
    for line in expected.splitlines():
        assert len(line) <= 78 or re.fullmatch(r"\S+", line), line


def test_text_part_lists_links_as_numbered_references(write_issue):
    issue = parse_issue(
        write_issue(
            "---\ntitle: T\ndate: 2024-01-01\n---\n"
            "See [the trailer](https://example.com/t) and [site](https://example.com/s).\n"
        )
    )
    text = build_email(issue, Config(), WEB, FEED).text
    assert "See the trailer [1] and site [2]." in text
    assert "[1] https://example.com/t" in text and "[2] https://example.com/s" in text


def test_eml_has_every_header_and_both_parts(example_build):
    issue, built = example_build
    message = email.message_from_bytes(built.eml, policy=email.policy.default)
    for header in (
        "Subject",
        "From",
        "Date",
        "Message-ID",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "To",
    ):
        assert message[header], header
    assert message["Subject"] == issue.title
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https://example\.com/unsubscribe\?[^>]+>", message["List-Unsubscribe"])
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert plain.replace("\r\n", "\n") == built.text
    assert issue.blocks[3].text in visible_text(html)


def test_reply_to_and_mailto_unsubscribe(example_build):
    from dataclasses import replace

    issue, _ = example_build
    config = Config()
    config = replace(
        config,
        email=replace(config.email, reply_to="editor@example.com", unsubscribe_mailto="mailto:unsub@example.com"),
    )
    message = email.message_from_bytes(build_email(issue, config, WEB, FEED).eml, policy=email.policy.default)
    assert message["Reply-To"] == "editor@example.com"
    assert "<mailto:unsub@example.com>" in message["List-Unsubscribe"]


HOSTILE = (
    '---\ntitle: "<script>alert(1)</script> & \\"quotes\\""\ndate: 2024-01-01\n'
    'summary: "<img src=x onerror=alert(1)>"\n---\n'
    '<script>alert(2)</script>\n\n<iframe src="https://evil.example"></iframe>\n\n'
    'Hello <a href="javascript:alert(3)" onmouseover="x()">link</a> and <b onclick="y()">bold</b>.\n'
)


def test_hostile_issue_cannot_inject(write_issue):
    issue = parse_issue(write_issue(HOSTILE))
    built = build_email(issue, Config(), WEB, FEED)
    tree = lxml.html.fromstring(built.html)
    assert not tree.xpath("//script | //iframe")
    for element in tree.iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            assert not value.strip().lower().startswith("javascript:")
    assert '<script>alert(1)</script> & "quotes"' in visible_text(built.html)
    message = email.message_from_bytes(built.eml, policy=email.policy.default)
    assert message["Subject"] == '<script>alert(1)</script> & "quotes"'


def test_a_table_column_aligned_in_markdown_is_aligned_in_the_email():
    """Issue 29, item 8: a column written |:---:| was centred on the page and not in the email."""
    from tests.conftest import ROOT

    issue = parse_issue(ROOT / "tests" / "reviews" / "2024-05-06-book-shelf.md")
    tree = lxml.html.fromstring(build_email(issue, ADDRESSED, WEB, FEED).html)
    rows = [row for row in tree.iter("tr") if "★★★★☆" in row.text_content() and not row.findall(".//tr")]
    cells = rows[0].findall("td")
    assert [c.get("align") for c in cells] == ["left", "left", "right", "right", "center"]


def test_an_image_used_as_the_header_and_in_the_review_is_shown_once(write_issue):
    """Issue 29, item 8: the same still appeared twice, above the review and in it."""
    url = "https://media.example.com/still.jpg"
    both = parse_issue(write_issue(f"---\ntitle: T\ndate: 2024-01-01\nimage: {url}\n---\nText.\n\n![A still]({url})\n"))
    html = build_email(both, ADDRESSED, WEB, FEED, image=(both.header_image, "T") if both.header_image else None).html
    assert html.count(url) == 1 and both.header_image is None
    from pipeline.site.page import build_page

    assert build_page(both, ADDRESSED, WEB, FEED).count(f'src="{url}"') == 1  # the web page too
    alone = parse_issue(write_issue(f"---\ntitle: T\ndate: 2024-01-01\nimage: {url}\n---\nText.\n"))
    assert alone.header_image == url and build_page(alone, ADDRESSED, WEB, FEED).count(f'src="{url}"') == 1
