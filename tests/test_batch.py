"""pipeline/batch.py: a blog's archive in one command — checked first, numbered by date, resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import feedparser
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import ROOT, SHORT_ISSUE, http_get


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
        ("review-2", 1, None),
        ("review-5", 2, None),
        ("review-7", None, "draft"),
        ("review-9", 3, None),
    ]
    shown = CliRunner().invoke(
        main,
        [
            "issue",
            str(project.root / "issues"),
            "--no-audio",
            "--no-upload",
            "--config",
            str(project.root / "publish.toml"),
            "--build-dir",
            str(project.build_dir()),
        ],
    )
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

    try:  # nothing uploaded: not even the bucket was made
        keys = project.bucket_client().client.list_objects_v2(Bucket=project.bucket).get("KeyCount", 0)
    except ClientError:
        keys = 0
    assert keys == 0


def test_a_killed_run_resumes_without_duplicates(project):
    for day in range(1, 6):
        write(project, day)
    config = project.config()
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "issue",
        str(project.root / "issues"),
        "--no-audio",
        "--config",
        str(config),
        "--build-dir",
        str(project.build_dir()),
    ]
    run = subprocess.Popen(command, env=dict(os.environ), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
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
    assert sorted((e["slug"], e["number"]) for e in catalog["episodes"]) == [(f"review-{d}", d) for d in range(1, 6)]


def test_one_speech_engine_speaks_the_whole_run(project, monkeypatch):
    """The voice is loaded once for a run of many issues, not once per issue, and the threads'
    progress never splits a line of the run's report."""
    from pipeline.audio import tts

    loads = []
    real = tts.load_piper
    monkeypatch.setattr(tts, "load_piper", lambda *a, **k: loads.append(1) or real(*a, **k))
    for day in (3, 4, 5):
        write(project, day, f"summary: Unique words for day {day} of the engine test.\n")
    (project.root / "issues" / "2024-01-03-review-3.md").write_text(
        review(3, "").replace("Short and sharp.", "The third day, spoken once by one engine.")
    )
    project.config()
    result = project.publish(project.root / "issues")
    assert result.exit_code == 0, result.output
    assert sum(r["audio"]["chunks_synthesized"] for r in json.loads(result.stdout)) > 0
    assert len(loads) == 1
    words = ("synthesis", "upload", "audio", "email", "home", "feed", "progress", "warning:")
    lines = [line for line in result.stderr.splitlines() if line]
    assert all(line.startswith(words) for line in lines), result.stderr
    assert len({line for line in lines if line.startswith("warning:")}) == sum(
        line.startswith("warning:") for line in lines
    )  # a show-wide warning said once


BLOG = {
    # file name (not in date order) -> text; two drafts among them
    "zz-first.md": "---\ntitle: The First One\ndate: 2023-01-05\n---\n| Field | Value |\n|---|---|\n"
    "| Title | A History of Islamic Spain |\n| Author | W. Montgomery Watt |\n\nA short first review.\n",
    "a-jekyll.md": "---\nlayout: post\ntitle: A Jekyll Post\ndate: 2023-03-15 09:30:00 +0100\n"
    "categories: [film, drama]\npermalink: /2023/03/jekyll/\nexcerpt: An excerpt from Jekyll.\n"
    "image: images/still.jpg\ncomments: true\n---\nIt opens on a quiet street. Then it rains.\n",
    "b-draft.md": "---\ntitle: Not Yet\ndate: 2023-04-01\ndraft: true\n---\nUnfinished thoughts.\n",
    "c-hugo.md": '---\ntitle: A Hugo Post\ndate: "2023-05-20T10:00:00+02:00"\ndescription: From Hugo.\n'
    "lastmod: 2023-05-21\ntoc: false\ndraft: false\ntags: [series]\n---\n"
    "Hugo writes dates as strings. Episode three is the best.\n",
    "d-hidden.md": "---\ntitle: Hidden\ndate: 2023-06-11\npublished: false\n---\nNot for now.\n",
    "e-picture.md": "---\ntitle: With A Picture\ndate: 2023-07-04\n---\n![A boy on a bicycle](images/still.jpg)\n\n"
    "The picture says it all.\n",
    "f-wide.md": "---\ntitle: A Wide Table\ndate: 2023-08-09\n---\n| Film | Year | Rating |\n|---|---|---|\n"
    "| Rammbock | 2010 | Good |\n| Train to Busan | 2016 | Great |\n",
    "g-last.md": "---\ntitle: The Last One\ndate: 2023-10-31\n---\nThe last review of the year. Goodbye.\n",
}
DATE_ORDER = [
    "the-first-one",
    "a-jekyll-post",
    "a-hugo-post",
    "with-a-picture",
    "a-wide-table",
    "the-last-one",
    "oke-oka",
    "book-shelf",
]


def test_ten_issues_with_audio_killed_three_times_resume_to_one_catalogue(tmp_path, speech_cache, monkeypatch):
    """The batch's done-when: ten issues (raw HTML, Jekyll and Hugo front matter,
    relative images, tables, two drafts) published with audio in one command to the embedded
    store, killed mid-synthesis, mid-upload and between issues; after every kill the public
    feed is valid and names only files that answer; the last run finishes with each episode
    once, numbered by date, and the home page lists them all."""
    import shutil

    from pipeline.config import load_config
    from pipeline.storage.embedded import free_base_port
    from pipeline.storage.session import open_storage
    from tests.test_home import links_of
    from tests.visible import visible_text

    reviews = tmp_path / "issues"
    shutil.copytree(ROOT / "tests" / "reviews", reviews)
    for name, text in BLOG.items():
        (reviews / name).write_text(text)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / ".cache").symlink_to(speech_cache)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PUBLISH_LOCAL_S3_PORT"] = str(free_base_port())
    command = [sys.executable, "-m", "pipeline", "issue", "issues/"]

    def run_until(stop_at) -> None:
        run = subprocess.Popen(
            command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        seen: list[str] = []
        for line in run.stderr:
            seen.append(line)
            if stop_at(seen):
                run.send_signal(signal.SIGTERM)
                break
        assert run.wait(120) == 128 + signal.SIGTERM, "".join(seen)

    def check(published_before: int) -> list[dict]:
        checked = subprocess.run(
            [sys.executable, "-m", "pipeline", "check", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert checked.stdout, checked.stderr
        result = json.loads(checked.stdout)
        catalog = [json.loads(line) for line in _catalog_lines(tmp_path, env)]
        if not catalog:  # nothing public yet: no feed at all
            assert published_before == 0 and all("HTTP" in p for p in result["problems"])
            return catalog
        assert result["problems"] == [] and result["items"] == len(catalog), result
        slugs = [e["slug"] for e in catalog]
        assert len(set(slugs)) == len(slugs) and sorted(e["number"] for e in catalog) == list(
            range(1, len(catalog) + 1)
        )
        return catalog

    run_until(lambda seen: seen[-1].startswith("synthesis:"))  # speaking the first issue
    after = check(0)
    run_until(lambda seen: sum(line.startswith("upload: 2/") for line in seen) == 2)  # mid-upload
    after = check(len(after))
    run_until(lambda seen: seen[-1].startswith("progress 6 of 8"))  # between issues
    after = check(len(after))
    assert len(after) >= 6
    final = subprocess.run([*command, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    reports = json.loads(final.stdout)
    assert sorted(r["slug"] for r in reports if r.get("skipped") == "draft") == ["hidden", "not-yet"]
    catalog = check(len(after))
    assert [e["slug"] for e in sorted(catalog, key=lambda e: e["number"])] == DATE_ORDER
    assert all(e["audio"] for e in catalog)

    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PUBLISH_LOCAL_S3_PORT", env["PUBLISH_LOCAL_S3_PORT"])
    with open_storage(load_config()) as storage:
        home = storage.links.feed_url.replace("feed.xml", "index.html")
        page = http_get(home)[2].decode()
        text = visible_text(page)
        for entry in catalog:
            assert entry["title"] in text
        host = home.split("/")[2]
        urls = [u for u in links_of(page, home) if u.split("/")[2] == host]
        for url in urls:
            audio = url.endswith(".mp3")
            assert http_get(url, {"Range": "bytes=0-99"} if audio else None)[0] == (206 if audio else 200), url
        assert sum(u.endswith(".mp3") for u in urls) == len(DATE_ORDER)


def _catalog_lines(root, env) -> list[str]:
    """The public catalogue's episodes, one JSON line each, read through the embedded store."""
    script = (
        "import json; from pipeline.config import load_config; from pipeline.storage.session import open_storage\n"
        "from pipeline.storage.upload import read_catalog\n"
        "with open_storage(load_config()) as s:\n"
        "    for e in json.loads(read_catalog(s.bucket, s.links.layout).to_json())['episodes']: print(json.dumps(e))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_an_older_review_published_later_is_told_how_its_number_is_chosen(local_project):
    """Issue 29, item 2: older reviews published after a newer one were numbered out of date
    order without a word (home and feed read 1, 3, 2)."""
    newer = local_project.issue(SHORT_ISSUE.replace("2024-03-01", "2024-05-01"), "2024-05-01-newer.md")
    older = local_project.issue(SHORT_ISSUE.replace("A Short Test", "An Older One"), "2024-03-01-older.md")
    first = local_project.publish(newer, "--no-upload", "--no-audio", build="numbers")
    assert first.exit_code == 0, first.output
    second = local_project.publish(older, "--no-upload", "--no-audio", build="numbers")
    assert second.exit_code == 0, second.output
    assert "before episode 1" in second.stderr and "becomes episode 2" in second.stderr
    assert "`episode:`" in second.stderr
