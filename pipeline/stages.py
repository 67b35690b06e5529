"""Each stage of one issue's publish as one call, in the order `publish_issue` makes them:
audio, email, page, feed (validated), then putting it online and verifying it. What a build
has written so far travels in a Build; its report is what `publish issue --json` prints."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.audio.transcript import read_cues
from pipeline.buildfolder import EMAIL_MANIFEST, AudioFiles, email_settings, source_digest
from pipeline.config import Config
from pipeline.errors import InputError, Problem, ServiceError
from pipeline.feed.catalog import AudioInfo, Catalog, Episode
from pipeline.feed.rss import build_feed
from pipeline.feed.validate import validate_cover, validate_feed
from pipeline.feed.verify import verify_published_feed
from pipeline.mail.compose import build_email
from pipeline.report import Reporter
from pipeline.site.home import home_url
from pipeline.site.page import PageAudio, PageImage, build_page, neighbours, read_chapters
from pipeline.source.document import Issue
from pipeline.storage.links import Links
from pipeline.storage.session import StorageSession
from pipeline.storage.upload import (
    UploadResult,
    link_neighbour_pages,
    publish_feed_from_catalog,
    publish_home_from_catalog,
    upload_files,
    write_catalog,
)
from pipeline.textutil import human_size, write_atomic
from pipeline.timefmt import listen_minutes

if TYPE_CHECKING:  # the audio stack is imported only when audio is made
    from pipeline.audio.episode import AudioPlan
    from pipeline.audio.tts import Synthesis


@dataclass(frozen=True)
class PublishOptions:
    build_dir: Path = Path("build")
    dry_run: bool = False
    upload: bool = True
    audio: bool = True
    force: bool = False
    drafts: bool = False  # `publish preview`: a draft is built too (locally, never listed)


@dataclass
class PublishReport:
    slug: str
    feed_url: str | None = None
    audio_url: str | None = None
    web_url: str | None = None
    email: dict | None = None
    audio: dict | None = None
    upload: UploadResult | None = None
    episode: int | None = None
    files: list[str] = field(default_factory=list)
    skipped: str | None = None  # why nothing was published ("draft")

    def as_json(self) -> dict:
        found = {
            "slug": self.slug,
            "episode": self.episode,
            "feed_url": self.feed_url,
            "audio_url": self.audio_url,
            "web_url": self.web_url,
            "email": self.email,
            "audio": self.audio,
            "upload": self.upload.as_json() if self.upload else None,
        }
        return {**found, "skipped": self.skipped} if self.skipped else found

    def preview_paths(self) -> list[str]:
        return list(self.files)


def check_show_inputs(config: Config) -> None:
    problems = validate_cover(config.show.cover)
    if problems:
        raise InputError([Problem(str(config.show.cover), p.split(": ", 1)[1]) for p in problems])


@dataclass
class Build:
    """What one issue's build has written so far into build/<slug>/, and its report."""

    issue: Issue
    folder: Path
    report: PublishReport
    audio: AudioFiles | None = None
    email_html: Path = Path()
    email_text: Path = Path()
    eml: Path = Path()


def build_audio(
    build: Build,
    config: Config,
    episode: Episode,
    links: Links,
    options: PublishOptions,
    reporter: Reporter,
    shared: tuple[AudioPlan, Synthesis] | None,
) -> Episode:
    """The narrated episode and its transcript, chapters and word timings (audio/); the episode
    with its audio facts (those published before, when audio is not made this time)."""
    if not options.audio:
        return episode
    from pipeline.audio.episode import build_episode_audio

    issue = build.issue
    built = build_episode_audio(
        issue,
        config,
        build.folder,
        options.build_dir / ".cache",
        force=options.force,
        dry_run=options.dry_run,
        reporter=reporter,
        shared=shared,
    )
    build.report.audio = built.summary()
    if not (built.mp3 and built.transcript and built.chapters and built.words):
        return episode
    build.audio = AudioFiles(built.mp3, built.transcript, built.chapters, built.words)
    return replace(
        episode,
        audio=AudioInfo(
            key=links.layout.episode(issue.slug, f"{issue.slug}-{built.sha256[:12]}.mp3"),
            bytes=built.bytes,
            sha256=built.sha256,
            duration_s=round(built.duration_s, 3),
            transcript_key=links.layout.episode(issue.slug, "transcript.vtt"),
            chapters_key=links.layout.episode(issue.slug, "chapters.json"),
            words_key=links.layout.episode(issue.slug, "transcript.json"),
            chapters=tuple((c.start, c.title) for c in read_chapters(built.chapters)),
        ),
    )


def cover_image(config: Config, links: Links) -> PageImage:
    from PIL import Image as Picture

    with Picture.open(config.show.cover) as picture:
        width, height = picture.size
    return PageImage(links.url(links.layout.cover(config.show.cover)), width, height, f"{config.show.title} cover art")


def build_email_files(build: Build, config: Config, episode: Episode, links: Links, reporter: Reporter) -> None:
    """The email (HTML, text part, a preview .eml) and its manifest for `publish send` (mail/);
    the review's own images beside it."""
    issue, out, report = build.issue, build.folder, build.report
    for image in issue.images:
        write_atomic(out / image.name, image.data)
    minutes = listen_minutes(episode.audio.duration_s) if episode.audio else None
    header = (issue.header_image, issue.title) if issue.header_image else None
    email = build_email(
        issue,
        config,
        report.web_url or "",
        links.feed_url,
        audio_minutes=minutes,
        cover_url=cover_image(config, links).url,
        image=header,
    )
    build.email_html = write_atomic(out / "email.html", email.html)
    build.email_text = write_atomic(out / "email.txt", email.text)
    build.eml = write_atomic(out / "email.eml", email.eml)
    write_atomic(
        out / EMAIL_MANIFEST,
        json.dumps(
            {
                "source_sha256": source_digest(issue.source),
                "subject": email.subject,
                "web_url": report.web_url,
                "unsubscribe_placeholder": email.unsubscribe_preview_url,
                "settings": email_settings(config),
            },
            indent=2,
        ),
    )
    report.email = {
        "html": str(build.email_html),
        "text": str(build.email_text),
        "eml": str(build.eml),
        "html_bytes": email.html_bytes,
    }
    reporter.info(f"email    {build.email_html}  ({human_size(email.html_bytes)} HTML; Gmail clips at 102 KB)")
    for warning in email.warnings:
        reporter.warn(warning)


def build_page_file(
    build: Build, config: Config, episode: Episode, catalog: Catalog, links: Links
) -> Callable[[int], Path]:
    """The episode's web page (site/), with its player, transcript and chapters, between its
    neighbours in the catalogue; returns how to write it again under another episode number."""
    issue, audio_info = build.issue, episode.audio
    page_audio = None
    if audio_info is not None:
        build.report.audio_url = links.url(audio_info.key)
        files = build.audio
        page_audio = PageAudio(
            build.report.audio_url,
            audio_info.duration_s,
            links.url(audio_info.transcript_key),
            read_cues(files.transcript) if files else (),
            read_chapters(files.chapters) if files else (),
            links.url(audio_info.words_key) if audio_info.words_key else None,
        )
    cover, around = cover_image(config, links), neighbours(catalog.upsert(episode), issue.slug, links)

    def write_page(number: int) -> Path:
        return write_atomic(
            build.folder / "index.html",
            build_page(
                issue,
                config,
                build.report.web_url or "",
                links.feed_url,
                page_audio,
                cover,
                number,
                *around,
                home_url=home_url(links),
            ),
        )

    return write_page


def build_feed_file(
    build: Build, config: Config, catalog: Catalog, episode: Episode, links: Links, build_dir: Path
) -> None:
    """feed.xml from the catalogue with this episode in it (feed/), validated before anything
    is uploaded, the enclosure's length checked against the file."""
    feed = build_feed(config.show, catalog, links, links.layout.cover(config.show.cover))
    sizes = {links.url(episode.audio.key): build.audio.mp3.stat().st_size} if build.audio and episode.audio else None
    problems = validate_feed(feed, sizes)
    if problems:
        raise InputError([Problem("feed.xml", p) for p in problems])
    write_atomic(build_dir / "feed.xml", feed)


def put_online(
    storage: StorageSession, config: Config, episode: Episode, items: list, reporter: Reporter
) -> UploadResult:
    """The episode's files; then the catalogue; then, built from each catalogue the bucket ends
    with, the home pages, the neighbours' pages and the feed, last; then the feed verified as a
    listener fetches it. Returns what was written, with the number the catalogue gave the episode."""
    bucket, links, started = storage.bucket, storage.links, time.monotonic()
    files = upload_files(bucket, items, reporter)
    written: dict[str, int] = {}
    for catalog, size in write_catalog(bucket, links, config, episode):
        if size:
            written[links.layout.catalog] = size
        written.update(publish_home_from_catalog(bucket, links, config, catalog))
        written.update(link_neighbour_pages(bucket, links, catalog, episode.slug))
        written.update(publish_feed_from_catalog(bucket, links, config, catalog))
    problems, checked = verify_published_feed(links.feed_url)
    if problems:
        raise ServiceError(
            "the published feed does not verify: " + "; ".join(problems[:5]),
            "run `publish check` for the full list; run the same command again to repair",
        )
    reporter.info(
        f"upload   {files.uploaded} uploaded ({human_size(files.bytes)}), {files.skipped} unchanged, "
        f"{checked} episodes verified over HTTP in {time.monotonic() - started:.1f}s"
    )
    unchanged = sum(1 for key in (links.layout.catalog, links.layout.feed) if key not in written)
    mine = catalog.find(episode.slug)
    return UploadResult(
        files.uploaded + len(written),
        files.skipped + unchanged,
        files.bytes + sum(written.values()),
        mine.number if mine is not None else episode.number,
    )
