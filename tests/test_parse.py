import datetime as dt
import json

import pytest

from pipeline.errors import InputError
from pipeline.source.parse import parse_issue

BODY = "A first paragraph. With two sentences.\n\nA second paragraph.\n"


def front(**fields):
    lines = ["---", *[f"{k}: {v}" for k, v in fields.items()], "---", ""]
    return "\n".join(lines) + BODY


def test_example_front_matter_and_text(example_path):
    issue = parse_issue(example_path)
    assert issue.title == "All of Us Are Dead"
    assert issue.date == dt.date(2022, 1, 28)
    assert issue.slug == "all-of-us-are-dead"
    assert issue.tags == ("horror", "k-drama", "netflix", "zombies")
    assert len(issue.blocks) == 14
    assert issue.blocks[0].text.startswith("After the success of “Squid Game,” Netflix")
    assert "“#Alive” (2020)" in issue.blocks[-1].text


def test_example_text_is_word_for_word(example_path):
    shared = example_path.parent.parent.parent / "shared" / "examples" / "all-of-us-are-dead.txt"
    if not shared.exists():
        pytest.skip("shared/ not beside the repo")
    paragraphs = [p.strip() for p in shared.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    assert [b.text for b in parse_issue(example_path).blocks] == paragraphs


def test_plain_review_without_front_matter_derives_everything(write_issue):
    issue = parse_issue(write_issue("Just the review. It is short.\n", "2023-05-06-the-glory.md"))
    assert issue.title == "The glory"
    assert issue.date == dt.date(2023, 5, 6)
    assert issue.slug == "the-glory"
    assert issue.summary == "Just the review. It is short."


def test_title_from_first_heading_is_not_repeated_in_body(write_issue):
    issue = parse_issue(
        write_issue("---\ndate: 2020-03-13\n---\n# Kingdom: Season 2\n\nZombies in Joseon.\n", "kingdom.md")
    )
    assert issue.title == "Kingdom: Season 2"
    assert issue.slug == "kingdom-season-2"
    assert "<h1>" not in issue.body_html


def test_the_slug_is_the_one_in_a_dated_file_name_as_the_sample_issue_says(write_issue):
    text = "---\ntitle: 'Beef: a review of the whole season'\ndate: 2024-03-01\n---\nText.\n"
    assert parse_issue(write_issue(text, "2024-03-01-beef.md")).slug == "beef"
    assert parse_issue(write_issue(text, "2024-03-01_Beef Again.md")).slug == "beef-again"
    assert parse_issue(write_issue(text, "2024-03-01.md")).slug == "beef-a-review-of-the-whole-season"
    assert parse_issue(write_issue(text, "beef-notes.md")).slug == "beef-a-review-of-the-whole-season"
    given = parse_issue(write_issue("---\ntitle: Beef\nslug: my-beef\ndate: 2024-03-01\n---\nT.\n", "2024-03-01-x.md"))
    assert (given.slug, given.slug_given) == ("my-beef", True)


def test_structure_sections_lists_quotes_links_images_tables(write_issue):
    text = front(title="T", date="2024-01-02") + (
        "## Cast\n\n- Park Ji-hoo as [Ohn-jo](https://example.com/a)\n- Yoon Chan-young\n\n"
        "1. first\n2. second\n\n> A quote.\n\n![A poster](https://example.com/p.jpg)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\nText with a note.[^1]\n\n[^1]: The note.\n"
    )
    issue = parse_issue(write_issue(text))
    titles = [s.title for s in issue.sections]
    assert titles == [None, "Cast"]
    cast = issue.sections[1].blocks
    kinds = [b.kind for b in cast]
    assert kinds == [
        "list_item",
        "list_item",
        "list_item",
        "list_item",
        "quote",
        "image",
        "table_row",
        "table_row",
        "paragraph",
    ]
    assert cast[0].spans[1].href == "https://example.com/a" and cast[0].spans[1].text == "Ohn-jo"
    assert [b.ordinal for b in cast[2:4]] == [1, 2]
    assert cast[5].text == "A poster"
    assert cast[7].text == "1 | 2"
    assert [f.text for f in issue.footnotes] == ["The note."]
    assert "<table>" in issue.body_html and "<blockquote>" in issue.body_html


def test_bom_and_crlf_are_accepted(write_issue):
    raw = ("\ufeff" + front(title='"T"', date="2024-01-02")).replace("\n", "\r\n")
    issue = parse_issue(write_issue(raw))
    assert issue.title == "T" and issue.blocks[0].text == "A first paragraph. With two sentences."


def test_raw_html_is_sanitised(write_issue):
    text = front(title="T", date="2024-01-02") + (
        '<script>alert(1)</script>\n\n<iframe src="https://evil"></iframe>\n\n'
        '<p onclick="x()">hi <img src=x onerror="alert(1)"></p>\n\n[click](javascript:alert(1))\n'
    )
    html = parse_issue(write_issue(text)).body_html.lower()
    for bad in ("<script", "<iframe", "onclick", "onerror", 'href="javascript:'):
        assert bad not in html


BAD = [
    ("missing", None, "file not found"),
    ("not utf-8", b"---\ntitle: x\n---\nbad \xff byte\n", "not UTF-8 (invalid byte 0xff at offset 21)"),
    ("binary", b"\x00\x01\x02", "binary file"),
    ("unterminated", "---\ntitle: x\nbody\n", "front matter is not closed"),
    ("not yaml", "---\ntitle: [x\n---\nbody\n", "front matter is not valid YAML"),
    ("impossible date", front(date="2022-02-30"), "impossible date '2022-02-30'"),
    ("no date", "body\n", "no date"),
    ("title not string", front(title="[1, 2]", date="2024-01-01"), "'title' must be a string"),
    ("slug traversal", front(slug="../x", date="2024-01-01"), "slug '../x'"),
    ("slug slash", front(slug="a/b", date="2024-01-01"), "slug 'a/b'"),
    ("unknown key", front(titel="x", date="2024-01-01"), "unknown front matter key 'titel' (did you mean 'title'?)"),
    ("empty body", "---\ntitle: x\ndate: 2024-01-01\n---\n\n  \n", "empty body"),
    ("episode zero", front(episode=0, date="2024-01-01"), "'episode' must be a whole number"),
]


@pytest.mark.parametrize("label,content,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_clear_error(write_issue, tmp_path, label, content, message):
    path = tmp_path / "nope.md" if content is None else write_issue(content, "x.md")
    with pytest.raises(InputError) as caught:
        parse_issue(path)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.file == str(path)
    assert message in problem.message


def test_error_names_the_line(write_issue):
    with pytest.raises(InputError) as caught:
        parse_issue(write_issue("---\ntitle: x\ndate: 2024-01-01\ncolour: red\n---\nbody\n"))
    assert caught.value.problems[0].line == 4


JEKYLL = """---
layout: post
title: "The Glory, part two"
date: 2023-03-10 18:30:22 -0800
categories: [k-drama, revenge]
tags: [netflix]
excerpt: "Moon Dong-eun's revenge comes due."
permalink: /reviews/the-glory-2/
comments: true
hero_style: dark
---
The second half is colder and better.
"""


def test_a_blog_posts_front_matter_is_understood(write_issue):
    path = write_issue(JEKYLL, "2023-03-10-the-glory-2.md")
    with pytest.raises(InputError) as caught:  # a key of the site's own: still an error...
        parse_issue(path)
    assert "unknown front matter key 'hero_style'" in str(caught.value)
    issue = parse_issue(path, ignore_keys=("hero_style",))  # ...until [issues] ignore_keys names it
    assert issue.date == dt.date(2023, 3, 10)
    assert issue.summary == "Moon Dong-eun's revenge comes due."
    assert set(issue.tags) == {"k-drama", "revenge", "netflix"}


@pytest.mark.parametrize(
    "written",
    [
        "2023-03-10T18:30:22Z",
        "2023-03-10 18:30",
        "2023-03-10T18:30:22+09:00",
        "2023-03-10 18:30:22 -0800",
        "2023-03-10 18:30:22 2023 -0800",
    ],
)  # as one of Jekyll's own posts has it
def test_dates_with_times_and_zones(write_issue, written):
    issue = parse_issue(write_issue(f"---\ntitle: T\ndate: {written}\n---\nBody.\n", "post.md"))
    assert issue.date == dt.date(2023, 3, 10)


@pytest.mark.parametrize("written", ["2023-03-10 garbage", "2023-03-10 25:99", "2023-02-30 10:00"])
def test_a_date_that_is_not_one_still_fails(write_issue, written):
    with pytest.raises(InputError, match="impossible date"):
        parse_issue(write_issue(f"---\ntitle: T\ndate: {written}\n---\nBody.\n", "post.md"))


def test_what_jekyll_posts_write_in_their_text(write_issue):
    """Found publishing the 102 posts of Jekyll's own blog: emoji shortcodes (jemoji) become the
    emoji, never in code; an SVG logo, which email clients do not show, is left out with a
    warning and its alt text kept, not a broken frame."""
    from tests.visible import visible_text

    issue = parse_issue(
        write_issue(
            "---\ntitle: T\ndate: 2024-01-01\n---\nHappy Jekylling! :tada: "
            'Use `:tada:` in code.\n\n<div><a href="https://forestry.io">'
            '<img src="/img/logo.svg" alt="Forestry" /></a></div>\n'
        )
    )
    text = visible_text(issue.body_html)
    assert "Happy Jekylling! 🎉" in text and "Use :tada: in code." in text
    assert "<img" not in issue.body_html and "Forestry" in text
    assert any("image '/img/logo.svg' is an SVG" in str(w) for w in issue.warnings)


def test_a_folder_of_markdown_posts_is_a_back_catalogue(tmp_path):
    from pipeline.batch import issue_files

    for name in ("2024-01-01-a.markdown", "2024-01-02-b.md", "notes.json", "2024-01-03-c.MD"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in issue_files([tmp_path])] == ["2024-01-01-a.markdown", "2024-01-02-b.md", "2024-01-03-c.MD"]


def test_hugo_toml_front_matter(write_issue):
    issue = parse_issue(
        write_issue(
            '+++\ntitle = "A Hugo Post"\ndate = 2023-05-20T10:00:00+02:00\ndraft = false\n'
            'tags = ["film", "drama"]\ndescription = "From TOML."\nweight = 3\n'
            '[params]\nmood = "good"\n+++\nThe body.\n',
            "post.md",
        )
    )
    assert (issue.title, issue.date, issue.tags, issue.summary, issue.draft) == (
        "A Hugo Post",
        dt.date(2023, 5, 20),
        ("film", "drama"),
        "From TOML.",
        False,
    )
    with pytest.raises(InputError, match=r"post.md:3: unknown front matter key 'sumary'"):
        parse_issue(write_issue('+++\ntitle = "T"\nsumary = "x"\n+++\nBody.\n', "post.md"))
    with pytest.raises(InputError, match="not valid TOML"):
        parse_issue(write_issue("+++\ntitle = \n+++\nBody.\n", "post.md"))


def test_pelican_metadata(write_issue):
    """Pelican's own sample and test posts: `Key: value` lines, a value continued on indented
    lines, comma-separated tags and authors, `Status: draft`."""
    issue = parse_issue(
        write_issue(
            "Title: My super title\nDate: 2010-12-03 10:20\nModified: 2010-12-05 19:30\nCategory: Python\n"
            "Tags: pelican, publishing\nSlug: my-super-post\nAuthors: Alexis Metaireau, Conan Doyle\n"
            "Summary:\n    Short version for index\n    and feeds\n\nThis is the content of my super blog post.\n",
            "post.md",
        )
    )
    assert (issue.title, issue.date, issue.slug, issue.author, issue.summary) == (
        "My super title",
        dt.date(2010, 12, 3),
        "my-super-post",
        "Alexis Metaireau and Conan Doyle",
        "Short version for index and feeds",
    )
    assert set(issue.tags) == {"pelican", "publishing", "Python"}
    assert "Title" not in issue.body_html and "content of my super blog post" in issue.body_html
    assert parse_issue(write_issue("Title: T\nDate: 2010-12-03\nStatus: draft\n\nBody.\n", "d.md")).draft
    plain = parse_issue(write_issue("---\ntitle: T\ndate: 2024-01-01\n---\nNote: a body that starts so.\n"))
    assert "Note: a body that starts so." in plain.body_html
    body_only = parse_issue(write_issue("Note: not metadata\n\nMore.\n", "2024-01-01-n.md"))
    assert "Note: not metadata" in body_only.body_html


def test_a_blogs_slug_is_made_a_safe_one_with_a_warning(write_issue):
    issue = parse_issue(write_issue("---\ntitle: T\ndate: 2024-01-01\nslug: Mountain-Lion-10.8\n---\nBody.\n"))
    assert issue.slug == "mountain-lion-10-8"
    assert any("published as 'mountain-lion-10-8'" in str(w) for w in issue.warnings)
    for path_like in ("../../evil", "a/b", "a\\\\b"):
        with pytest.raises(InputError, match="must be lowercase"):
            parse_issue(write_issue(f"---\ntitle: T\ndate: 2024-01-01\nslug: '{path_like}'\n---\nBody.\n"))


def test_a_typo_still_fails_with_a_suggestion(write_issue):
    with pytest.raises(InputError) as caught:
        parse_issue(write_issue("---\ntitle: T\nsumary: x\n---\nBody.\n"))
    assert "did you mean 'summary'" in str(caught.value)


@pytest.mark.parametrize("key", ["draft: true", "published: false"])
def test_a_draft_is_parsed_and_never_published(write_issue, tmp_path, key):
    from click.testing import CliRunner

    from pipeline.cli import main

    path = write_issue(f"---\ntitle: Not yet\ndate: 2024-01-01\n{key}\n---\nText.\n")
    assert parse_issue(path).draft
    result = CliRunner().invoke(
        main, ["issue", str(path), "--no-upload", "--no-audio", "--json", "--build-dir", str(tmp_path / "build")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["skipped"] == "draft"
    assert not (tmp_path / "build").exists()
    assert not parse_issue(write_issue("---\ntitle: T\ndate: 2024-01-01\ndraft: false\n---\nText.\n")).draft


def test_a_summary_over_the_feed_limit_is_shortened_at_a_sentence_with_a_warning(write_issue):
    long = " ".join(f"Sentence number {n} says a little more about the show." for n in range(120))
    issue = parse_issue(write_issue(f'---\ntitle: T\ndate: 2024-01-01\nsummary: "{long}"\n---\nText.\n'))
    assert len(issue.summary.encode()) <= 4000 and issue.summary.endswith("about the show.")
    assert any("over the feed's 4000-byte limit" in str(w) and ":4:" in str(w) for w in issue.warnings)


def test_every_missing_image_is_reported_at_once(write_issue):
    """Issue 29, item 11: two missing images were reported one run at a time."""
    from pipeline.errors import InputError

    path = write_issue("---\ntitle: T\ndate: 2024-03-01\n---\n![a](gone-1.jpg)\n\nText.\n\n![b](gone-2.png)\n")
    with pytest.raises(InputError) as caught:
        parse_issue(path)
    found = [(p.line, p.message.split(" not found")[0]) for p in caught.value.problems]
    assert found == [(5, "image 'gone-1.jpg'"), (9, "image 'gone-2.png'")]


@pytest.mark.parametrize(
    "front, line, hint",
    [
        ('title: "Beef\ndate: 2024-03-01', 2, "close the quote"),
        ("title: Beef: a review\ndate: 2024-03-01", 2, "in quotes"),
        ("tags: [a, b\ndate: 2024-03-01", 2, "close the '['"),
    ],
    ids=["open quote", "colon in a value", "open list"],
)
def test_a_yaml_mistake_points_at_the_line_it_starts_on_with_a_hint(write_issue, front, line, hint):
    """Issue 29, item 11: an unclosed quote was reported on the line after it, with YAML's
    words only ("found unexpected end of stream")."""
    from pipeline.errors import InputError

    with pytest.raises(InputError) as caught:
        parse_issue(write_issue(f"---\n{front}\n---\nText.\n"))
    (problem,) = caught.value.problems
    assert problem.line == line and hint in problem.message, (problem.line, problem.message)
