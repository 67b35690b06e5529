"""pipeline/source/rawhtml.py: what reviews copied from blogs carry besides Markdown."""

from pipeline.source.rawhtml import embeds_to_links, image_sources, read_html, strip_template_tags, template_tags


def test_template_tags_are_found_with_their_line_and_removed():
    text = "Intro {{ page.excerpt }}.\n{% if page.rating > 3.5 %}Great{%- endif -%}\n{# a\ncomment #} end"
    assert template_tags(text) == [
        (1, "{{ page.excerpt }}"),
        (2, "{% if page.rating > 3.5 %}"),
        (2, "{%- endif -%}"),
        (3, "{# a\ncomment #}"),
    ]
    assert strip_template_tags(text) == "Intro .\nGreat\n end"
    assert template_tags("a { b } {{ unclosed") == []  # a stray brace is text


def test_an_embedded_player_becomes_a_link_a_reader_can_open():
    html = (
        '<iframe width="560" src="https://www.youtube.com/embed/abc123?si=x&amp;t=4"></iframe>'
        "<iframe src='https://player.vimeo.com/video/42'></iframe>"
        '<iframe src="https://open.spotify.com/embed/episode/xyz"></iframe>'
        '<iframe src="https://tracker.example.com/pixel"></iframe>'
    )
    assert embeds_to_links(html) == (
        '<p><a href="https://www.youtube.com/watch?v=abc123">Watch on YouTube</a></p>'
        '<p><a href="https://vimeo.com/42">Watch on Vimeo</a></p>'
        '<p><a href="https://open.spotify.com/episode/xyz">Listen on Spotify</a></p>'
        '<p><a href="https://tracker.example.com/pixel">Open the embedded content on tracker.example.com</a></p>'
    )


def test_image_sources_quoted_or_not():
    assert image_sources('<img src="a.jpg"><IMG alt=x src=b.png><img src=\'c.gif\' /><img alt="none">') == [
        "a.jpg",
        "b.png",
        "c.gif",
    ]


def test_blog_html_is_read_into_headings_paragraphs_list_items_and_rows():
    pieces = read_html(
        "<h2>Cast</h2><p>Park &amp; <a href='https://x.example'>Lee</a></p>"
        "<ul><li>One</li><li>Two</li></ul><table><tr><td>A</td><td>B</td></tr></table>"
    )
    assert [(p.kind, "".join(run[0] for run in p.runs).strip()) for p in pieces] == [
        ("heading", "Cast"),
        ("paragraph", "Park & Lee"),
        ("list_item", "One"),
        ("list_item", "Two"),
        ("table_row", "A | B"),
    ]
    assert ("Lee", "https://x.example", "text") in pieces[1].runs


def test_a_review_that_opens_with_an_embed_is_summarised_by_its_prose(write_issue):
    """Issue 29, item 12: a blog post whose first block is a video got "Watch on YouTube" as
    its summary and the page's meta description."""
    from pipeline.source.parse import parse_issue

    issue = parse_issue(
        write_issue(
            "---\ntitle: Beef\ndate: 2023-04-06\n---\n"
            '<iframe src="https://www.youtube.com/embed/AFPIMHBRfWQ"></iframe>\n\n'
            "Two strangers meet in a road-rage incident. Neither can let it go.\n"
        )
    )
    assert issue.summary == "Two strangers meet in a road-rage incident. Neither can let it go."
    link_first = parse_issue(
        write_issue("---\ntitle: T\ndate: 2023-04-06\n---\n[Watch the trailer](https://example.com/t)\n\nThe review.\n")
    )
    assert link_first.summary == "The review."


def test_headings_follow_the_title_without_a_gap(write_issue):
    """Issue 29, item 9: a blog's <h3> right after the page's <h1> skipped a level (axe:
    heading-order; the W3C validator)."""
    from pipeline.source.parse import parse_issue

    issue = parse_issue(
        write_issue("---\ntitle: T\ndate: 2024-03-01\n---\n<h3>Cast</h3>\n<p>One.</p>\n<h5>Note</h5>\n<p>Two.</p>\n")
    )
    assert "<h2>Cast</h2>" in issue.body_html and "<h3>Note</h3>" in issue.body_html


def test_an_embed_link_becomes_a_click_to_load_player_on_the_page_only_for_known_hosts():
    """Issue 29, item 8: the page's player is the host's own (YouTube's privacy-enhanced one),
    loaded on a click; anything else stays the link it was."""
    from pipeline.site.page import click_to_load
    from pipeline.source.rawhtml import embed_player

    assert embed_player("https://www.youtube.com/watch?v=AFPIMHBRfWQ", "Watch on YouTube") == (
        "https://www.youtube-nocookie.com/embed/AFPIMHBRfWQ"
    )
    assert embed_player("https://vimeo.com/76979871", "Watch on Vimeo") == "https://player.vimeo.com/video/76979871"
    assert embed_player("https://www.youtube.com/watch?v=a%22b", "Watch on YouTube") is None
    assert embed_player("https://www.youtube.com/watch?v=x", "Read more") is None  # a writer's own link
    assert embed_player("http://www.youtube.com/watch?v=x", "Watch on YouTube") is None
    body = embeds_to_links('<iframe src="https://www.youtube.com/embed/AFPIMHBRfWQ"></iframe>')
    page = click_to_load(body)
    assert 'data-player="https://www.youtube-nocookie.com/embed/AFPIMHBRfWQ"' in page and "<iframe" not in page
    other = embeds_to_links('<iframe src="https://player.example.org/e/1"></iframe>')
    assert click_to_load(other) == other
