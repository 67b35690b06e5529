"""Taking an episode back (`publish remove`, or `draft: true` on a published issue), against the
real S3: three published, the middle one removed while a stop falls at two points, and what a
listener and a reader then get: the feed by three parsers, the home page and the neighbours'
pages as text, `publish check` over HTTP, and the episode's files gone."""

from __future__ import annotations

import io
import json

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from lxml import etree

from pipeline.cli import main
from tests.conftest import http_get
from tests.visible import visible_text

ISSUES = {
    "first": ("2024-03-01", "The First One", "A first review, about a quiet film."),
    "middle": ("2024-03-08", "The Middle One", "A second review, about a loud series."),
    "last": ("2024-03-15", "The Last One", "A third review, about a long documentary."),
}


def issue_text(date: str, title: str, body: str, draft: bool = False) -> str:
    return f'---\ntitle: "{title}"\ndate: {date}\n{"draft: true" + chr(10) if draft else ""}---\n{body}\n'


def cli(project, *args: str):
    config = str(project.root / "publish.toml")
    return CliRunner().invoke(main, [*args, "--config", config, "--build-dir", str(project.build_dir())])


def feed_items(project) -> dict[str, dict]:
    """The feed as three parsers read it: {title: podcastparser's episode}, all agreeing."""
    feed_url = json.loads((project.root / "last.json").read_text())["feed_url"]
    xml = http_get(feed_url)[2]
    parsed = {e["title"]: e for e in podcastparser.parse(feed_url, io.BytesIO(xml))["episodes"]}
    assert sorted(e.title for e in feedparser.parse(xml).entries) == sorted(parsed)
    assert sorted(i.findtext("title") for i in etree.fromstring(xml).iter("item")) == sorted(parsed)
    return parsed


def check_passes(project) -> None:
    result = CliRunner().invoke(main, ["check", "--config", str(project.root / "publish.toml"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["problems"] == []


@pytest.fixture
def three(project):
    project.config()
    paths = {}
    for name, (date, title, body) in ISSUES.items():
        paths[name] = project.issue(issue_text(date, title, body), f"{date}-{title.lower().replace(' ', '-')}.md")
        result = project.publish(paths[name])
        assert result.exit_code == 0, result.output
        (project.root / "last.json").write_text(result.stdout)
    return project, paths


def test_an_episode_is_taken_back_everywhere_and_can_come_back(three, monkeypatch):
    project, paths = three
    before = feed_items(project)
    assert sorted(before) == ["The First One", "The Last One", "The Middle One"]
    middle = before["The Middle One"]
    bucket = project.bucket_client()
    assert bucket.list_keys("episodes/the-middle-one/")

    # Stopped after the catalogue and the home pages, before the feed: still consistent.
    import pipeline.storage.published as published

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(published, "publish_feed_from_catalog", stop)
        stopped = cli(project, "remove", "the-middle-one")
    assert stopped.exit_code == 130 and "run the same command again" in stopped.output
    check_passes(project)  # the feed still names it, and every file it names is there
    done = cli(project, "remove", "the-middle-one", "--json")
    assert done.exit_code == 0, done.output
    assert sorted(feed_items(project)) == ["The First One", "The Last One"]
    assert bucket.list_keys("episodes/the-middle-one/") == []
    check_passes(project)
    home_url = json.loads((project.root / "last.json").read_text())["feed_url"].replace("feed.xml", "index.html")
    home = visible_text(http_get(home_url)[2].decode())
    assert "The First One" in home and "The Last One" in home and "The Middle One" not in home
    sitemap = http_get(home_url.replace("index.html", "sitemap.xml"))[2].decode()
    assert "the-middle-one" not in sitemap
    first_page = http_get(home_url.replace("index.html", "episodes/the-first-one/index.html"))[2].decode()
    assert "The Last One" in visible_text(first_page) and "The Middle One" not in visible_text(first_page)
    again = cli(project, "remove", "the-middle-one")  # nothing left to do: still fine
    assert again.exit_code == 0, again.output

    # Published again, it is the same episode to every app: its guid and number.
    back = project.publish(paths["middle"])
    assert back.exit_code == 0, back.output
    returned = feed_items(project)["The Middle One"]
    assert (returned["guid"], returned["number"]) == (middle["guid"], middle["number"])

    # draft: true on a published issue takes it back too, here stopped while deleting its files.
    paths["last"].write_text(issue_text(*ISSUES["last"], draft=True))
    deleted = []
    real_delete = type(bucket).delete

    def delete_once(self, key):
        if deleted:
            raise KeyboardInterrupt
        deleted.append(key)
        real_delete(self, key)

    with monkeypatch.context() as patch:
        patch.setattr(type(bucket), "delete", delete_once)
        assert project.publish(paths["last"]).exit_code == 130
    check_passes(project)
    finished = project.publish(paths["last"])
    assert finished.exit_code == 0, finished.output
    assert sorted(feed_items(project)) == ["The First One", "The Middle One"]
    assert bucket.list_keys("episodes/the-last-one/") == []
    check_passes(project)


def test_removing_what_is_not_published_says_so(three):
    project, _ = three
    missing = cli(project, "remove", "never-published")
    assert missing.exit_code == 2 and "no episode 'never-published' is published" in missing.output
    hostile = cli(project, "remove", "../../etc")
    assert hostile.exit_code == 2 and "is not an episode's slug" in hostile.output
