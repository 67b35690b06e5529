"""A table of hostile and broken issues and configs, each run through `publish issue` to a real
bucket under a prefix. Each either exits 2 with one `error:` line naming the file, or publishes
with everything escaped; none crashes, writes outside the build folder or the prefix, or
leaves anything in the bucket when it fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from lxml import html as lxml_html

from pipeline.cli import main
from tests.conftest import ROOT

AUDIO = ROOT / "pipeline" / "assets"
PREFIX = "shows/hostile/"
FM = '---\ntitle: "{title}"\ndate: 2024-03-01\n{extra}---\n{body}\n'
BODY = "A plain paragraph about a show. It was good."
NASTY = "<script>alert(1)</script> <img src=x onerror=alert(2)> ]]> & <iframe src=//evil.example></iframe> \x07"


def issue(title="Hostile Test", body=BODY, extra="") -> str:
    return FM.format(title=title.replace("\\", "\\\\").replace('"', '\\"'), extra=extra, body=body)


def nested(depth: int) -> str:
    return "\n".join("  " * level + "- level " + str(level) for level in range(depth)) + "\n"


def wide_table(columns: int) -> str:
    return (
        "|"
        + "|".join(f"c{i}" for i in range(columns))
        + "|\n|"
        + "|".join("-" for _ in range(columns))
        + "|\n|"
        + "|".join(f"v{i}" for i in range(columns))
        + "|\n"
    )


# (label, issue text or bytes, config changes {section: {key: value}} or raw TOML text to append, expected exit)
CASES = [
    ("empty", b"", None, 2),
    ("whitespace only", b"  \n\t\n  \n", None, 2),
    ("binary", bytes(range(256)) * 4, None, 2),
    ("invalid utf-8", b"---\ntitle: x\ndate: 2024-03-01\n---\ncaf\xe9 \xff\xfe\n", None, 2),
    ("NUL bytes", issue().replace("plain", "pl\x00ain").encode(), None, 2),
    ("BOM and CRLF", ("\ufeff" + issue()).replace("\n", "\r\n").encode(), None, 0),
    ("5 MB file", issue(body="word " * 1_000_000).encode(), None, 2),
    ("100,000-character line", issue(body="x" * 100_000), None, 0),
    ("unterminated front matter", "---\ntitle: x\ndate: 2024-03-01\nNo closing fence.\n", None, 2),
    ("invalid YAML", "---\ntitle: [unclosed\ndate: 2024-03-01\n---\nBody.\n", None, 2),
    ("front matter is a list", "---\n- a\n- b\n---\nBody.\n", None, 2),
    ("title of the wrong type", "---\ntitle: [1, 2]\ndate: 2024-03-01\n---\nBody.\n", None, 2),
    ("impossible date", "---\ntitle: x\ndate: 2024-02-30\n---\nBody.\n", None, 2),
    ("month 13", "---\ntitle: x\ndate: 2024-13-01\n---\nBody.\n", None, 2),
    ("negative episode", issue(extra="episode: -1\n"), None, 2),
    ("episode as text", issue(extra="episode: three\n"), None, 2),
    ("explicit as text", issue(extra="explicit: maybe\n"), None, 2),
    ("tags not a list", issue(extra="tags: 5\n"), None, 2),
    ("unknown front matter key", issue(extra="titel: typo\n"), None, 2),
    ("slug with ..", issue(extra="slug: ../../evil\n"), None, 2),
    ("slug with /", issue(extra="slug: a/b\n"), None, 2),
    ("slug with backslash", issue(extra="slug: 'a\\\\b'\n"), None, 2),
    ("non-ASCII slug", issue(extra="slug: ünïcödé\n"), None, 2),
    ("1,000-character title", issue(title="T" * 1000), None, 2),
    ("10,000-character summary", issue(extra=f'summary: "{"s " * 5_000}"\n'), None, 0),
    ("script in title", issue(title=NASTY), None, 0),
    ("script, onerror and iframe in body", issue(body=NASTY + "\n\n<script>bad()</script>\n"), None, 0),
    (
        "javascript: links",
        issue(body='[click](javascript:alert(1)) <a href="JaVaScRiPt:alert(2)">x</a> ![i](javascript:alert(3))'),
        None,
        0,
    ),
    ("CDATA end and ampersands", issue(title="]]> & <b>bold</b> &amp;", body="]]> && <![CDATA[ x ]]>"), None, 0),
    ("control characters", issue(title="Ti\x01tle\x1b[31m", body="Te\x0bxt\x08 with\x1f controls."), None, 0),
    (
        "emoji and Hangul everywhere",
        issue(
            title="지금 우리 학교는 🧟",
            body="## 좀비 🧟‍♀️\n\n남온조 😱 ❤️ 🇰🇷.",
            extra='summary: "요약 🧟"\ntags: ["호러", "🧟"]\n',
        ),
        None,
        0,
    ),
    ("only images", issue(body="![a zombie](https://example.com/z.jpg)\n\n![](https://example.com/y.jpg)"), None, 0),
    ("only headings", issue(body="## One\n\n### Two\n\n#### Three"), None, 0),
    ("50-level nesting", issue(body=nested(50) + "\n" + ">" * 50 + " deep quote"), None, 0),
    ("200-column table", issue(body=wide_table(200)), None, 0),
    ("HTML comment and style", issue(body="<!-- hidden --><style>body{display:none}</style>Visible."), None, 0),
    ("unknown config key", issue(), {"show": {"titel": "x"}}, 2),
    ("unknown config section", issue(), '[shwo]\ntitle = "x"\n', 2),
    ("config value of the wrong type", issue(), {"email": {"rate_per_second": "fast"}}, 2),
    ("invalid TOML", issue(), "[show\ntitle = \n", 2),
    ("prefix escaping with ..", issue(), {"storage": {"prefix": "../other/"}}, 2),
    ("invalid bucket name", issue(), {"storage": {"bucket": "Bad_Bucket!"}}, 2),
    ("javascript: site URL", issue(), {"show": {"site_url": "javascript:alert(1)"}}, 2),
    ("missing cover art", issue(), {"show": {"cover": "no-such-cover.jpg"}}, 2),
    ("non-square cover art", issue(), {"show": {"cover": "@wide.jpg"}}, 2),
    ("cover that is not an image", issue(), {"show": {"cover": "@text.jpg"}}, 2),
    ("show title with markup", issue(), {"show": {"title": NASTY.replace("\x07", ""), "author": "<b>me</b> & you"}}, 0),
    ("control character in config", issue(), {"show": {"title": "Bell\x07Show"}}, 2),
    # From the security review (issue 19) and blogs' own markup (issue 15).
    ("YAML anchors and aliases", "---\na: &a [x, x]\nb: [*a, *a]\ntitle: T\n---\nBody.\n", None, 2),
    ("a key given twice", "---\ntitle: One\ntitle: Two\n---\nBody.\n", None, 2),
    ("a 5,000-digit episode", issue(extra="episode: " + "9" * 5000 + "\n"), None, 2),
    ("HTML nested 1,000 deep", issue(body="<div>" * 1000 + "deep" + "</div>" * 1000), None, 2),
    ("'Dr. A ' 10,000 times", issue(body="Dr. A " * 10_000), None, 0),
    ("a heading of 100,000 [", issue(body="## " + "[" * 100_000 + "\n\nText."), None, 0),
    (
        "positioned, tracking style in a table cell",
        issue(
            body='<table><tr><td style="position:fixed;top:0;background:url(https://evil.example/p.gif);'
            'z-index:2147483647;text-align:right">Session expired: <a href="https://evil.example">'
            "sign in</a></td></tr></table>"
        ),
        None,
        0,
    ),
    ("a missing local image", issue(body="![still](images/missing.jpg)"), None, 2),
    (
        "Liquid and Jinja template tags",
        issue(body="{{ page.excerpt }}\n\n{% if page.rating > 3 %}Good.{% endif %}"),
        None,
        0,
    ),
    # From the second security review (issue 26).
    ("<div/> 10,000 times", issue(body="<div/>" * 10_000), None, 2),
    ("<div></x> 10,000 times", issue(body="<div></x>" * 10_000), None, 2),
    ("a heading of 100,000 characters", issue(body="## " + "A long heading " * 7_000 + "\n\nText."), None, 0),
    ("a table row of 100,000 characters", issue(body="| a | b |\n|---|---|\n| x | " + "word " * 20_000 + "|"), None, 0),
    ("a heading of 5,000 digits", issue(body="## " + "9" * 5_000 + "\n\nText."), None, 0),
    (
        "a Hugo episode of 5,000 digits",
        '+++\ntitle = "T"\ndate = 2024-03-01\nepisode = ' + "9" * 5000 + "\n+++\nBody.\n",
        None,
        2,
    ),
    ("YAML nested 5,000 deep", issue(extra="x: " + "[" * 5000 + "]" * 5000 + "\n"), None, 2),
    ("TOML nested 5,000 deep", '+++\ntitle = "T"\nx = ' + "[" * 5000 + "]" * 5000 + "\n+++\nBody.\n", None, 2),
    ("an image through ..", issue(body="![x](../../../private/x.png)"), None, 2),
    ("21 tags", issue(extra="tags: [" + ", ".join(f"t{i}" for i in range(21)) + "]\n"), None, 2),
    ("a tag of 51 characters", issue(extra="tags: [" + "x" * 51 + "]\n"), None, 2),
]


def write_config(root: Path, s3, bucket: str, change) -> Path:
    from PIL import Image

    Image.new("RGB", (3000, 1400), "red").save(root / "wide.jpg")
    (root / "text.jpg").write_text("not a picture")
    sections = {
        "show": {"cover": str(AUDIO / "cover.jpg"), "title": "Hostile Show"},
        "storage": {"endpoint_url": s3.endpoint, "bucket": bucket, "create_bucket": True, "prefix": PREFIX},
        "voice": {"lexicon": str(AUDIO / "lexicon.toml")},
    }
    for section, values in (change if isinstance(change, dict) else {}).items():
        for key, value in values.items():
            sections.setdefault(section, {})[key] = str(root / value[1:]) if str(value).startswith("@") else value
    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
        for name, values in sections.items()
    )
    path = root / "publish.toml"
    path.write_text(text + (change if isinstance(change, str) else ""), encoding="utf-8")
    return path


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts}


def assert_clean_html(text: str, where: str) -> None:
    document = lxml_html.fromstring(text)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("script", "iframe", "object", "embed"), (where, element.tag)
        if element.tag == "style":
            assert "display:none}" not in (element.text or "").replace(" ", ""), where
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (where, name)
            if name.lower() == "style":
                assert not any(p in value.lower() for p in ("position", "url(", "z-index")), (where, value)
            assert not value.strip().lower().startswith(("javascript:", "vbscript:", "data:text")), (where, value)


@pytest.mark.parametrize("label, content, change, expected", CASES, ids=[c[0] for c in CASES])
def test_hostile_input(project, label, content, change, expected):
    root = project.root
    config = write_config(root, project.s3, project.bucket, change)
    path = root / "issues" / "2024-03-01-hostile-test.md"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    build = project.build_dir()
    before = all_files(root)
    result = CliRunner().invoke(
        main, ["issue", str(path), "--config", str(config), "--build-dir", str(build), "--no-audio", "--json"]
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    assert result.exit_code == expected, output
    bucket = project.bucket_client()
    written = all_files(root) - before
    assert all(build in p.parents for p in written), written
    if expected == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and (str(path) in errors[0] or str(config) in errors[0] or str(root) in errors[0]), (
            result.stderr
        )
        assert written == set()
        if bucket.ensure_bucket(create=False):  # a bucket never created holds nothing either
            assert bucket.list_keys() == []
        return
    keys = bucket.list_keys()
    assert keys and all(key.startswith(PREFIX) for key in keys), keys
    feed = bucket.get(PREFIX + "feed.xml")[0]
    etree.fromstring(feed)  # well-formed
    summary = json.loads(result.stdout)
    for name in ("email.html", "index.html"):
        assert_clean_html((build / summary["slug"] / name).read_text(encoding="utf-8"), name)
    catalog = json.loads(bucket.get(PREFIX + "catalog.json")[0])
    assert_clean_html(catalog["episodes"][0]["content_html"] or "<p></p>", "catalog content_html")
    assert "\x07" not in (build / summary["slug"] / "email.txt").read_text(encoding="utf-8")


def test_a_slug_taken_by_another_issue_is_refused(project):
    first = project.issue()
    assert project.publish(first, "--no-audio").exit_code == 0
    other = project.issue(issue(title="Another Test"), "2024-03-02-a-short-test.md")
    result = project.publish(other, "--no-audio")
    assert result.exit_code == 2 and "already used by 2024-03-01-a-short-test.md" in result.stderr
