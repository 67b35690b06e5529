"""The show's home on the web: built from the catalogue, every link answering over HTTP."""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.error
from urllib.parse import urljoin

import html5lib
import pytest

from pipeline.config import Config
from pipeline.feed.catalog import AudioInfo, Catalog, Episode
from pipeline.site.home import PER_PAGE, build_home
from pipeline.storage.links import Layout, Links
from tests.conftest import SHORT_ISSUE, http_get
from tests.visible import visible_text

LINKS = Links("https://media.example.com/show", Layout("pod"))


def episode(n: int, tags: tuple[str, ...] = ()) -> Episode:
    slug = f"episode-{n}"
    audio = AudioInfo(
        f"pod/episodes/{slug}/{slug}-abc.mp3",
        1000,
        "0" * 64,
        600.0,
        f"pod/episodes/{slug}/transcript.vtt",
        f"pod/episodes/{slug}/chapters.json",
    )
    day = f"2020-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}"
    return Episode(
        slug=slug,
        guid=f"g{n}",
        number=n,
        title=f"Review <{n}>",
        date=day,
        summary=f"Summary {n} & more.",
        content_html="<p>x</p>",
        author="",
        explicit=False,
        page_key=f"pod/episodes/{slug}/index.html",
        audio=audio if n % 2 else None,
        tags=tags,
        updated=f"{day}T12:00:00+00:00",
    )


def test_every_issue_newest_first_fifty_to_a_page_and_a_page_per_tag():
    catalog = Catalog(tuple(episode(n, ("Horror",) if n % 10 == 0 else ()) for n in range(1, 121)))
    files = {f.key: f for f in build_home(Config(), catalog, LINKS, "pod/cover.jpg")}
    assert {
        "pod/index.html",
        "pod/page/2/index.html",
        "pod/page/3/index.html",
        "pod/tags/horror/index.html",
        "pod/404.html",
        "pod/sitemap.xml",
        "pod/robots.txt",
    } == set(files)
    newest = sorted(catalog.episodes, key=lambda e: e.date, reverse=True)
    for page, key in enumerate(("pod/index.html", "pod/page/2/index.html", "pod/page/3/index.html")):
        tree = html5lib.parse(files[key].body.decode(), namespaceHTMLElements=False)
        titles = ["".join(h.itertext()).strip() for h in tree.iter("h3")]
        assert titles == [e.title for e in newest[page * PER_PAGE : (page + 1) * PER_PAGE]]
    first = files["pod/index.html"].body.decode()
    assert "Review &lt;120&gt;" in first and "<120>" not in first  # escaped
    assert 'href="https://media.example.com/show/pod/page/2/index.html" rel="next"' in first
    assert 'rel="alternate" type="application/rss+xml"' in first
    text = visible_text(first)
    assert "Every issue · page 1 of 3" in text and "Open in Apple Podcasts" in text and "10 min" in text
    tag = visible_text(files["pod/tags/horror/index.html"].body.decode())
    assert "Tagged “Horror”" in tag and tag.count("Review <") == 12
    sitemap = files["pod/sitemap.xml"].body.decode()
    assert sitemap.count("<url>") == 3 + 1 + 120
    assert "Sitemap: https://media.example.com/show/pod/sitemap.xml" in files["pod/robots.txt"].body.decode()
    again = build_home(Config(), catalog, LINKS, "pod/cover.jpg")
    assert [f.body for f in again] == list(f.body for f in files.values())  # same catalogue, same bytes
    subscribe = dataclasses.replace(Config().show, subscribe_url="https://news.example.com/join")
    signed = build_home(dataclasses.replace(Config(), show=subscribe), catalog, LINKS, "pod/cover.jpg")[0]
    assert 'href="https://news.example.com/join"' in signed.body.decode()


def links_of(html: str, base: str) -> list[str]:
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    found = [e.get("href") for e in tree.iter("a")] + [e.get("src") for e in tree.iter() if e.get("src")]
    return [urljoin(base, u) for u in found if u and u.startswith(("http://", "https://"))]


def test_the_home_page_is_published_and_every_link_answers(project):
    first = project.publish(project.issue())
    assert first.exit_code == 0, first.output
    other = SHORT_ISSUE.replace("A Short Test", "Another Test").replace("2024-03-01", "2024-04-02")
    second = project.publish(project.issue(other, "2024-04-02-another-test.md"), "--no-audio")
    summary = json.loads(second.stdout)
    home = summary["feed_url"].replace("feed.xml", "index.html")
    status, headers, body = http_get(home)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    text = visible_text(body.decode())
    assert text.index("Another Test") < text.index("A Short Test")  # newest first
    bucket_host = home.split("/")[2]
    checked = 0
    for url in links_of(body.decode(), home):
        if url.split("/")[2] != bucket_host:
            continue  # the apps' own sites
        is_audio = url.endswith(".mp3")
        status, _, _ = http_get(url, {"Range": "bytes=0-99"} if is_audio else None)
        assert status == (206 if is_audio else 200), url
        checked += 1
    assert checked >= 6
    page = http_get(summary["web_url"])[2].decode()
    assert f'href="{home}"' in page  # the episode links home
    sitemap = http_get(home.replace("index.html", "sitemap.xml"))[2].decode()
    for url in re.findall(r"<loc>([^<]+)</loc>", sitemap):
        assert http_get(url)[0] == 200
    assert "There is nothing at this address" in visible_text(
        http_get(home.replace("index.html", "404.html"))[2].decode()
    )
    try:
        http_get(home.replace("index.html", "no-such-page.html"))
    except urllib.error.HTTPError as error:
        assert error.code in (403, 404)


def test_an_earlier_page_links_to_the_issue_published_after_it(project):
    """The page published last has no "next"; publishing the next issue adds it, and the new
    issue's page links back, without the earlier issue being published again."""
    first = json.loads(project.publish(project.issue(), "--no-audio").stdout)
    other = SHORT_ISSUE.replace("A Short Test", "The Following One").replace("2024-03-01", "2024-04-02")
    second = json.loads(project.publish(project.issue(other, "2024-04-02-following.md"), "--no-audio").stdout)

    def nav(url: str) -> dict[str, tuple[str, str]]:
        tree = html5lib.parse(http_get(url)[2].decode(), namespaceHTMLElements=False)
        return {
            a.get("rel"): (a.get("href"), "".join(a.itertext()).strip())
            for a in tree.iter("a")
            if a.get("rel") in ("prev", "next")
        }

    assert nav(first["web_url"]) == {"next": (second["web_url"], "The Following One →")}
    assert nav(second["web_url"]) == {"prev": (first["web_url"], "← A Short Test")}
    again = json.loads(project.publish(project.issue(), "--no-audio").stdout)
    assert again["upload"]["uploaded"] == 0  # the refreshed page is what a rebuild makes


def test_every_page_lists_only_the_most_used_tags():
    """Security 2, finding 8: every tag page listed every tag, so a publish cost tags²."""
    from pipeline.site.home import SHOWN_TAGS

    many = [episode(n, tags=(f"tag {n}", "common")) for n in range(1, 121)]
    files = build_home(Config(), Catalog(tuple(many)), LINKS, "pod/cover.jpg")
    pages = [f for f in files if f.key.endswith("index.html")]
    for page in pages:
        nav = page.body.decode().split('<div class="tags">', 1)[1].split("</div>", 1)[0]
        assert nav.count("<a ") == SHOWN_TAGS, page.key
    assert "/tags/common/" in pages[0].body.decode()
    assert len([p for p in pages if "/tags/" in p.key]) > 120  # every tag still has its page


def test_tags_per_issue_and_their_length_are_bounded(write_issue):
    from pipeline.errors import InputError
    from pipeline.source.parse import parse_issue

    for tags, said in (([f"t{i}" for i in range(21)], "21 tags; at most 20"), (["x" * 51], "at most 50")):
        path = write_issue(f"---\ntitle: T\ndate: 2024-03-01\ntags: {tags}\n---\nText.\n")
        with pytest.raises(InputError) as refused:
            parse_issue(path)
        assert said in str(refused.value)
