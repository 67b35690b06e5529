"""pipeline/feed/verify.py: the feed as a listener's app fetches it, over real HTTP — every
file it names must answer, at its stated size, and the audio must allow seeking (ranges)."""

import functools
import http.server
import threading

import pytest

from pipeline.config import ShowConfig
from pipeline.feed.catalog import Catalog
from pipeline.feed.rss import build_feed
from pipeline.feed.verify import verify_published_feed
from pipeline.storage.links import Layout, Links
from tests.test_feed import episode


@pytest.fixture
def site(tmp_path):
    """A plain static web server (no byte ranges, as a misconfigured host) over tmp_path."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _publish(folder, url, *episodes):
    feed = build_feed(ShowConfig(), Catalog(tuple(episodes)), Links(url, Layout("")), "cover.jpg")
    (folder / "feed.xml").write_bytes(feed)


def test_every_problem_a_listener_would_meet_is_named(site):
    folder, url = site
    one, two = episode(1), episode(2)
    (folder / "episodes" / "episode-1").mkdir(parents=True)
    (folder / one.audio.key).write_bytes(b"\xff" * one.audio.bytes)  # right size
    (folder / one.audio.transcript_key).write_text("WEBVTT\n")
    (folder / one.audio.chapters_key).write_text("{}")
    _publish(folder, url, one, two)
    problems, checked = verify_published_feed(f"{url}/feed.xml", guid="another-guid")
    assert checked == 2
    assert any("podcast:guid is" in p for p in problems)  # apps would see a new show
    assert f"{url}/{one.audio.key}: no byte-range support (status 200); podcast apps need it to seek" in problems
    assert f"{url}/{two.audio.key}: HTTP 404" in problems  # the file is not there
    assert f"{url}/{two.audio.transcript_key}: HTTP 404" in problems
    assert not any(one.audio.transcript_key in p for p in problems)  # what is there passes


def test_a_feed_that_is_not_there_or_not_a_feed(site):
    folder, url = site
    assert verify_published_feed(f"{url}/feed.xml") == ([f"{url}/feed.xml: HTTP 404"], 0)
    (folder / "feed.xml").write_text("<html>a login page</html>")
    problems, checked = verify_published_feed(f"{url}/feed.xml")
    assert checked == 0 and problems == ["feed.xml: feed: not an RSS 2.0 document"]
