"""`publish issue` end to end against a real S3 server (SeaweedFS, or S3_TEST_ENDPOINT)."""

import json
import subprocess
import sys
import urllib.error

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from lxml import etree

from pipeline.cli import main
from pipeline.feed.podcast import PODCAST_NS
from tests.conftest import SHORT_ISSUE, http_get


def http_get_when_ready(url: str, wait_s: float = 30):
    """A restarted SeaweedFS answers 500 until its volume server has registered again."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return http_get(url)
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def summary_of(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_publish_serves_every_object_over_http(project):
    summary = summary_of(project.publish(project.issue()))
    # the page, email.html/.txt, MP3, two transcripts, chapters, cover, catalogue, feed, and the home:
    # index.html, 404.html, sitemap.xml, robots.txt
    assert summary["upload"]["uploaded"] == 14 and summary["upload"]["skipped"] == 0
    status, headers, feed = http_get(summary["feed_url"])
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    assert "max-age=300" in headers["Cache-Control"]
    parsed = podcastparser.parse(summary["feed_url"], __import__("io").BytesIO(feed))
    (episode,) = parsed["episodes"]
    enclosure = episode["enclosures"][0]
    status, headers, mp3 = http_get(enclosure["url"])
    assert headers["Content-Type"] == "audio/mpeg" and "immutable" in headers["Cache-Control"]
    assert len(mp3) == enclosure["file_size"] == summary["audio"]["bytes"]
    status, headers, part = http_get(enclosure["url"], {"Range": "bytes=100-199"})
    assert status == 206 and part == mp3[100:200]
    status, headers, page = http_get(summary["web_url"])
    assert headers["Content-Type"].startswith("text/html") and enclosure["url"].encode() in page
    item = etree.fromstring(feed).find("channel/item")
    transcript, words = (t.get("url") for t in item.findall(f"{{{PODCAST_NS}}}transcript"))
    assert http_get(transcript)[1]["Content-Type"].startswith("text/vtt")
    assert http_get(transcript)[2].startswith(b"WEBVTT")
    assert http_get(words)[1]["Content-Type"] == "application/json"
    assert json.loads(http_get(words)[2])["segments"][0] == {
        "startTime": pytest.approx(3.9, abs=0.3),
        "endTime": pytest.approx(4.3, abs=0.3),
        "body": "Screen",
    }
    assert [t.get("type") for t in item.findall(f"{{{PODCAST_NS}}}transcript")] == ["text/vtt", "application/json"]
    chapters_url = item.find(f"{{{PODCAST_NS}}}chapters").get("url")
    assert json.loads(http_get(chapters_url)[2])["version"] == "1.2.0"
    status, headers, cover = http_get(summary["feed_url"].replace("feed.xml", "cover.jpg"))
    assert headers["Content-Type"] == "image/jpeg" and cover[:2] == b"\xff\xd8"
    with pytest.raises(urllib.error.HTTPError):  # the .eml template is never public
        http_get(summary["web_url"].replace("index.html", "email.eml"))


def test_rerun_uploads_nothing_and_synthesises_nothing(project):
    issue = project.issue()
    summary_of(project.publish(issue))
    again = summary_of(project.publish(issue))
    assert again["upload"]["uploaded"] == 0
    assert again["audio"]["chunks_synthesized"] == 0


def test_edit_uploads_only_what_changed_and_keeps_the_guid(project):
    issue = project.issue()
    first = summary_of(project.publish(issue))
    feed_before = feedparser.parse(http_get(first["feed_url"])[2])
    bucket = project.bucket_client()
    before = {key: bucket.head(key).etag for key in bucket.list_keys()}
    issue.write_text(SHORT_ISSUE.replace("watch it.", "watch it tonight."), encoding="utf-8")
    second = summary_of(project.publish(issue))
    after = {key: bucket.head(key).etag for key in bucket.list_keys()}
    changed = {key for key in after if before.get(key) != after[key]}
    assert second["audio"]["chunks_synthesized"] == 1
    # Exactly what the edit changed: the new MP3 (a new name), both transcripts, the page, the
    # email's web copies, the catalogue, the home (the new duration) and the feed. Not the
    # chapters (one chapter, at 0 s), the cover, 404 or robots.txt; the sitemap only when the
    # second publish fell on another day (its dates are days).
    episode = "episodes/a-short-test/"
    expected = {
        f"{episode}{second['audio_url'].rsplit('/', 1)[1]}",
        f"{episode}transcript.vtt",
        f"{episode}transcript.json",
        f"{episode}index.html",
        f"{episode}email.html",
        f"{episode}email.txt",
        "catalog.json",
        "index.html",
        "feed.xml",
    }
    assert changed - {"sitemap.xml"} == expected
    assert second["upload"]["uploaded"] == len(changed)
    feed_after = feedparser.parse(http_get(second["feed_url"])[2])
    assert len(feed_after.entries) == 1
    assert feed_after.entries[0].id == feed_before.entries[0].id
    assert feed_after.entries[0].enclosures[0].href != feed_before.entries[0].enclosures[0].href


def test_two_issues_two_items_and_a_fresh_clone_keeps_both(project):
    summary_of(project.publish(project.issue()))
    other = SHORT_ISSUE.replace("A Short Test", "Another Test").replace("2024-03-01", "2024-04-02")
    summary = summary_of(project.publish(project.issue(other, "2024-04-02-another-test.md")))
    third = SHORT_ISSUE.replace("A Short Test", "Third Test").replace("2024-03-01", "2024-05-03")
    summary = summary_of(project.publish(project.issue(third, "2024-05-03-third-test.md"), build="fresh-clone"))
    feed = feedparser.parse(http_get(summary["feed_url"])[2])
    assert [e.title for e in feed.entries] == ["Third Test", "Another Test", "A Short Test"]
    assert [e.itunes_episode for e in feed.entries] == ["3", "2", "1"]


def test_an_episode_keeps_its_address_when_its_slug_would_now_be_derived_otherwise(project):
    """Issue 29, item 11: slugs come from a file named YYYY-MM-DD-<slug>.md now, but an issue
    published under another slug (from its title, or a `slug:` since dropped) keeps the one its
    readers and listeners have, from its catalogue entry."""
    path = project.issue(SHORT_ISSUE.replace("summary:", "slug: a-short-test-old\nsummary:"))
    first = summary_of(project.publish(path))
    path.write_text(SHORT_ISSUE, encoding="utf-8")
    again = summary_of(project.publish(path))
    assert (again["slug"], again["web_url"], again["episode"]) == ("a-short-test-old", first["web_url"], 1)
    feed = feedparser.parse(http_get(again["feed_url"])[2])
    assert [e.link for e in feed.entries] == [first["web_url"]]
    other = summary_of(
        project.publish(project.issue(SHORT_ISSUE.replace("2024-03-01", "2024-03-02"), "2024-03-02-beef.md"))
    )
    assert other["slug"] == "beef"


def test_dry_run_changes_nothing(project):
    summary = summary_of(project.publish(project.issue(), "--dry-run"))
    assert summary["upload"]["uploaded"] == 0 and summary["upload"]["planned"] >= 6
    assert summary["audio"]["mp3"] is None
    with pytest.raises(urllib.error.HTTPError):
        http_get(summary["feed_url"])
    # create_bucket is on, but a dry run does not create the missing bucket either
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        project.bucket_client().client.head_bucket(Bucket=project.bucket)


def test_check_finds_a_deleted_enclosure(project):
    summary = summary_of(project.publish(project.issue()))
    config = str(project.root / "publish.toml")
    ok = CliRunner().invoke(main, ["check", "--config", config, "--json"])
    assert ok.exit_code == 0, ok.output
    from pipeline.config import load_config
    from pipeline.storage.session import open_storage

    with open_storage(load_config(project.root / "publish.toml")) as storage:
        storage.bucket.delete(summary["audio_url"].split(f"/{project.bucket}/", 1)[1])
    broken = CliRunner().invoke(main, ["check", "--config", config, "--json"])
    assert broken.exit_code == 1
    problems = json.loads(broken.stdout)["problems"]
    assert any("HTTP 404" in p for p in problems) and any("missing from the bucket" in p for p in problems)


def test_missing_bucket_and_bad_credentials_are_clear_service_errors(project, monkeypatch):
    issue = project.issue()
    project.config(create_bucket=False)
    result = project.publish(issue, "--no-audio")
    assert result.exit_code == 1
    assert f"bucket '{project.bucket}' does not exist" in result.stderr and "Traceback" not in result.output
    project.config()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
    result = project.publish(issue, "--no-audio")
    assert result.exit_code == 1 and "rejected the credentials" in result.stderr
    assert "wrong-secret-value" not in result.output


def test_unreachable_endpoint_exit_1_as_subprocess(project, example_path):
    config = project.config(endpoint_url="http://127.0.0.1:9")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "issue",
            str(project.issue()),
            "--config",
            str(config),
            "--no-audio",
            "--build-dir",
            str(project.build_dir()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: storage: cannot reach http://127.0.0.1:9")
    assert "Traceback" not in result.stderr


def test_server_dying_mid_upload_leaves_old_feed_and_rerun_completes(project, tmp_path_factory, monkeypatch):
    from pipeline.storage.bucket import Bucket
    from pipeline.storage.embedded import free_base_port, start_embedded_store

    server = start_embedded_store(
        tmp_path_factory.mktemp("dying"), free_base_port(), project.s3.access_key, project.s3.secret_key
    )
    data_dir, port = server.data_dir, int(server.endpoint.rsplit(":", 1)[1])
    try:
        project.config(endpoint_url=server.endpoint)
        first = summary_of(project.publish(project.issue()))
        old_feed = http_get(first["feed_url"])[2]
        original_put, calls = Bucket.put, []

        def put_then_die(self, item, **kwargs):
            calls.append(item.key)
            if len(calls) == 3:
                server.stop()
            return original_put(self, item, **kwargs)

        monkeypatch.setattr(Bucket, "put", put_then_die)
        other = SHORT_ISSUE.replace("A Short Test", "Second Episode").replace("2024-03-01", "2024-04-01")
        issue2 = project.issue(other, "2024-04-01-second-episode.md")
        result = project.publish(issue2)
        assert result.exit_code == 1 and "storage:" in result.stderr
        monkeypatch.setattr(Bucket, "put", original_put)
        server = start_embedded_store(data_dir, port, project.s3.access_key, project.s3.secret_key)
        assert http_get_when_ready(first["feed_url"])[2] == old_feed  # the public feed never changed
        rerun = summary_of(project.publish(issue2))
        feed = feedparser.parse(http_get(rerun["feed_url"])[2])
        assert [e.title for e in feed.entries] == ["Second Episode", "A Short Test"]
    finally:
        server.stop()


def test_the_podcast_guid_is_made_once_and_kept_when_the_feed_moves(project):
    """Podcasting 2.0: podcast:guid is generated once and never changes; apps know the show by it."""
    from lxml import etree

    from pipeline.feed.podcast import PODCAST_NS

    issue = project.issue()
    project.config(public_url=f"{project.s3.endpoint}/{project.bucket}")
    first = summary_of(project.publish(issue, "--no-audio"))
    guid = etree.fromstring(http_get(first["feed_url"])[2]).findtext(f"channel/{{{PODCAST_NS}}}guid")
    catalog = json.loads(http_get(first["feed_url"].replace("feed.xml", "catalog.json"))[2])
    assert catalog["podcast_guid"] == guid
    moved = project.s3.endpoint.replace("127.0.0.1", "localhost")  # the same bucket, another host
    project.config(public_url=f"{moved}/{project.bucket}")
    second = summary_of(
        project.publish(
            project.issue(SHORT_ISSUE.replace("A Short Test", "Another"), "2024-03-02-another.md"), "--no-audio"
        )
    )
    assert second["feed_url"].startswith("http://localhost")
    assert etree.fromstring(http_get(second["feed_url"])[2]).findtext(f"channel/{{{PODCAST_NS}}}guid") == guid
    config = str(project.root / "publish.toml")
    assert CliRunner().invoke(main, ["check", "--config", config, "--json"]).exit_code == 0
    feed = http_get(second["feed_url"])[2].replace(guid.encode(), b"00000000-0000-4000-8000-000000000000")
    from pipeline.storage.bucket import Item

    project.bucket_client().put(Item("feed.xml", "application/rss+xml", "no-cache", data=feed))
    broken = CliRunner().invoke(main, ["check", "--config", config, "--json"])
    assert broken.exit_code == 1
    assert any("podcast:guid" in p and guid in p for p in json.loads(broken.stdout)["problems"])


def test_a_stop_while_the_embedded_store_starts_leaves_no_server_running(tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM (which the CLI turns into the same) while `weed` is starting: it is
    stopped, not left holding its ports for the next command to trip over."""
    import subprocess

    from pipeline.storage import embedded

    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def interrupted(endpoint):
        raise KeyboardInterrupt

    monkeypatch.setattr(embedded.subprocess, "Popen", popen)
    monkeypatch.setattr(embedded, "s3_answers", interrupted)
    port = embedded.free_base_port()
    with pytest.raises(KeyboardInterrupt):
        embedded.start_embedded_store(tmp_path / "s3", port, "access-key", "secret-key-0123456789")
    assert len(started) == 1 and started[0].poll() is not None  # the server was stopped
    assert embedded.port_is_free(port)


def test_an_issue_image_fit_for_apple_is_the_episodes_artwork(project):
    """Issue 29, item 6: apps showed the show's cover even for an issue with an image of its own.
    A square 1400 px JPEG becomes the episode's itunes:image; a wide still does not (Apple
    refuses artwork that is not square)."""
    from PIL import Image

    (project.root / "issues").mkdir(exist_ok=True)
    Image.new("RGB", (1400, 1400), (200, 40, 40)).save(project.root / "issues" / "poster.jpg", quality=80)
    Image.new("RGB", (1600, 900), (40, 40, 200)).save(project.root / "issues" / "still.jpg", quality=80)
    art = {}
    for name, image in (("square", "poster.jpg"), ("wide", "still.jpg")):
        text = SHORT_ISSUE.replace('summary: "', f'image: {image}\nslug: {name}\nsummary: "')
        result = project.publish(project.issue(text, f"2024-03-0{len(art) + 1}-{name}.md"))
        assert result.exit_code == 0, result.output
        feed_url = json.loads(result.stdout)["feed_url"]
        art[name] = result
    xml = http_get(feed_url)[2]
    items = {i.findtext("link").split("/episodes/")[1].split("/")[0]: i for i in etree.fromstring(xml).iter("item")}
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}image"
    square, wide = (items[n].find(itunes).get("href") for n in ("square", "wide"))
    assert "/episodes/square/images/poster-" in square and wide.endswith("/cover.jpg")
    assert http_get(square)[0] == 200  # the artwork named is online
    # Issue 29, item 8: the home page shows each issue with its own image, whatever its shape.
    from tests.visible import parse

    home = parse(http_get(feed_url.replace("feed.xml", "index.html"))[2].decode())
    thumbs = [img.get("src") for img in home.iter("img") if img.get("class") == "thumb"]
    assert (
        len(thumbs) == 2
        and "/episodes/wide/images/still-" in thumbs[0]
        and "/episodes/square/images/poster-" in thumbs[1]
    )
    assert all(http_get(src)[0] == 200 for src in thumbs)
