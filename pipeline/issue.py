"""Parse an issue file (YAML front matter + CommonMark) into a frozen Issue.

The Issue carries the sanitised HTML and the document's structure (sections,
blocks, inline spans) so later stages never parse Markdown again.
"""
from __future__ import annotations

import datetime as dt
import difflib
import html as html_lib
import io
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import nh3
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from pipeline.errors import InputError, Problem, key_line, read_input_file
from pipeline.rawhtml import embeds_to_links, image_sources, read_html, strip_template_tags, template_tags
from pipeline.textutil import FEED_DESCRIPTION_LIMIT, sha256_of, shorten, slugify, split_sentences, xml_safe

MAX_BYTES = 2 * 1024 * 1024
MAX_EPISODE = 99_999
MAX_NESTING = 200                 # elements inside elements; real reviews stay under 20
FRONT_MATTER_KEYS = ("title", "date", "slug", "summary", "author", "episode", "explicit", "tags", "image", "names",
                     "draft")
NAME_LANGUAGES = ("ko", "ja")       # `names:` hints for the narration's name rules (audio/names.py)
# Jekyll, Hugo and Pelican keys that mean one of ours, and keys of theirs that shape only a site
# (accepted and ignored). Anything else is still an error, so a typo like `sumary` never passes.
BLOG_SYNONYMS = {"description": "summary", "excerpt": "summary", "cover": "image", "images": "image",
                 "categories": "tags", "category": "tags"}
BLOG_IGNORED = frozenset({
    "layout", "permalink", "aliases", "weight", "lastmod", "last_modified_at", "modified", "toc", "toc_label",
    "toc_sticky", "comments", "share", "related", "sidebar", "menu", "type", "url", "keywords", "series",
    "redirect_from", "excerpt_separator", "sitemap", "header", "author_profile", "read_time", "classes",
    "hidden", "featured", "status", "lang", "translationKey", "canonical_url", "showToc", "math", "save_as",
    "template", "translation", "publishDate", "expiryDate", "linkTitle", "headless", "isCJKLanguage", "markup",
    "outputs", "resources", "params", "build", "cascade"})
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FILE_NAME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[-_ ](.+))?$")      # Pelican also writes 2012-11-30_slug
# A date with a time after it: only the date is used, so whatever follows a well-formed time
# (a zone, or the year again as in one of Jekyll's own posts) is ignored, as Jekyll's Ruby does.
DATE_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
                          r"(?:\s|Z|[+-]\d|$)")
ALLOWED_TAGS = (nh3.ALLOWED_TAGS - {"center", "map", "area"}) | {"section"}
ALLOWED_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "id", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "li": {"id"},
    "th": {"align", "colspan", "rowspan", "scope", "style"},
    "td": {"align", "colspan", "rowspan", "style"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# A cell's style may align it; nothing else (position, background images, z-index) survives.
STYLE_PROPERTIES = {"text-align", "vertical-align", "width"}


@dataclass(frozen=True)
class Span:
    """A run of inline text: plain, a link (href), inline code, or an image (alt text)."""
    text: str
    href: str | None = None
    kind: str = "text"


@dataclass(frozen=True)
class Block:
    """paragraph | list_item | quote | image | code | table_row | html"""
    kind: str
    spans: tuple[Span, ...]
    depth: int = 0
    ordinal: int | None = None

    @property
    def text(self) -> str:
        return " ".join("".join(s.text for s in self.spans).split())


@dataclass(frozen=True)
class Section:
    title: str | None
    level: int
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class LocalImage:
    """An image the review names by a path next to the issue file; published with the episode
    as `name` (content-addressed, so the key is safe and a changed image gets a new URL)."""
    ref: str
    path: Path
    name: str
    data: bytes = field(default=b"", repr=False, compare=False)   # the bytes checked: what is published


@dataclass(frozen=True)
class Issue:
    source: Path
    title: str
    date: dt.date
    slug: str
    summary: str
    author: str | None
    episode: int | None
    explicit: bool | None
    tags: tuple[str, ...]
    body_html: str
    sections: tuple[Section, ...]
    footnotes: tuple[Block, ...]
    warnings: tuple[Problem, ...] = ()
    images: tuple[LocalImage, ...] = ()
    image: str | None = None          # the header image: a URL, or the ref of one of `images`
    draft: bool = False               # `draft: true` or `published: false`: never published
    names: tuple[str, ...] = ()       # languages of the names in the review, for the voice

    def byline(self, show_author: str) -> str:
        return byline(self.author, show_author)

    def with_image_urls(self, url_for) -> Issue:
        """The issue with every local image's src made the absolute URL `url_for(image)`."""
        if not self.images:
            return self
        urls = {image.ref: url_for(image) for image in self.images}

        def rewrite(tag: str, attribute: str, value: str) -> str:
            return urls.get(value, value) if (tag, attribute) == ("img", "src") else value
        image = urls.get(self.image, self.image) if self.image else None
        return replace(self, body_html=sanitize_html(self.body_html, attribute_filter=rewrite), image=image)

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(b for s in self.sections for b in s.blocks)

    @property
    def word_count(self) -> int:
        return sum(len(b.text.split()) for b in self.blocks)


def sanitize_html(html: str, **extra) -> str:
    """The only way HTML from an issue reaches an email, page or feed."""
    options = {"tags": ALLOWED_TAGS, "attributes": ALLOWED_ATTRIBUTES, "url_schemes": URL_SCHEMES,
               "link_rel": "noopener", "filter_style_properties": STYLE_PROPERTIES, **extra}
    return nh3.clean(html, **options)


def _markdown() -> MarkdownIt:
    return (MarkdownIt("commonmark", {"html": True, "typographer": False})
            .enable(["table", "strikethrough"]).use(footnote_plugin))


class _NoDatesLoader(yaml.SafeLoader):
    """Keeps dates as strings so an impossible date is our error, not a YAML crash."""


_NoDatesLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Refused(Exception):
    def __init__(self, message: str, mark):
        super().__init__(message)
        self.message, self.line = message, (mark.line + 2 if mark else 2)   # +2: after the '---'


class _FrontMatterLoader(_NoDatesLoader):
    """Front matter is a few plain keys. Anchors and aliases are refused before anything is
    built (443 bytes of nested aliases expand to gigabytes), and so is a key given twice
    (YAML would silently keep the last)."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("YAML anchors and aliases (&name, *name) are not allowed in front matter",
                           event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise _Refused(f"'{key}' is given twice (lines {seen[key]} and {key_node.start_mark.line + 2}); "
                               "keep one", key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line + 2
        return super().construct_mapping(node, deep)


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (BOM allowed), LF line endings, no control characters."""
    data = read_input_file(path, "file", MAX_BYTES)
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise InputError.at(path, f"binary file (NUL byte at offset {offset}), not Markdown")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError.at(path, f"not UTF-8 (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})",
                            line) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return xml_safe(text)


def _front_line(text: str, key: str) -> int | None:
    """The line of a front matter key: YAML's `key:`, Hugo's TOML `key =`, Pelican's `Key:`."""
    return key_line(text, key, sep=":") or key_line(text, key, sep="=") or key_line(text, key.capitalize(), sep=":")


# Pelican's Markdown metadata: `Key: value` lines before the first blank line, no fences.
PELICAN_LINE = re.compile(r"^([A-Za-z][A-Za-z_]*):[ \t]*(.*)$")
PELICAN_KEYS = frozenset({"title", "date", "modified", "category", "tags", "slug", "author", "authors",
                          "summary", "lang", "status", "save_as", "url", "template", "translation", "image"})


def _pelican_metadata(text: str) -> tuple[dict, str, int] | None:
    """(metadata, body, body line) of a Pelican post, or None when the text does not start with
    a block of `Key: value` lines (indented lines continue a value) naming one of Pelican's keys.
    Keys of a site's own are kept, so they are refused or ignored as in any front matter."""
    lines = text.split("\n")
    parts: dict[str, list[str]] = {}             # joined once at the end: concatenating each line was quadratic
    key = ""
    index = len(lines)
    for number, line in enumerate(lines):
        if not line.strip():
            index = number
            break
        found = PELICAN_LINE.match(line)
        if found:
            key = found.group(1).lower()
            parts[key] = [found.group(2).strip()]
        elif parts and line[:1] in " \t":                              # a value continued
            parts[key].append(line.strip())
        else:
            return None
    if not parts.keys() & PELICAN_KEYS:
        return None
    meta: dict = {k: " ".join(p for p in v if p) for k, v in parts.items()}
    if "tags" in meta:
        meta["tags"] = [tag.strip() for tag in meta["tags"].split(",") if tag.strip()]
    authors = meta.pop("authors", None)
    if authors and "author" not in meta:
        meta["author"] = " and ".join(a.strip() for a in authors.split(",") if a.strip())
    status = meta.pop("status", "published").lower()
    if status in ("draft", "hidden", "skip"):
        meta["draft"] = True
    return {k: v for k, v in meta.items() if v != ""}, "\n".join(lines[index + 1:]), index + 2


def _toml_front_matter(path: Path, text: str) -> tuple[dict, str, int]:
    """Hugo's `+++` fenced TOML front matter."""
    lines = text.split("\n")
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "+++"), None)
    if end is None:
        raise InputError.at(path, "front matter is not closed: add a line '+++' after it", 1)
    try:
        meta = _clean_values(tomllib.loads("\n".join(lines[1:end])))
    except tomllib.TOMLDecodeError as exc:
        raise InputError.at(path, f"front matter is not valid TOML: {str(exc).split(' (at line')[0]}", 1) from None
    except ValueError:              # an integer of thousands of digits
        raise InputError.at(path, "front matter has a number too long to be one (over 4300 digits)", 2) from None
    except RecursionError:
        raise InputError.at(path, "front matter is nested too deeply", 2) from None
    return meta, "\n".join(lines[end + 1:]), end + 2


def _split_front_matter(path: Path, text: str) -> tuple[dict, str, int]:
    """(front matter, body, line number where the body starts): YAML between `---` lines
    (Jekyll, Hugo), TOML between `+++` lines (Hugo), or Pelican's `Title:` lines."""
    if text.startswith("+++\n"):
        return _toml_front_matter(path, text)
    if not text.startswith("---\n") and text.rstrip("\n") != "---":
        return _pelican_metadata(text) or ({}, text, 1)
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            break
    else:
        raise InputError.at(path, "front matter is not closed: add a line '---' after it", 1)
    raw = "\n".join(lines[1:index])
    try:
        meta = yaml.load(raw, Loader=_FrontMatterLoader) if raw.strip() else {}
    except _Refused as exc:
        raise InputError.at(path, exc.message, exc.line) from None
    except ValueError:              # an integer of thousands of digits
        raise InputError.at(path, "front matter has a number too long to be one (over 4300 digits)", 2) from None
    except RecursionError:
        raise InputError.at(path, "front matter is nested too deeply", 2) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError.at(path, f"front matter is not valid YAML: {problem}", line) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError.at(path, "front matter must be 'key: value' lines", 2)
    try:
        meta = _clean_values(meta)
    except UnicodeError:
        raise InputError.at(path, "front matter has a \\u escape that is not a character (a lone surrogate)",
                            2) from None
    except RecursionError:
        raise InputError.at(path, "front matter is nested too deeply", 2) from None
    return meta, "\n".join(lines[index + 1:]), index + 2


def _clean_values(value):
    """YAML escapes ("\\x07", "\\ud83e\\udddf") can put back what reading the file removed:
    join surrogate pairs into characters, drop control characters."""
    if isinstance(value, str):
        return xml_safe(value.encode("utf-16", "surrogatepass").decode("utf-16"))
    if isinstance(value, list):
        return [_clean_values(item) for item in value]
    if isinstance(value, dict):
        return {key: _clean_values(item) for key, item in value.items()}
    return value


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]{0,30})(?:\s[^<>]{0,2000})?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _check_nesting(path: Path, body: str, body_line: int) -> None:
    """Refuse HTML nested deeper than MAX_NESTING before a parser or sanitiser sees it: their
    cost grows with depth (100,000 nested <div> ran for minutes). One linear scan that counts
    as HTML does: a self-closed non-void tag (`<div/>`) opens, and only a close that matches an
    open tag closes (up to it); any other close (`</x>`) is ignored."""
    stack: list[str] = []
    open_names: Counter[str] = Counter()
    for match in _TAG.finditer(body):
        closing, name = match.group(1), match.group(2).lower()
        if name in _VOID:
            continue
        if closing:
            if open_names[name]:
                while stack:
                    top = stack.pop()
                    open_names[top] -= 1
                    if top == name:
                        break
            continue
        stack.append(name)
        open_names[name] += 1
        if len(stack) > MAX_NESTING:
            line = body_line + body.count("\n", 0, match.start())
            raise InputError.at(path, f"HTML nested more than {MAX_NESTING} levels deep; simplify the markup", line)


def byline(author: str | None, show_author: str) -> str:
    """Who wrote it: the issue's own author, else the show's. The one place this rule lives."""
    return author or show_author


def _blog_keys(meta: dict, ignore_keys: tuple[str, ...]) -> dict:
    """A blog post's front matter in our terms: synonyms mapped where ours is not given,
    categories added to tags, layout keys and the site's own `ignore_keys` dropped."""
    ours = {k: v for k, v in meta.items() if k not in BLOG_SYNONYMS and k not in BLOG_IGNORED
            and k not in ignore_keys and k not in ("draft", "published")}
    if meta.get("draft") is True or meta.get("published") is False:
        ours["draft"] = True
    for key, target in BLOG_SYNONYMS.items():
        value = meta.get(key)
        if value is None:
            continue
        if target == "tags":
            extra = value.split() if isinstance(value, str) else value
            ours["tags"] = [*(ours.get("tags") or []), *(extra if isinstance(extra, list) else [extra])]
        elif target not in ours:
            if key == "images" and isinstance(value, list):
                value = value[0] if value else None
            if key == "cover" and isinstance(value, dict):
                value = value.get("image")
            ours[target] = value
    return ours


def _check_meta(path: Path, text: str, meta: dict) -> None:
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            close = difflib.get_close_matches(str(key), FRONT_MATTER_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(FRONT_MATTER_KEYS)})"
            raise InputError.at(path, f"unknown front matter key '{key}'{hint}", _front_line(text, key))
    expected = {"title": str, "slug": str, "summary": str, "author": str, "explicit": bool}
    for key, kind in expected.items():
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            what = "true or false" if kind is bool else "a string (put it in quotes)"
            raise InputError.at(path, f"'{key}' must be {what}", _front_line(text, key))
    episode = meta.get("episode")
    if episode is not None and (isinstance(episode, bool) or not isinstance(episode, int)
                                or not 1 <= episode <= MAX_EPISODE):
        raise InputError.at(path, f"'episode' must be a whole number from 1 to {MAX_EPISODE}",
                            _front_line(text, "episode"))
    image = meta.get("image")
    if image is not None and not isinstance(image, str):
        raise InputError.at(path, "'image' must be a path or URL (put it in quotes)", _front_line(text, "image"))
    names = meta.get("names")
    names = [names] if isinstance(names, str) else names
    if names is not None and not (isinstance(names, list) and all(n in NAME_LANGUAGES for n in names)):
        raise InputError.at(path, f"'names' must be a list of languages from {', '.join(NAME_LANGUAGES)}, "
                            "like [ko]", _front_line(text, "names"))
    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, (str, int)) for t in tags)):
        raise InputError.at(path, "'tags' must be a list like [horror, k-drama]", _front_line(text, "tags"))
    if tags and len(tags) > MAX_TAGS:
        raise InputError.at(path, f"{len(tags)} tags; at most {MAX_TAGS} (each becomes a page of the show's home)",
                            _front_line(text, "tags"))
    long_tag = next((str(t) for t in tags or () if len(str(t)) > MAX_TAG_CHARS), None)
    if long_tag is not None:
        raise InputError.at(path, f"tag '{long_tag[:40]}…' is {len(long_tag)} characters; at most {MAX_TAG_CHARS}",
                            _front_line(text, "tags"))


def _parse_date(path: Path, text: str, meta: dict) -> dt.date:
    value = meta.get("date")
    match = FILE_NAME_RE.match(path.stem)
    if value is None and match:
        value, line = match.group(1), None
        where = "in the file name"
    else:
        line, where = _front_line(text, "date"), "in 'date'"
    if value is None:
        raise InputError.at(path, "no date: add 'date: YYYY-MM-DD' to the front matter or name the file "
                            "YYYY-MM-DD-slug.md")
    written = str(value).strip()
    with_time = DATE_TIME_RE.match(written)        # Jekyll's "2023-01-29 18:30:22 -0800" and the like
    try:
        return dt.date.fromisoformat(with_time.group(1)) if with_time else dt.datetime.fromisoformat(written).date()
    except ValueError:
        raise InputError.at(path, f"impossible date '{value}' {where} (use YYYY-MM-DD)", line) from None


def parse_issue(path: Path, ignore_keys: tuple[str, ...] = ()) -> Issue:
    """Read and validate one issue file; `ignore_keys` are the site's own front matter keys."""
    path = Path(path)
    text = read_text(path)
    meta, body, body_line = _split_front_matter(path, text)
    meta = _blog_keys(meta, ignore_keys)
    _check_meta(path, text, meta)
    if not body.strip():
        raise InputError.at(path, "empty body: the review has no text", body_line)
    warnings: list[Problem] = []
    tags = template_tags(body)
    if tags:
        line, first = tags[0]
        warnings.append(Problem(str(path), f"template code left over from a blog removed ({len(tags)} tags, "
                                f"first {shorten(first, 40)})", body_line + line - 1))
        body = strip_template_tags(body)
    body = embeds_to_links(body)
    _check_nesting(path, body, body_line)

    md = _markdown()
    env: dict = {}
    tokens = md.parse(body, env)
    _emoji_shortcodes(tokens)
    title = meta.get("title")
    if title is None and len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title = tokens[1].content
        tokens = tokens[3:]       # the heading becomes the title, not a repeat in the body
    title = " ".join((title or "").split())
    file_match = FILE_NAME_RE.match(path.stem)
    if not title:
        stem_slug = file_match.group(2) if file_match else path.stem
        title = (stem_slug or "").replace("-", " ").strip().capitalize()
    if not title:
        raise InputError.at(path, "no title: add 'title:' to the front matter or start with '# Title'")
    if len(title) > 300:
        raise InputError.at(path, f"title is {len(title)} characters; keep it under 300",
                            _front_line(text, "title"))

    from_name = slugify(file_match.group(2) or "") if file_match else slugify(path.stem)
    slug = meta.get("slug") or slugify(title) or from_name
    if (meta.get("slug") and not SLUG_RE.match(slug) and slug.isascii() and not re.search(r"[/\\]|\.\.", slug)
            and slugify(slug)):
        warnings.append(Problem(str(path), f"slug '{slug}' is published as '{slugify(slug)}' (lowercase a-z, "
                                "0-9 and single hyphens)", _front_line(text, "slug")))
        slug = slugify(slug)                # a blog's "mountain-lion-10.8"; never a path
    if not SLUG_RE.match(slug) or len(slug) > 80:
        raise InputError.at(path, f"slug '{slug}' must be lowercase a-z, 0-9 and single hyphens (at most 80)",
                            _front_line(text, "slug"))
    date = _parse_date(path, text, meta)

    sections, footnotes = _structure(tokens)
    html = _SRCLESS_IMG.sub(lambda m: m.group(1) or "",
                            sanitize_html(md.renderer.render(tokens, md.options, env),
                                          attribute_filter=_drop_unloadable_images))
    if not any(s.blocks for s in sections) and not any(s.title for s in sections):
        raise InputError.at(path, "empty body: the review has no text", body_line)
    summary = meta.get("summary")
    summary = " ".join(summary.split()) if summary else _derive_summary(sections)
    if len(html_lib.escape(summary, quote=False).encode()) > FEED_DESCRIPTION_LIMIT:
        summary, kept = _fit_summary(summary)
        warnings.append(Problem(str(path), f"summary is over the feed's {FEED_DESCRIPTION_LIMIT}-byte limit "
                                "(Apple Podcasts); shortened to " + (f"its first {kept} sentences" if kept
                                                                     else "1000 characters"),
                                _front_line(text, "summary") or _front_line(text, "description")))
    refs = _image_refs(tokens, body_line)
    header = (meta.get("image") or "").strip() or None
    if header:
        refs.append((header, _front_line(text, "image")))
    for ref, ref_line in refs:
        if _is_relative(ref) and _SVG_PATH.search(ref.split("#")[0].split("?")[0]):
            warnings.append(Problem(str(path), f"image '{ref}' is an SVG, which email clients do not show; "
                                    "left out (use a PNG)", ref_line))
    images = _local_images(path, refs)
    return Issue(
        source=path, title=title, date=date, slug=slug, summary=summary,
        author=(meta.get("author") or None), episode=meta.get("episode"), explicit=meta.get("explicit"),
        tags=tuple(str(t) for t in meta.get("tags") or ()), body_html=html,
        names=tuple([meta["names"]] if isinstance(meta.get("names"), str) else meta.get("names") or ()),
        sections=sections, footnotes=footnotes, warnings=tuple(warnings), images=images, image=header,
        draft=bool(meta.get("draft")),
    )


def _emoji_shortcodes(tokens) -> None:
    """`:tada:` as the emoji it names, in text only (never in code): blogs write them for
    Jekyll's jemoji or Hugo's enableEmoji. The narration leaves emoji unsaid."""
    import emoji
    for token in tokens:
        for child in token.children or ():
            if child.type == "text" and ":" in child.content:
                child.content = emoji.emojize(child.content, language="alias")


def _fit_summary(summary: str) -> tuple[str, int]:
    """The summary's first whole sentences that fit the feed's limit (escaped, in bytes)."""
    kept: list[str] = []
    for sentence in split_sentences(summary):
        if len(html_lib.escape(" ".join([*kept, sentence]), quote=False).encode()) > FEED_DESCRIPTION_LIMIT - 4:
            break
        kept.append(sentence)
    if not kept:                                     # one endless sentence: cut at a word
        return shorten(summary, FEED_DESCRIPTION_LIMIT // 4), 0
    return " ".join(kept), len(kept)


IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_TAGS, MAX_TAG_CHARS = 20, 50
MAX_IMAGE_PIXELS = 40_000_000          # 8000×5000; more is a decompression bomb, not a photograph


def _image_refs(tokens, body_line: int) -> list[tuple[str, int | None]]:
    """(src, line) of every image in the Markdown and its raw HTML."""
    refs: list[tuple[str, int | None]] = []
    for token in tokens:
        line = body_line + token.map[0] if token.map else None
        for child in [token, *(token.children or ())]:
            if child.type == "image":
                refs.append((child.attrGet("src") or "", line))
            elif child.type in ("html_block", "html_inline"):
                refs += [(src, line) for src in image_sources(child.content)]
    return refs


_IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|bmp|tiff?)$", re.IGNORECASE)
_SVG_PATH = re.compile(r"\.svgz?$", re.IGNORECASE)


def _is_relative(ref: str) -> bool:
    return bool(ref) and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", ref)


def _is_local(ref: str) -> bool:
    """A path to an image file next to the issue (it must exist); other relative sources
    (`src=x`) name nothing a reader could load and are dropped."""
    return _is_relative(ref) and bool(_IMAGE_PATH.search(ref.split("#")[0].split("?")[0]))


# An image whose source was dropped (an SVG, a `src=x` naming nothing) shows its alt text instead
# of a broken frame. nh3 writes attributes double-quoted and escaped, so the text is safe as it is.
_SRCLESS_IMG = re.compile(r'<img(?![^>]*\ssrc=)(?:[^>]*?\salt="([^"]*)")?[^>]*>')


def _drop_unloadable_images(tag: str, attribute: str, value: str) -> str | None:
    if (tag, attribute) == ("img", "src") and _is_relative(value) and not _is_local(value):
        return None
    return value


def site_root(path: Path) -> Path:
    """The folder an issue's images must stay in: the folder the command runs in when the issue
    is inside it (a show's or a blog's own folder), else the issue's own folder."""
    here, folder = Path.cwd().resolve(), path.parent.resolve()
    return here if folder.is_relative_to(here) else folder


def _local_images(path: Path, refs: list[tuple[str, int | None]]) -> tuple[LocalImage, ...]:
    """Images named by a path, resolved against the issue's folder (a site-absolute '/x.jpg'
    against the nearest folder above that has it), each checked to be a real image inside the
    site's folder (no '..' or link out of it) and of bounded size; its checked bytes are kept."""
    from PIL import Image, UnidentifiedImageError
    root = site_root(path)
    found: dict[str, LocalImage] = {}
    for ref, line in refs:
        if not _is_local(ref) or ref in found:
            continue
        relative = ref.split("#")[0].split("?")[0].lstrip("/")
        folder = path.parent.resolve()
        bases = [b for b in [folder, *folder.parents][: 4 if ref.startswith("/") else 1] if b.is_relative_to(root)]
        file = next((b / relative for b in bases if (b / relative).is_file()), None)
        if file is None:
            raise InputError.at(path, f"image '{ref}' not found (looked in {folder}/)", line)
        if not file.resolve().is_relative_to(root):
            raise InputError.at(path, f"image '{ref}' is outside the site's folder {root}/ (through '..' or a "
                                "link); copy it into the site", line)
        try:
            data = read_input_file(file, "image", MAX_IMAGE_BYTES)
            with Image.open(io.BytesIO(data)) as picture:
                extension = IMAGE_FORMATS.get(picture.format or "")
                width, height = picture.size
        except Image.DecompressionBombError:
            raise InputError.at(path, f"image '{ref}' declares more pixels than any photograph (a decompression "
                                f"bomb); at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels", line) from None
        except (UnidentifiedImageError, OSError):
            extension, width, height = None, 0, 0
        if extension is None:
            raise InputError.at(path, f"image '{ref}' is not a JPEG, PNG, GIF or WebP image", line)
        if width * height > MAX_IMAGE_PIXELS:
            raise InputError.at(path, f"image '{ref}' is too large to show ({width}×{height} pixels); at most "
                                f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels", line)
        stem = slugify(Path(relative).stem) or "image"
        digest = sha256_of(data)[:10]
        found[ref] = LocalImage(ref, file, f"images/{stem[:40]}-{digest}{extension}", data)
    return tuple(found.values())


def _derive_summary(sections: tuple[Section, ...]) -> str:
    for section in sections:
        for block in section.blocks:
            if block.kind in ("paragraph", "quote") and block.text:
                summary = ""
                for sentence in split_sentences(block.text):
                    if summary and len(summary) + len(sentence) > 280:
                        break
                    summary = f"{summary} {sentence}".strip()
                return shorten(summary, 400)
    return ""


def _inline_spans(token) -> tuple[Span, ...]:
    spans: list[Span] = []
    href: str | None = None
    for child in token.children or ():
        kind = child.type
        if kind == "link_open":
            href = child.attrGet("href")
        elif kind == "link_close":
            href = None
        elif kind == "text":
            spans.append(Span(child.content, href))
        elif kind in ("softbreak", "hardbreak"):
            spans.append(Span(" ", href))
        elif kind == "code_inline":
            spans.append(Span(child.content, href, "code"))
        elif kind == "image":
            alt = "".join(c.content for c in child.children or ()) or child.content
            spans.append(Span(alt, href, "image"))
        elif kind == "html_inline":
            continue
    merged: list[Span] = []
    for span in spans:
        if merged and merged[-1].href == span.href and merged[-1].kind == span.kind == "text":
            merged[-1] = Span(merged[-1].text + span.text, span.href)
        else:
            merged.append(span)
    return tuple(merged)


def _structure(tokens) -> tuple[tuple[Section, ...], tuple[Block, ...]]:
    sections: list[Section] = []
    current_title, current_level, blocks = None, 0, []
    footnotes: list[Block] = []
    stack: list[str] = []            # open containers: bullet, ordered, item, quote, table, footnote
    counters: list[int] = []         # ordinal of the current item per ordered list
    row: list[Span] = []
    heading = False
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading = True
        elif kind == "heading_close":
            heading = False
        elif kind in ("bullet_list_open", "ordered_list_open"):
            stack.append("ordered" if kind.startswith("ordered") else "bullet")
            counters.append(int(token.attrGet("start") or 1) - 1)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            stack.pop()
            counters.pop()
        elif kind == "list_item_open":
            stack.append("item")
            counters[-1] += 1
        elif kind in ("list_item_close", "blockquote_close", "table_close", "footnote_close"):
            stack.pop()
        elif kind in ("blockquote_open", "table_open", "footnote_open"):
            stack.append({"blockquote_open": "quote", "table_open": "table"}.get(kind, "footnote"))
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row:
            blocks.append(Block("table_row", tuple(row)))
        elif kind == "inline":
            spans = _inline_spans(token)
            if heading:
                if current_title is not None or blocks:
                    sections.append(Section(current_title, current_level, tuple(blocks)))
                current_title = " ".join(token.content.split()) or None
                current_level = int(token.tag[1]) if token.tag.startswith("h") else 2
                blocks = []
                heading = False
                continue
            if "table" in stack:
                if row:
                    row.append(Span(" | "))
                row.extend(spans)
                continue
            if not "".join(s.text for s in spans).strip() and not any(s.kind == "image" for s in spans):
                continue
            block = _block_for(spans, stack, counters)
            (footnotes if "footnote" in stack else blocks).append(block)
        elif kind in ("fence", "code_block") and token.content.strip():
            blocks.append(Block("code", (Span(token.content.rstrip("\n"), None, "code"),)))
        elif kind == "html_block":
            for piece in read_html(token.content):
                spans = tuple(Span(text, href, span_kind) for text, href, span_kind in piece.runs)
                if piece.kind == "heading":
                    if current_title is not None or blocks:
                        sections.append(Section(current_title, current_level, tuple(blocks)))
                    current_title, current_level, blocks = " ".join(Block("", spans).text.split()), piece.level, []
                    continue
                depth = sum(1 for c in stack if c in ("bullet", "ordered")) + (piece.kind == "list_item")
                blocks.append(Block(piece.kind, spans, depth))
    sections.append(Section(current_title, current_level, tuple(blocks)))
    return tuple(s for s in sections if s.title or s.blocks), tuple(footnotes)


def _block_for(spans: tuple[Span, ...], stack: list[str], counters: list[int]) -> Block:
    depth = sum(1 for c in stack if c in ("bullet", "ordered"))
    innermost = next((c for c in reversed(stack) if c in ("item", "quote")), None)
    if all(s.kind == "image" or not s.text.strip() for s in spans):
        return Block("image", spans, depth)
    if innermost == "item":
        lists = [c for c in stack if c in ("bullet", "ordered")]
        ordinal = counters[-1] if lists and lists[-1] == "ordered" else None
        return Block("list_item", spans, depth, ordinal)
    if innermost == "quote":
        return Block("quote", spans, depth)
    return Block("paragraph", spans, depth)
