"""The catalogue of published episodes (catalog.json): the source of truth for the feed,
kept in the bucket so any machine can publish the next issue."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from pipeline.errors import InputError
from pipeline.source.document import Issue
from pipeline.storage.links import Links
from pipeline.textutil import PREFIX_PATTERN, SLUG_RE, UUID_RE
from pipeline.timefmt import utc_stamp

CATALOG_VERSION = 1


@dataclass(frozen=True)
class AudioInfo:
    key: str  # bucket key of the MP3 (content-hashed name)
    bytes: int
    sha256: str
    duration_s: float
    transcript_key: str
    chapters_key: str
    words_key: str | None = None  # transcript.json, a segment per word (older episodes: none)
    chapters: tuple[tuple[float, str], ...] = ()  # (start s, title), for the feed's psc:chapters


@dataclass(frozen=True)
class Episode:
    slug: str
    guid: str  # never changes once published
    number: int
    title: str
    date: str  # ISO date of the issue
    summary: str
    content_html: str  # sanitised review HTML
    author: str
    explicit: bool
    page_key: str
    audio: AudioInfo | None = None
    tags: tuple[str, ...] = ()
    first_published: str = ""
    updated: str = ""
    source: str = ""  # the issue file's name, so one slug cannot serve two issues
    artwork_key: str = ""  # the issue's own image as the episode's artwork, where Apple's rules allow
    image_key: str = ""  # the issue's own header image (`image:`), shown with it on the home page

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.date)

    @staticmethod
    def from_json(data: dict) -> Episode:
        audio = data.get("audio")
        if audio:
            audio = AudioInfo(**{**audio, "chapters": tuple(tuple(c) for c in audio.get("chapters", ()))})
        return Episode(**{**data, "audio": audio or None, "tags": tuple(data.get("tags", ()))})


_TEXT_FIELDS = (
    "slug",
    "guid",
    "title",
    "date",
    "summary",
    "content_html",
    "author",
    "page_key",
    "first_published",
    "updated",
    "source",
)


MAX_CHAPTERS = 1000


def _check_types(episode: Episode) -> None:
    """Every later home page, feed and sitemap is built from these: a number as a tag or a date
    that is no date would break them all, so the catalogue is refused where it is read."""
    for name in _TEXT_FIELDS:
        if not isinstance(getattr(episode, name), str):
            raise ValueError(f"episode field {name!r} is not text")
    if not all(isinstance(tag, str) for tag in episode.tags) or not isinstance(episode.explicit, bool):
        raise ValueError(f"episode '{episode.slug}' has a tag that is not text, or explicit is not true/false")
    dt.date.fromisoformat(episode.date)
    for stamp in (episode.first_published, episode.updated):
        if stamp:
            dt.datetime.fromisoformat(stamp)
    audio = episode.audio
    if audio is not None and not (
        isinstance(audio.bytes, int)
        and isinstance(audio.duration_s, (int, float))
        and all(isinstance(k, str) for k in (audio.key, audio.sha256))
    ):
        raise ValueError(f"episode '{episode.slug}' has audio fields of the wrong type")
    if audio is not None and not (
        len(audio.chapters) <= MAX_CHAPTERS
        and all(
            len(c) == 2 and isinstance(c[0], (int, float)) and isinstance(c[1], str) and len(c[1]) <= 500
            for c in audio.chapters
        )
    ):
        raise ValueError(f"episode '{episode.slug}' has chapters that are not (start, title) pairs")


def _check_keys(episode: Episode) -> None:
    """Anyone who can write catalog.json decides what the feed and pages link to: every key
    must stay inside its own episode's folder, as publish writes them."""
    if not SLUG_RE.match(episode.slug) or not isinstance(episode.number, int):
        raise ValueError(f"episode slug {episode.slug!r} or number is not one publish writes")
    inside = re.compile(PREFIX_PATTERN + rf"episodes/{episode.slug}/[A-Za-z0-9][A-Za-z0-9._-]*$")
    keys = [episode.page_key]
    if episode.audio is not None:
        keys += [episode.audio.key, episode.audio.transcript_key, episode.audio.chapters_key]
        keys += [episode.audio.words_key] if episode.audio.words_key is not None else []
    for key in keys:
        if not isinstance(key, str) or not inside.match(key) or "/../" in f"/{key}/":
            raise ValueError(f"key {key!r} of episode '{episode.slug}' is outside its folder")
    image = re.compile(PREFIX_PATTERN + rf"episodes/{episode.slug}/images/[A-Za-z0-9][A-Za-z0-9._-]*$")
    for picture in (episode.artwork_key, episode.image_key):
        if picture and not (isinstance(picture, str) and image.match(picture)):
            raise ValueError(f"image {picture!r} of episode '{episode.slug}' is outside its folder")


@dataclass(frozen=True)
class Removed:
    """An episode taken back (`publish remove`): out of the feed and the pages, its name kept."""

    slug: str
    guid: str
    number: int
    removed_at: str = ""


@dataclass(frozen=True)
class Catalog:
    episodes: tuple[Episode, ...] = field(default_factory=tuple)
    podcast_guid: str = ""  # the show's podcast:guid, set at the first publish, never recomputed
    list_id: str = ""  # the subscriber list's id (a UUID; its store is private), set once
    removed: tuple[Removed, ...] = ()  # episodes taken back: their guid and number stay reserved

    def find(self, slug: str) -> Episode | None:
        return next((e for e in self.episodes if e.slug == slug), None)

    def find_removed(self, slug: str) -> Removed | None:
        return next((r for r in self.removed if r.slug == slug), None)

    def next_number(self) -> int:
        return max((*(e.number for e in self.episodes), *(r.number for r in self.removed)), default=0) + 1

    def remove(self, slug: str, when: str) -> Catalog:
        """The episode taken out; its guid and number kept, so publishing it again later is
        the same episode to every app, and no new episode takes its number."""
        episode = self.find(slug)
        if episode is None:
            return self
        others = tuple(e for e in self.episodes if e.slug != slug)
        kept = tuple(r for r in self.removed if r.slug != slug)
        return replace(self, episodes=others, removed=(*kept, Removed(slug, episode.guid, episode.number, when)))

    def upsert(self, episode: Episode) -> Catalog:
        """Replace the episode with the same slug, or add it; newest first."""
        others = [e for e in self.episodes if e.slug != episode.slug]
        ordered = tuple(sorted([*others, episode], key=lambda e: (e.date, e.number), reverse=True))
        return replace(self, episodes=ordered, removed=tuple(r for r in self.removed if r.slug != episode.slug))

    def with_guid(self, guid: str) -> Catalog:
        """The show's guid, kept if the catalogue has one: it identifies the podcast for good."""
        return self if self.podcast_guid else replace(self, podcast_guid=guid)

    def with_list_id(self, list_id: str) -> Catalog:
        """The subscriber list this show sends to, kept once set: a store that is not this one is refused."""
        return self if self.list_id else replace(self, list_id=list_id)

    def to_json(self) -> bytes:
        data: dict = {"version": CATALOG_VERSION, "episodes": [asdict(e) for e in self.episodes]}
        if self.podcast_guid:
            data["podcast_guid"] = self.podcast_guid
        if self.list_id:
            data["list_id"] = self.list_id
        if self.removed:
            data["removed"] = [asdict(r) for r in self.removed]
        return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"

    @staticmethod
    def from_json(raw: bytes, source: str = "catalog.json") -> Catalog:
        try:
            data = json.loads(raw.decode("utf-8"))
            if data.get("version") != CATALOG_VERSION:
                raise ValueError(f"unsupported catalogue version {data.get('version')!r}")
            episodes = tuple(Episode.from_json(e) for e in data["episodes"])
            for episode in episodes:
                _check_types(episode)
                _check_keys(episode)
            guid, list_id = data.get("podcast_guid", ""), data.get("list_id", "")
            for name, value in (("podcast_guid", guid), ("list_id", list_id)):
                if value and not (isinstance(value, str) and UUID_RE.match(value)):
                    raise ValueError(f"{name} {value!r} is not a UUID")
            removed = tuple(Removed(**r) for r in data.get("removed", ()))
            for entry in removed:
                if not (SLUG_RE.match(entry.slug) and isinstance(entry.guid, str) and isinstance(entry.number, int)):
                    raise ValueError(f"removed episode {entry.slug!r} is not one publish writes")
            return Catalog(episodes, guid, list_id, removed)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError.at(source, f"catalogue is damaged: {exc}") from None


# The guid of every episode is made from the feed's URL and the slug, once, and then kept.
GUID_NAMESPACE = uuid.UUID("5b1e4c3c-8d53-4f0e-9a57-70a1b3a9e0d1")


def published_slug(issue: Issue, catalog: Catalog) -> Issue:
    """The issue under the slug it was published with, when the catalogue has it from the same
    file under another derived slug (published before slugs came from file names, or its title
    edited since): its address never changes unless the writer sets `slug:`."""
    if issue.slug_given or catalog.find(issue.slug) is not None:
        return issue
    known = next((e for e in catalog.episodes if e.source == issue.source.name), None)
    return replace(issue, slug=known.slug) if known else issue


def plan_episode(issue: Issue, catalog: Catalog, links: Links, force: bool, warn: Callable[[str], None]) -> Episode:
    """The catalogue entry for this issue, keeping what must never change once published: its
    number (the next free one for a new episode, or the front matter's), guid and first date."""
    previous = catalog.find(issue.slug)
    now = utc_stamp()
    returning = catalog.find_removed(issue.slug)  # taken back, now published again: the same episode
    if previous is None:
        number = issue.episode or (returning.number if returning else catalog.next_number())
        taken = next((e for e in catalog.episodes if e.number == number), None)
        if taken:
            raise InputError.at(
                issue.source,
                f"episode {number} is already '{taken.slug}'; choose another number or leave 'episode' out",
            )
        guid = returning.guid if returning else str(uuid.uuid5(GUID_NAMESPACE, f"{links.feed_url}#{issue.slug}"))
        first = now
        later = [e for e in catalog.episodes if e.date > issue.date.isoformat() and e.number < number]
        if later and not issue.episode:
            newest = max(later, key=lambda e: e.date)
            warn(
                f"{issue.source.name}: dated {issue.date.isoformat()}, before episode {newest.number} "
                f"'{newest.slug}' ({newest.date}), it becomes episode {number}: apps list episodes by "
                "number. To number by date instead, give it `episode:` in its front matter (and the later "
                "ones theirs, published again with --force); the README's 'Episode numbers' says how"
            )
    else:
        if previous.source and previous.source != issue.source.name and not force:
            raise InputError.at(
                issue.source,
                f"slug '{issue.slug}' is already used by {previous.source} "
                f"(episode {previous.number}); set another 'slug'",
            )
        number = issue.episode or previous.number
        for label, old, new in (("date", previous.date, issue.date.isoformat()), ("episode", previous.number, number)):
            if old != new and not force:
                raise InputError.at(
                    issue.source,
                    f"{label} of published episode '{issue.slug}' would change "
                    f"from {old} to {new}; pass --force to change it",
                )
            if old != new:
                warn(f"{label} of published episode '{issue.slug}' changes from {old} to {new} (--force)")
        guid, first = previous.guid, previous.first_published
    episode = Episode(
        slug=issue.slug,
        guid=guid,
        number=number,
        title=issue.title,
        date=issue.date.isoformat(),
        summary=issue.summary,
        content_html=issue.body_html,
        author=issue.author or "",
        explicit=bool(issue.explicit),
        page_key=links.layout.episode(issue.slug, "index.html"),
        audio=previous.audio if previous else None,
        tags=issue.tags,
        first_published=first,
        updated=now,
        source=issue.source.name,
        artwork_key=artwork_key(issue, links),
        image_key=header_image(issue, links)[0],
    )
    return episode


def header_image(issue: Issue, links: Links) -> tuple[str, Path | None]:
    """The key and file of the issue's header image when it is one of the issue's own files
    (published in its folder); ("", None) for none, or for an image elsewhere on the web."""
    for image in issue.images:
        key = links.layout.episode(issue.slug, image.name)
        if issue.image == links.url(key):
            return key, image.path
    return "", None


def artwork_key(issue: Issue, links: Links) -> str:
    """The issue's header image as the episode's artwork in apps, when it meets Apple's rules
    for artwork (square JPEG or PNG, 1400 to 3000 pixels); else "" and the show's cover stands
    for it."""
    from pipeline.feed.validate import validate_cover

    key, path = header_image(issue, links)
    return key if path is not None and not validate_cover(path) else ""


def keep_unchanged_timestamp(episode: Episode, previous: Episode | None) -> Episode:
    """An unchanged episode keeps its 'updated' time, so a re-run changes nothing remote."""
    if previous is not None and replace(episode, updated=previous.updated) == previous:
        return previous
    return episode
