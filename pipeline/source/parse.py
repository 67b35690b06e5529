"""One issue file read into a frozen Issue: the steps in order, each in the module of its job."""

from __future__ import annotations

import html as html_lib
from pathlib import Path

from markdown_it.token import Token

from pipeline.errors import InputError, Problem
from pipeline.source.document import Issue, Section
from pipeline.source.files import read_issue_text
from pipeline.source.frontmatter import FILE_NAME_RE, front_line, parse_date, read_front_matter
from pipeline.source.images import image_refs, local_images, svg_warnings
from pipeline.source.rawhtml import embeds_to_links, strip_template_tags, template_tags
from pipeline.source.sanitize import check_nesting, render_html
from pipeline.source.structure import derive_summary, emoji_shortcodes, fit_summary, markdown, structure
from pipeline.textutil import FEED_DESCRIPTION_LIMIT, SLUG_RE, shorten, slugify

MAX_TITLE_CHARS = 300


def parse_issue(path: Path, ignore_keys: tuple[str, ...] = ()) -> Issue:
    """Read and validate one issue file; `ignore_keys` are the site's own front matter keys."""
    path = Path(path)
    text = read_issue_text(path)
    meta, body, body_line = read_front_matter(path, text, ignore_keys)
    if not body.strip():
        raise InputError.at(path, "empty body: the review has no text", body_line)
    warnings: list[Problem] = []
    body = _without_blog_leftovers(path, body, body_line, warnings)
    check_nesting(path, body, body_line)

    md = markdown()
    env: dict = {}
    tokens = md.parse(body, env)
    emoji_shortcodes(tokens)
    title, tokens = _title(path, text, meta, tokens)
    slug = _slug(path, text, meta, title, warnings)
    date = parse_date(path, text, meta)
    sections, footnotes = structure(tokens)
    html = render_html(md, tokens, env)
    if not any(s.blocks for s in sections) and not any(s.title for s in sections):
        raise InputError.at(path, "empty body: the review has no text", body_line)
    summary = _summary(path, text, meta, sections, warnings)
    refs = image_refs(tokens, body_line)
    header = (meta.get("image") or "").strip() or None
    if header:
        refs.append((header, front_line(text, "image")))
    warnings += svg_warnings(path, refs)
    images = local_images(path, refs)
    names = meta.get("names")
    return Issue(
        source=path,
        title=title,
        date=date,
        slug=slug,
        slug_given=bool(meta.get("slug")),
        summary=summary,
        summary_given=bool(meta.get("summary")),
        author=(meta.get("author") or None),
        episode=meta.get("episode"),
        explicit=meta.get("explicit"),
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        body_html=html,
        names=tuple([names] if isinstance(names, str) else names or ()),
        sections=sections,
        footnotes=footnotes,
        warnings=tuple(warnings),
        images=images,
        image=header,
        draft=bool(meta.get("draft")),
    )


def _without_blog_leftovers(path: Path, body: str, body_line: int, warnings: list[Problem]) -> str:
    """Liquid or Jinja tags removed (with a warning), embedded players made links."""
    tags = template_tags(body)
    if tags:
        line, first = tags[0]
        warnings.append(
            Problem(
                str(path),
                f"template code left over from a blog removed ({len(tags)} tags, first {shorten(first, 40)})",
                body_line + line - 1,
            )
        )
        body = strip_template_tags(body)
    return embeds_to_links(body)


def _title(path: Path, text: str, meta: dict, tokens: list[Token]) -> tuple[str, list[Token]]:
    """The title: the front matter's, else a leading `# Heading` (then dropped from the body,
    not repeated), else the file name's."""
    title = meta.get("title")
    if title is None and len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title = tokens[1].content
        tokens = tokens[3:]
    title = " ".join((title or "").split())
    if not title:
        file_match = FILE_NAME_RE.match(path.stem)
        stem_slug = file_match.group(2) if file_match else path.stem
        title = (stem_slug or "").replace("-", " ").strip().capitalize()
    if not title:
        raise InputError.at(path, "no title: add 'title:' to the front matter or start with '# Title'")
    if len(title) > MAX_TITLE_CHARS:
        raise InputError.at(
            path, f"title is {len(title)} characters; keep it under {MAX_TITLE_CHARS}", front_line(text, "title")
        )
    return title, tokens


def _slug(path: Path, text: str, meta: dict, title: str, warnings: list[Problem]) -> str:
    """The front matter's slug (a blog's "mountain-lion-10.8" made one, never a path), else the
    one in a file name `YYYY-MM-DD-<slug>.md` (as the sample issue tells the writer), else the
    title's, else the file name's. (An issue already published keeps the slug it has online:
    feed/catalog.py's `published_slug`.)"""
    file_match = FILE_NAME_RE.match(path.stem)
    dated = slugify(file_match.group(2) or "") if file_match else ""
    slug = meta.get("slug") or dated or slugify(title) or slugify(path.stem)
    if (
        meta.get("slug")
        and not SLUG_RE.match(slug)
        and slug.isascii()
        and "/" not in slug
        and "\\" not in slug
        and ".." not in slug
        and slugify(slug)
    ):
        warnings.append(
            Problem(
                str(path),
                f"slug '{slug}' is published as '{slugify(slug)}' (lowercase a-z, 0-9 and single hyphens)",
                front_line(text, "slug"),
            )
        )
        slug = slugify(slug)
    if not SLUG_RE.match(slug) or len(slug) > 80:
        raise InputError.at(
            path, f"slug '{slug}' must be lowercase a-z, 0-9 and single hyphens (at most 80)", front_line(text, "slug")
        )
    return slug


def _summary(path: Path, text: str, meta: dict, sections: tuple[Section, ...], warnings: list[Problem]) -> str:
    """The writer's summary, else the review's first sentences; shortened to whole sentences
    that fit the feed's limit, with a warning."""
    summary = meta.get("summary")
    summary = " ".join(summary.split()) if summary else derive_summary(sections)
    if len(html_lib.escape(summary, quote=False).encode()) > FEED_DESCRIPTION_LIMIT:
        summary, kept = fit_summary(summary)
        warnings.append(
            Problem(
                str(path),
                f"summary is over the feed's {FEED_DESCRIPTION_LIMIT}-byte limit "
                "(Apple Podcasts); shortened to " + (f"its first {kept} sentences" if kept else "1000 characters"),
                front_line(text, "summary") or front_line(text, "description"),
            )
        )
    return summary
