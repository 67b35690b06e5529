import datetime as dt
import io
import uuid
from dataclasses import replace

import feedparser
import podcastparser
from lxml import etree

from pipeline.config import ShowConfig
from pipeline.feed.catalog import AudioInfo, Catalog, Episode
from pipeline.feed.podcast import ITUNES_NS, PODCAST_NS
from pipeline.feed.rss import build_feed, podcast_guid
from pipeline.feed.validate import validate_cover, validate_feed
from pipeline.storage.links import Layout, Links

LINKS = Links("https://media.example.com/pod", Layout(""))
FEED_URL = "https://media.example.com/pod/feed.xml"


def episode(n: int, title: str = None, day: str = None, **changes) -> Episode:
    slug = f"episode-{n}"
    audio = AudioInfo(
        f"episodes/{slug}/{slug}-abc{n}.mp3",
        1_000_000 + n,
        "f" * 64,
        600.4 + n,
        f"episodes/{slug}/transcript.vtt",
        f"episodes/{slug}/chapters.json",
    )
    fields = dict(
        slug=slug,
        guid=f"guid-{n}",
        number=n,
        title=title or f"Episode {n}",
        date=day or f"2024-01-{n:02d}",
        summary=f"Summary {n}.",
        content_html=f"<p>Body {n}</p>",
        author="Writer",
        explicit=False,
        page_key=f"episodes/{slug}/index.html",
        audio=audio,
        updated="2024-02-01T10:00:00+00:00",
    )
    fields.update(changes)
    return Episode(**fields)


def feed_for(*episodes: Episode, show: ShowConfig = ShowConfig()) -> bytes:
    catalog = Catalog()
    for item in episodes:
        catalog = catalog.upsert(item)
    return build_feed(show, catalog, LINKS, "cover.jpg")


def test_round_trips_through_two_independent_parsers():
    xml = feed_for(episode(1), episode(2, explicit=True))
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    pp = podcastparser.parse(FEED_URL, io.BytesIO(xml))
    fp = feedparser.parse(xml)
    assert not fp.bozo
    assert pp["title"] == fp.feed.title == "Screen Reviews"
    assert pp["cover_url"] == "https://media.example.com/pod/cover.jpg"
    first = pp["episodes"][0]
    assert first["title"] == "Episode 2" and first["total_time"] == 602
    assert first["guid"] == "guid-2" and first["number"] == 2
    enclosure = first["enclosures"][0]
    assert enclosure == {
        "url": "https://media.example.com/pod/episodes/episode-2/episode-2-abc2.mp3",
        "file_size": 1_000_002,
        "mime_type": "audio/mpeg",
    }
    assert first["explicit"] is True and pp["episodes"][1]["explicit"] is False
    entry = fp.entries[0]
    assert entry.id == "guid-2" and entry.guidislink is False
    assert entry.itunes_episode == "2" and entry.itunes_duration == "602"
    assert entry.link == "https://media.example.com/pod/episodes/episode-2/index.html"
    assert entry.content[0].value == "<p>Body 2</p>"
    item = etree.fromstring(xml).find("channel/item")
    assert item.find(f"{{{PODCAST_NS}}}transcript").attrib == {
        "url": "https://media.example.com/pod/episodes/episode-2/transcript.vtt",
        "type": "text/vtt",
    }
    assert item.find(f"{{{PODCAST_NS}}}chapters").get("type") == "application/json+chapters"
    assert item.findtext(f"{{{ITUNES_NS}}}explicit") == "true"
    assert item.findtext(f"{{{ITUNES_NS}}}episodeType") == "full"


def test_channel_tags_apple_wants():
    channel = etree.fromstring(feed_for(episode(1))).find("channel")
    assert channel.findtext(f"{{{ITUNES_NS}}}explicit") == "false"
    category = channel.find(f"{{{ITUNES_NS}}}category")
    assert category.get("text") == "TV & Film" and category[0].get("text") == "TV Reviews"
    assert channel.findtext(f"{{{ITUNES_NS}}}type") == "episodic"
    assert channel.find(f"{{{ITUNES_NS}}}owner").findtext(f"{{{ITUNES_NS}}}email") == "podcast@example.com"
    assert channel.findtext("link") == "https://example.com"
    assert channel.find("{http://www.w3.org/2005/Atom}link").get("href") == FEED_URL
    assert channel.find(f"{{{PODCAST_NS}}}locked").get("owner") == "podcast@example.com"
    assert channel.findtext(f"{{{PODCAST_NS}}}guid") == podcast_guid(FEED_URL)
    assert channel.findtext("lastBuildDate") == "Thu, 01 Feb 2024 10:00:00 +0000"


def test_podcast_guid_matches_the_spec_example():
    # The Podcasting 2.0 spec's worked example for podcast:guid.
    assert podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml") == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert podcast_guid("http://mp3s.nashownotes.com/pc20rss.xml/") == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert uuid.UUID(podcast_guid(FEED_URL)).version == 5


def test_hostile_text_is_escaped_and_the_feed_parses():
    hostile = episode(
        1,
        title="<script>alert(1)</script> ]]> & \x0b Ω 좀비 🧟",
        summary="</description><evil/> & ]]>",
        content_html="<p>a ]]> b &amp; c</p>",
    )
    xml = feed_for(hostile)
    assert b"<script>" not in xml and b"<evil/>" not in xml
    fp = feedparser.parse(xml)
    assert not fp.bozo
    assert fp.entries[0].title.startswith("<script>alert(1)</script> ]]> &")
    assert validate_feed(xml) == []


def test_items_newest_first_and_one_item_per_guid():
    xml = feed_for(episode(1, day="2024-01-05"), episode(2, day="2024-03-01"), episode(3, day="2024-02-01"))
    assert [e.title for e in feedparser.parse(xml).entries] == ["Episode 2", "Episode 3", "Episode 1"]
    edited = feed_for(episode(1), episode(1, title="Episode 1, edited"))
    entries = feedparser.parse(edited).entries
    assert [e.title for e in entries] == ["Episode 1, edited"]


def test_validation_catches_what_apple_rejects():
    xml = feed_for(episode(1), episode(2))
    bad = xml.replace(b'<guid isPermaLink="false">guid-2</guid>', b'<guid isPermaLink="false">guid-1</guid>')
    bad = bad.replace(b"<language>en-us</language>", b"<language>english</language>")
    problems = validate_feed(bad, {"https://media.example.com/pod/episodes/episode-1/episode-1-abc1.mp3": 5})
    assert any("guid: 'guid-1' is used by another item" in p for p in problems)
    assert any("language" in p for p in problems)
    assert any("feed says 1000001 bytes, the file has 5" in p for p in problems)
    long = feed_for(show=ShowConfig(description="x" * 5000))
    assert validate_feed(long) == []  # descriptions are fitted to 4000 bytes


def test_cover_rules(tmp_path):
    from PIL import Image

    from tests.conftest import ROOT

    assert validate_cover(ROOT / "pipeline" / "assets" / "cover.jpg") == []
    Image.new("RGB", (1400, 1000)).save(tmp_path / "wide.jpg")
    Image.new("RGB", (500, 500)).save(tmp_path / "small.png")
    Image.new("CMYK", (1400, 1400)).save(tmp_path / "cmyk.jpg")
    assert "not square" in validate_cover(tmp_path / "wide.jpg")[0]
    assert "1400 to 3000" in validate_cover(tmp_path / "small.png")[0]
    assert "RGB" in validate_cover(tmp_path / "cmyk.jpg")[0]
    assert validate_cover(tmp_path / "none.jpg") == ["cover: file not found"]


def test_thousand_episodes_build():
    catalog = Catalog(
        tuple(episode(n, day=(dt.date(2000, 1, 1) + dt.timedelta(days=n)).isoformat()) for n in range(1, 1001))
    )
    xml = build_feed(ShowConfig(), catalog, LINKS, "cover.jpg")
    assert len(etree.fromstring(xml).findall("channel/item")) == 1000


def test_chapters_reach_apps_that_read_podlove_simple_chapters():
    """Issue 29, item 6: gPodder (podcastparser) reads psc:chapters, and the feed had only
    podcast:chapters (a JSON file, for Podcasting 2.0 apps), so it showed none."""
    chapters = ((0.0, "Intro"), (65.5, "Second part & more"), (3725.25, "An hour in"))
    with_chapters = episode(1)
    with_chapters = replace(with_chapters, audio=replace(with_chapters.audio, chapters=chapters))
    xml = feed_for(with_chapters, episode(2))
    pp = {e["guid"]: e for e in podcastparser.parse(FEED_URL, io.BytesIO(xml))["episodes"]}
    assert [(c["start"], c["title"]) for c in pp["guid-1"]["chapters"]] == [
        (0, "Intro"),
        (65, "Second part & more"),
        (3725, "An hour in"),
    ]
    assert "chapters" not in pp["guid-2"]  # an episode from before the catalogue kept them: none
    item = etree.fromstring(xml).find("channel/item[guid='guid-1']")
    simple = item.find("{http://podlove.org/simple-chapters}chapters")
    assert simple.get("version") == "1.2"
    assert [c.get("start") for c in simple] == ["00:00:00.000", "00:01:05.500", "01:02:05.250"]
    assert item.find(f"{{{PODCAST_NS}}}chapters") is not None  # the JSON stays
    assert not feedparser.parse(xml).bozo


def test_chapters_survive_the_catalogue_and_older_entries_load_without():
    chapters = ((0.0, "Intro"), (12.5, "Part two"))
    with_chapters = replace(episode(3), audio=replace(episode(3).audio, chapters=chapters))
    again = Catalog.from_json(Catalog().upsert(with_chapters).upsert(episode(4)).to_json(), "catalog.json")
    found = {e.slug: e.audio.chapters for e in again.episodes}
    assert found == {"episode-3": chapters, "episode-4": ()}


def test_an_episode_with_artwork_of_its_own_shows_it_in_apps():
    """Issue 29, item 6: the show's cover stood for every episode, even one with an image."""
    own = episode(1, artwork_key="episodes/episode-1/images/poster-abc.jpg")
    xml = feed_for(own, episode(2))
    items = {i.findtext("guid"): i for i in etree.fromstring(xml).iter("item")}
    art = {guid: item.find(f"{{{ITUNES_NS}}}image").get("href") for guid, item in items.items()}
    assert art == {
        "guid-1": "https://media.example.com/pod/episodes/episode-1/images/poster-abc.jpg",
        "guid-2": "https://media.example.com/pod/cover.jpg",
    }
    parsed = {e["guid"]: e for e in podcastparser.parse(FEED_URL, io.BytesIO(xml))["episodes"]}
    assert parsed["guid-1"]["episode_art_url"].endswith("poster-abc.jpg")
