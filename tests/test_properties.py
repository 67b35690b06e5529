"""Property tests: any Markdown and front matter, through parse → email → narration → feed,
raises nothing but our InputError and gives well-formed HTML and XML in which no input escapes
its text node or attribute."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from pipeline.audio.lexicon import Lexicon
from pipeline.audio.narration import build_narration
from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.feed.catalog import AudioInfo, Catalog, Episode
from pipeline.feed.rss import build_feed
from pipeline.feed.validate import validate_feed
from pipeline.mail.compose import build_email
from pipeline.source.parse import parse_issue
from pipeline.storage.links import make_links

FRAGMENTS = [
    "<zzmark onclick=alert(1)>",
    "</zzmark>",
    "<script>x()</script>",
    "<img src=x onerror=y()>",
    "]]>",
    "<![CDATA[",
    "&",
    "&amp;",
    "&#0;",
    '"',
    "'",
    "`",
    "*",
    "_",
    "#",
    "## ",
    "- ",
    "1. ",
    "> ",
    "|",
    "---",
    "\n",
    "\n\n",
    "[a](javascript:alert(1))",
    "![i](x.png)",
    "<iframe src=//e>",
    "\\",
    "\x00",
    "\x07",
    "\x1b",
    "\u2028",
    "\ufeff",
    "🧟",
    "좀비",
    "é",
    "  ",
    "\t",
    "<",
    ">",
    "{{ x }}",
    "{% if %}",
    "%",
    "$5",
    "12",
    "1990s",
    "Jan. 28",
    "U.S.",
    "[^1]",
    "[^1]: note",
    "<!--",
    "-->",
    "javascript:",
    "data:text/html,x",
]
text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=30).map("".join)
SHOW = Config()
LINKS = make_links(SHOW.storage, "https://cdn.example.com")


def front_matter(title: str, summary: str, tags: list[str]) -> str:
    return (
        "---\n"
        + f"title: {json.dumps(title)}\n"
        + "date: 2024-03-01\n"
        + f"summary: {json.dumps(summary)}\n"
        + f"tags: {json.dumps(tags)}\n"
        + "---\n"
    )


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "cite", "background", "srcset", "xlink:href"}


def marker_free(tree) -> None:
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("zzmark", "script", "iframe"), element.tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            # A javascript: URL runs only where a URL is followed; as text (a title in an
            # aria-label or alt) it is harmless words.
            if name.lower() in URL_ATTRIBUTES:
                assert not value.lower().lstrip().startswith("javascript:"), (name, value)


@settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", 80)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(title=text, summary=text, tags=st.lists(text, max_size=3), body=text, raw=st.booleans())
def test_any_input_gives_safe_well_formed_outputs(tmp_path_factory, title, summary, tags, body, raw):
    folder = tmp_path_factory.mktemp("prop")
    path = folder / "2024-03-01-property.md"
    source = body if raw else front_matter(title, summary, tags) + body
    path.write_bytes(source.encode("utf-8", "surrogatepass"))
    try:
        issue = parse_issue(path)
    except InputError as exc:
        assert all(str(path) in str(problem) for problem in exc.problems)
        event("refused with InputError")
        return
    event("published")
    email = build_email(issue, SHOW, "https://cdn.example.com/p", "https://cdn.example.com/feed.xml")
    marker_free(lxml_html.fromstring(email.html))
    try:
        narration = build_narration(issue, SHOW.show, Lexicon({}))
    except InputError:
        narration = None
    if narration is not None:
        assert all(chunk.spoken.strip() for chunk in narration.chunks)
        assert not any("<zzmark" in chunk.spoken.lower() for chunk in narration.chunks)
    audio = AudioInfo(
        "episodes/property/p.mp3", 1000, "0" * 64, 61.0, "episodes/property/t.vtt", "episodes/property/c.json"
    )
    episode = Episode(
        issue.slug,
        "guid-1",
        1,
        issue.title,
        issue.date.isoformat(),
        issue.summary,
        issue.body_html,
        issue.author or "",
        False,
        "episodes/property/index.html",
        audio,
        issue.tags,
    )
    xml = build_feed(SHOW.show, Catalog((episode,)), LINKS, "cover.jpg")
    assert validate_feed(xml) == []
    root = etree.fromstring(xml)
    item_title = root.find("channel/item/title").text or ""
    assert item_title == issue.title
    for description in root.iter("description", "{http://purl.org/rss/1.0/modules/content/}encoded"):
        if description.text and "<" in description.text:
            marker_free(lxml_html.fromstring(f"<div>{description.text}</div>"))
