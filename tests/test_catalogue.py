"""A blog's back catalogue in one command: checked first, numbered by date, resumable."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import feedparser
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import http_get


def review(day: int, extra: str = "") -> str:
    return f"---\ntitle: Review {day}\ndate: 2024-01-{day:02d}\n{extra}---\nReview number {day}. Short and sharp.\n"


def write(project, day: int, extra: str = "") -> None:
    project.issue(review(day, extra), f"2024-01-{day:02d}-review-{day}.md")


def test_a_folder_is_checked_first_then_published_oldest_first(project):
    for day in (5, 2, 9):
        write(project, day)
    write(project, 7, "draft: true\n")
    project.config()
    result = project.publish(project.root / "issues", "--no-audio", "--no-upload")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [(r["slug"], r["episode"], r.get("skipped")) for r in reports] == [
        ("review-2", 1, None), ("review-5", 2, None), ("review-7", None, "draft"), ("review-9", 3, None)]
    shown = CliRunner().invoke(main, ["issue", str(project.root / "issues"), "--no-audio", "--no-upload",
                                      "--config", str(project.root / "publish.toml"), "--build-dir",
                                      str(project.build_dir())])
    assert "progress 3 of 3 issues" in shown.stderr and shown.stderr.count("a draft") == 1


def test_one_bad_issue_stops_the_run_before_anything_is_built(project):
    write(project, 1)
    write(project, 2, "sumary: typo\n")
    write(project, 3, "episode: 1\n")
    write(project, 4, "episode: 1\n")
    project.config()
    result = project.publish(project.root / "issues", "--no-audio")
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "sumary" in errors[0] and "episode 1 is also" in errors[1]
    assert not any((project.root / "build").glob("review-*"))
    from botocore.exceptions import ClientError
    try:                                              # nothing uploaded: not even the bucket was made
        keys = project.bucket_client().client.list_objects_v2(Bucket=project.bucket).get("KeyCount", 0)
    except ClientError:
        keys = 0
    assert keys == 0


def test_a_killed_run_resumes_without_duplicates(project):
    for day in range(1, 6):
        write(project, day)
    config = project.config()
    command = [sys.executable, "-m", "pipeline", "issue", str(project.root / "issues"), "--no-audio",
               "--config", str(config), "--build-dir", str(project.build_dir())]
    run = subprocess.Popen(command, env=dict(os.environ), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           text=True)
    for line in run.stderr:
        if line.startswith("progress 2 of 5"):
            run.send_signal(signal.SIGTERM)
            break
    assert run.wait(60) == 128 + signal.SIGTERM
    again = subprocess.run([*command, "--json"], env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    reports = json.loads(again.stdout)
    feed_url = reports[0]["feed_url"]
    # already published: at most the page again, which now links to the next issue
    assert all(r["upload"]["uploaded"] <= 1 for r in reports[:2])
    feed = feedparser.parse(http_get(feed_url)[2])
    assert not feed.bozo
    catalog = json.loads(http_get(feed_url.replace("feed.xml", "catalog.json"))[2])
    assert sorted((e["slug"], e["number"]) for e in catalog["episodes"]) == [
        (f"review-{d}", d) for d in range(1, 6)]
