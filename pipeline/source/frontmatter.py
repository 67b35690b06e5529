"""Front matter in the three dialects blogs write it — YAML between `---` (Jekyll, Hugo), TOML
between `+++` (Hugo), Pelican's `Key: value` lines — mapped to our keys and checked."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError, did_you_mean
from pipeline.source.files import key_line
from pipeline.textutil import xml_safe

MAX_EPISODE = 99_999
MAX_TAGS, MAX_TAG_CHARS = 20, 50
FRONT_MATTER_KEYS = (
    "title",
    "date",
    "slug",
    "summary",
    "author",
    "episode",
    "explicit",
    "tags",
    "image",
    "names",
    "draft",
)
NAME_LANGUAGES = ("ko", "ja")  # `names:` hints for the narration's name rules (audio/names.py)
# Jekyll, Hugo and Pelican keys that mean one of ours, and keys of theirs that shape only a site
# (accepted and ignored). Anything else is still an error, so a typo like `sumary` never passes.
BLOG_SYNONYMS = {
    "description": "summary",
    "excerpt": "summary",
    "cover": "image",
    "images": "image",
    "categories": "tags",
    "category": "tags",
}
BLOG_IGNORED = frozenset(
    {
        "layout",
        "permalink",
        "aliases",
        "weight",
        "lastmod",
        "last_modified_at",
        "modified",
        "toc",
        "toc_label",
        "toc_sticky",
        "comments",
        "share",
        "related",
        "sidebar",
        "menu",
        "type",
        "url",
        "keywords",
        "series",
        "redirect_from",
        "excerpt_separator",
        "sitemap",
        "header",
        "author_profile",
        "read_time",
        "classes",
        "hidden",
        "featured",
        "status",
        "lang",
        "translationKey",
        "canonical_url",
        "showToc",
        "math",
        "save_as",
        "template",
        "translation",
        "publishDate",
        "expiryDate",
        "linkTitle",
        "headless",
        "isCJKLanguage",
        "markup",
        "outputs",
        "resources",
        "params",
        "build",
        "cascade",
    }
)
FILE_NAME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[-_ ](.+))?$")  # Pelican also writes 2012-11-30_slug
# A date with a time after it: only the date is used, so whatever follows a well-formed time
# (a zone, or the year again as in one of Jekyll's own posts) is ignored, as Jekyll's Ruby does.
DATE_TIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:\s|Z|[+-]\d|$)"
)


class _NoDatesLoader(yaml.SafeLoader):
    """Keeps dates as strings so an impossible date is our error, not a YAML crash."""


_NoDatesLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Refused(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message, self.line = message, (mark.line + 2 if mark else 2)  # +2: after the '---'


class _FrontMatterLoader(_NoDatesLoader):
    """Front matter is a few plain keys. Anchors and aliases are refused before anything is
    built (443 bytes of nested aliases expand to gigabytes), and so is a key given twice
    (YAML would silently keep the last)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("YAML anchors and aliases (&name, *name) are not allowed in front matter", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise _Refused(
                    f"'{key}' is given twice (lines {seen[key]} and {key_node.start_mark.line + 2}); keep one",
                    key_node.start_mark,
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line + 2
        return super().construct_mapping(node, deep)


def front_line(text: str, key: str) -> int | None:
    """The line of a front matter key: YAML's `key:`, Hugo's TOML `key =`, Pelican's `Key:`."""
    return key_line(text, key, sep=":") or key_line(text, key, sep="=") or key_line(text, key.capitalize(), sep=":")


# Pelican's Markdown metadata: `Key: value` lines before the first blank line, no fences.
PELICAN_LINE = re.compile(r"^([A-Za-z][A-Za-z_]*):[ \t]*(.*)$")
PELICAN_KEYS = frozenset(
    {
        "title",
        "date",
        "modified",
        "category",
        "tags",
        "slug",
        "author",
        "authors",
        "summary",
        "lang",
        "status",
        "save_as",
        "url",
        "template",
        "translation",
        "image",
    }
)


def _pelican_metadata(text: str) -> tuple[dict, str, int] | None:
    """(metadata, body, body line) of a Pelican post, or None when the text does not start with
    a block of `Key: value` lines (indented lines continue a value) naming one of Pelican's keys.
    Keys of a site's own are kept, so they are refused or ignored as in any front matter."""
    lines = text.split("\n")
    parts: dict[str, list[str]] = {}  # joined once at the end: concatenating each line was quadratic
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
        elif parts and line[:1] in " \t":  # a value continued
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
    return {k: v for k, v in meta.items() if v != ""}, "\n".join(lines[index + 1 :]), index + 2


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
    except ValueError:  # an integer of thousands of digits
        raise InputError.at(path, "front matter has a number too long to be one (over 4300 digits)", 2) from None
    except RecursionError:
        raise InputError.at(path, "front matter is nested too deeply", 2) from None
    return meta, "\n".join(lines[end + 1 :]), end + 2


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
    except ValueError:  # an integer of thousands of digits
        raise InputError.at(path, "front matter has a number too long to be one (over 4300 digits)", 2) from None
    except RecursionError:
        raise InputError.at(path, "front matter is nested too deeply", 2) from None
    except yaml.YAMLError as exc:
        line, message = _yaml_problem(exc)
        raise InputError.at(path, message, line) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError.at(path, "front matter must be 'key: value' lines", 2)
    try:
        meta = _clean_values(meta)
    except UnicodeError:
        raise InputError.at(
            path, "front matter has a \\u escape that is not a character (a lone surrogate)", 2
        ) from None
    except RecursionError:
        raise InputError.at(path, "front matter is nested too deeply", 2) from None
    return meta, "\n".join(lines[index + 1 :]), index + 2


def _clean_values(value: Any) -> Any:
    """YAML escapes ("\\x07", "\\ud83e\\udddf") can put back what reading the file removed:
    join surrogate pairs into characters, drop control characters."""
    if isinstance(value, str):
        return xml_safe(value.encode("utf-16", "surrogatepass").decode("utf-16"))
    if isinstance(value, list):
        return [_clean_values(item) for item in value]
    if isinstance(value, dict):
        return {key: _clean_values(item) for key, item in value.items()}
    return value


def _blog_keys(meta: dict, ignore_keys: tuple[str, ...]) -> dict:
    """A blog post's front matter in our terms: synonyms mapped where ours is not given,
    categories added to tags, layout keys and the site's own `ignore_keys` dropped."""
    ours = {
        k: v
        for k, v in meta.items()
        if k not in BLOG_SYNONYMS and k not in BLOG_IGNORED and k not in ignore_keys and k not in ("draft", "published")
    }
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
            hint = did_you_mean(key, FRONT_MATTER_KEYS) or f" (known: {', '.join(FRONT_MATTER_KEYS)})"
            raise InputError.at(path, f"unknown front matter key '{key}'{hint}", front_line(text, key))
    expected = {"title": str, "slug": str, "summary": str, "author": str, "explicit": bool}
    for key, kind in expected.items():
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            what = "true or false" if kind is bool else "a string (put it in quotes)"
            raise InputError.at(path, f"'{key}' must be {what}", front_line(text, key))
    episode = meta.get("episode")
    if episode is not None and (
        isinstance(episode, bool) or not isinstance(episode, int) or not 1 <= episode <= MAX_EPISODE
    ):
        raise InputError.at(
            path, f"'episode' must be a whole number from 1 to {MAX_EPISODE}", front_line(text, "episode")
        )
    image = meta.get("image")
    if image is not None and not isinstance(image, str):
        raise InputError.at(path, "'image' must be a path or URL (put it in quotes)", front_line(text, "image"))
    names = meta.get("names")
    names = [names] if isinstance(names, str) else names
    if names is not None and not (isinstance(names, list) and all(n in NAME_LANGUAGES for n in names)):
        raise InputError.at(
            path,
            f"'names' must be a list of languages from {', '.join(NAME_LANGUAGES)}, like [ko]",
            front_line(text, "names"),
        )
    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, (str, int)) for t in tags)):
        raise InputError.at(path, "'tags' must be a list like [horror, k-drama]", front_line(text, "tags"))
    if tags and len(tags) > MAX_TAGS:
        raise InputError.at(
            path,
            f"{len(tags)} tags; at most {MAX_TAGS} (each becomes a page of the show's home)",
            front_line(text, "tags"),
        )
    long_tag = next((str(t) for t in tags or () if len(str(t)) > MAX_TAG_CHARS), None)
    if long_tag is not None:
        raise InputError.at(
            path,
            f"tag '{long_tag[:40]}…' is {len(long_tag)} characters; at most {MAX_TAG_CHARS}",
            front_line(text, "tags"),
        )


def parse_date(path: Path, text: str, meta: dict) -> dt.date:
    value = meta.get("date")
    match = FILE_NAME_RE.match(path.stem)
    if value is None and match:
        value, line = match.group(1), None
        where = "in the file name"
    else:
        line, where = front_line(text, "date"), "in 'date'"
    if value is None:
        raise InputError.at(
            path, "no date: add 'date: YYYY-MM-DD' to the front matter or name the file YYYY-MM-DD-slug.md"
        )
    written = str(value).strip()
    with_time = DATE_TIME_RE.match(written)  # Jekyll's "2023-01-29 18:30:22 -0800" and the like
    try:
        return dt.date.fromisoformat(with_time.group(1)) if with_time else dt.datetime.fromisoformat(written).date()
    except ValueError:
        raise InputError.at(path, f"impossible date '{value}' {where} (use YYYY-MM-DD)", line) from None


def read_front_matter(path: Path, text: str, ignore_keys: tuple[str, ...]) -> tuple[dict, str, int]:
    """(our keys, checked; the body; the line the body starts on). `ignore_keys` are the site's own."""
    meta, body, body_line = _split_front_matter(path, text)
    meta = _blog_keys(meta, ignore_keys)
    _check_meta(path, text, meta)
    return meta, body, body_line


_YAML_HINTS = (  # (what YAML was reading when it failed, what to do about it)
    ("quoted scalar", "close the quote on line {line}"),
    ("flow sequence", "close the '[' on line {line} with ']'"),
    ("flow mapping", "close the '{{' on line {line} with '}}'"),
)


def _yaml_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    """(file line, message) for a YAML error: the line where the mistake starts (an unclosed
    quote is found only at the end), YAML's words, and what to do."""
    problem = getattr(exc, "problem", None) or "invalid YAML"
    context = str(getattr(exc, "context", None) or "")
    start = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    line = start.line + 2 if start else 1  # +1 for 1-based, +1 for the opening '---'
    hint = next((h.format(line=line) for words, h in _YAML_HINTS if words in context), "")
    if not hint and "mapping values are not allowed" in problem:
        hint = "put a value containing ': ' in quotes, like title: \"Beef: a review\""
    return line, f"front matter is not valid YAML: {problem}" + (f"; {hint}" if hint else "")
