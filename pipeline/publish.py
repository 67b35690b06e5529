"""The order of stages, and the only module that knows it. For one issue, `publish_issue`:

    parse (source/) → plan the episode against the catalogue (feed/catalog)
    → audio (audio/) → email (mail/) → page (site/) → feed, validated (feed/)
    → online (storage/): the episode's files, then the catalogue, then from it the home pages,
      the neighbours' pages and feed.xml → verified over HTTP (feed/verify)

Audio comes before the email and the page because both name its length. A batch
(`publish_batch`) checks every issue first, then runs the same order for each, oldest first.
"""
from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.audio.transcript import read_cues
from pipeline.buildfolder import EMAIL_MANIFEST, PUBLISHED_MARK, AudioFiles, BuiltFiles, source_digest
from pipeline.config import Config
from pipeline.errors import InputError, Problem, ServiceError
from pipeline.feed.catalog import AudioInfo, Catalog, Episode, keep_unchanged_timestamp, plan_episode
from pipeline.feed.rss import build_feed, show_guid
from pipeline.feed.validate import validate_cover, validate_feed
from pipeline.feed.verify import verify_published_feed
from pipeline.mail.compose import build_email
from pipeline.report import Reporter
from pipeline.site.home import home_url
from pipeline.site.page import PageAudio, PageImage, build_page, neighbours, read_chapters
from pipeline.source.document import Issue
from pipeline.source.files import ISSUE_SUFFIXES
from pipeline.source.parse import parse_issue
from pipeline.storage.links import Links
from pipeline.storage.session import StorageSession, open_storage, planned_links
from pipeline.storage.upload import (
    UploadResult,
    episode_items,
    image_items,
    link_neighbour_pages,
    page_item,
    plan_upload,
    publish_feed_from_catalog,
    publish_home_from_catalog,
    read_catalog,
    shared_items,
    upload_files,
    write_catalog,
)
from pipeline.textutil import human_size, write_atomic
from pipeline.timefmt import elapsed as elapsed_text
from pipeline.timefmt import listen_minutes

if TYPE_CHECKING:                  # the audio stack is imported only when audio is made
    from pipeline.audio.episode import AudioPlan
    from pipeline.audio.tts import Synthesis

@dataclass(frozen=True)
class PublishOptions:
    build_dir: Path = Path("build")
    dry_run: bool = False
    upload: bool = True
    audio: bool = True
    force: bool = False


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
    skipped: str | None = None          # why nothing was published ("draft")

    def as_json(self) -> dict:
        found = {"slug": self.slug, "episode": self.episode, "feed_url": self.feed_url,
                 "audio_url": self.audio_url, "web_url": self.web_url, "email": self.email,
                 "audio": self.audio, "upload": self.upload.as_json() if self.upload else None}
        return {**found, "skipped": self.skipped} if self.skipped else found

    def preview_paths(self) -> list[str]:
        return list(self.files)


def check_show_inputs(config: Config) -> None:
    problems = validate_cover(config.show.cover)
    if problems:
        raise InputError([Problem(str(config.show.cover), p.split(": ", 1)[1]) for p in problems])


def local_catalog(build_dir: Path) -> Catalog:
    path = build_dir / "catalog.json"
    return Catalog.from_json(path.read_bytes(), str(path)) if path.exists() else Catalog()


def issue_files(paths: list[Path]) -> list[Path]:
    """The issue files named, a folder standing for every Markdown or text file in it (Jekyll
    names its posts .markdown as often as .md)."""
    files: dict[Path, None] = {}                 # ordered, and a set: 20,000 paths took 23 s as a list
    for path in paths:
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in ISSUE_SUFFIXES and p.is_file()) \
            if path.is_dir() else [path]
        files.update(dict.fromkeys(found))
    return list(files)


def preflight(files: list[Path], config: Config) -> list[Issue]:
    """Every issue parsed and checked before anything is synthesised or uploaded; all problems
    at once. Returned in date order, so new episodes are numbered as they were written."""
    problems: list[Problem] = []
    issues: list[Issue] = []
    for path in files:
        try:
            issues.append(parse_issue(path, config.issues.ignore_keys))
        except InputError as exc:
            problems += exc.problems
    slugs: dict[str, Path] = {}
    numbers: dict[int, Path] = {}
    for issue in (i for i in issues if not i.draft):
        if issue.slug in slugs:
            problems.append(Problem(str(issue.source), f"slug '{issue.slug}' is also {slugs[issue.slug]}'s; "
                                    "set another 'slug'"))
        slugs.setdefault(issue.slug, issue.source)
        if issue.episode is not None and issue.episode in numbers:
            problems.append(Problem(str(issue.source), f"episode {issue.episode} is also {numbers[issue.episode]}'s"))
        if issue.episode is not None:
            numbers.setdefault(issue.episode, issue.source)
    try:
        check_show_inputs(config)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems)
    return sorted(issues, key=lambda i: (i.date, i.source.name))


def publish_batch(paths: list[Path], config: Config, options: PublishOptions,
                   reporter: Reporter) -> list[PublishReport]:
    """A batch of issues (a blog's archive, a folder) in one run: checked first, then published oldest first over one
    storage session and one speech engine. The engine speaks every issue's sentences in order,
    so it is on the next issue while this one is mastered and uploaded. Each issue is published
    whole before the next, so a stopped run resumes where it stopped: the published ones are
    unchanged and cost nothing."""
    files = issue_files(paths)
    if not files:
        raise InputError.at(str(paths[0]), f"no issue files ({', '.join(ISSUE_SUFFIXES)}) here")
    issues = preflight(files, config)
    todo = [i for i in issues if not i.draft]
    plans = plan_run_audio(todo, config, options) if options.audio else {}
    reports = []
    started, total = time.monotonic(), sum(i.word_count for i in todo) or 1
    done, minutes = 0, 0.0
    session = open_storage(config, dry_run=options.dry_run) if options.upload else contextlib.nullcontext(None)
    with run_speech(plans, options, reporter) as speech, session as storage:     # speaking while the store starts
        for issue in issues:
            shared = (plans[issue.slug], speech) if speech and not issue.draft else None
            report = publish_issue(issue.source, config, options, reporter, storage=storage, parsed=issue,
                                   shared=shared)
            reports.append(report)
            if issue.draft:
                continue
            done += issue.word_count
            minutes += (report.audio or {}).get("duration_s", 0) / 60
            elapsed = time.monotonic() - started
            left = elapsed / done * (total - done) if done else 0
            count = sum(1 for r in reports if not r.skipped)
            reporter.info(f"progress {count} of {len(todo)} issues, {minutes:.1f} min of audio, "
                          f"{elapsed_text(elapsed)} elapsed, about {elapsed_text(left)} left")
    return reports


def plan_run_audio(issues: list[Issue], config: Config, options: PublishOptions) -> dict[str, AudioPlan]:
    """Each issue's narration and chunks to speak, all problems at once (the pre-flight's audio half)."""
    from pipeline.audio.episode import plan_audio
    plans, problems = {}, []
    for issue in issues:
        try:
            plans[issue.slug] = plan_audio(issue, config, options.build_dir / ".cache", options.force)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return plans


@contextlib.contextmanager
def run_speech(plans: dict[str, AudioPlan], options: PublishOptions,
               reporter: Reporter) -> Iterator[Synthesis | None]:
    """One speech engine for every issue's missing sentences, in publishing order; stopped
    after the sentence in hand if the run fails."""
    jobs = [job for plan in plans.values() for job in plan.missing.items()]
    if options.dry_run or not jobs:
        yield None
        return
    from pipeline.audio.tts import SpeechCache, Synthesis
    first = next(iter(plans.values()))
    speech = Synthesis(first.voice, jobs, SpeechCache(options.build_dir / ".cache"),
                       reporter.progress("synthesis", len(dict(jobs))))
    try:
        yield speech
    except BaseException:
        speech.stop()
        raise
    speech.join()


def publish_issue(path: Path, config: Config, options: PublishOptions, reporter: Reporter,
                  storage: StorageSession | None = None, parsed: Issue | None = None,
                  shared: tuple[AudioPlan, Synthesis] | None = None) -> PublishReport:
    """One issue, every stage in order; `storage`, `parsed` and `shared` (its audio plan and the
    speech engine) when a batch already holds them."""
    issue = parsed or parse_issue(path, config.issues.ignore_keys)
    for warning in issue.warnings:
        reporter.warn(str(warning))
    if issue.draft:
        reporter.info(f"skipped  {path}: a draft (draft: true or published: false); not published")
        return PublishReport(slug=issue.slug, skipped="draft")
    check_show_inputs(config)
    session = (contextlib.nullcontext(storage) if storage is not None or not options.upload
               else open_storage(config, dry_run=options.dry_run))
    with session as storage:
        links = storage.links if storage else planned_links(config)
        issue = issue.with_image_urls(lambda image: links.url(links.layout.episode(issue.slug, image.name)))
        catalog = current_catalog(storage, config, links, options, reporter)
        episode = plan_episode(issue, catalog, links, options.force, reporter.warn)
        build = Build(issue, options.build_dir / issue.slug,
                      PublishReport(slug=issue.slug, feed_url=links.feed_url, web_url=links.web_url(issue.slug),
                                    episode=episode.number))
        episode = build_audio(build, config, episode, links, options, reporter, shared)
        build_email_files(build, config, episode, links, reporter)
        page = build_page_file(build, config, episode, catalog, links)
        episode = keep_unchanged_timestamp(episode, catalog.find(issue.slug))
        catalog = catalog.upsert(episode)
        build_feed_file(build, config, catalog, episode, links, options.build_dir)
        files = BuiltFiles(build.email_html, build.email_text, build.eml, page(episode.number), build.audio)
        build.report.files = [str(p) for p in files.paths()] + [str(options.build_dir / "feed.xml")]
        if storage is None:
            write_atomic(options.build_dir / "catalog.json", catalog.to_json())
            reporter.info(f"built    {build.folder}/ (not uploaded)")
            return build.report
        items = (episode_items(episode, files, links.layout) + image_items(issue, links.layout)
                 + shared_items(config, links.layout))
        if options.dry_run:
            build.report.upload = plan_upload(storage.bucket, links, items, reporter)
            return _announce(build.report, links, reporter)
        build.report.upload = put_online(storage, config, episode, items, reporter)
        final = build.report.upload.episode or episode.number
        if final != episode.number:             # a concurrent publisher took the planned number
            reporter.info(f"episode  {issue.slug} is episode {final}: another publisher took {episode.number}")
            episode = replace(episode, number=final)
            catalog = catalog.upsert(episode)
            storage.bucket.put(page_item(episode, page(final)))
            build.report.episode = final
        write_atomic(options.build_dir / "catalog.json", catalog.to_json())
        write_atomic(build.folder / PUBLISHED_MARK, json.dumps({
            "source_sha256": source_digest(issue.source), "web_url": build.report.web_url,
            "feed_url": links.feed_url, "at": episode.updated}, indent=2))
        return _announce(build.report, links, reporter)


def _announce(report: PublishReport, links: Links, reporter: Reporter) -> PublishReport:
    reporter.info(f"home     {home_url(links)}")
    reporter.info(f"feed     {links.feed_url}")
    return report


def current_catalog(storage: StorageSession | None, config: Config, links: Links, options: PublishOptions,
                    reporter: Reporter) -> Catalog:
    """The catalogue this issue joins: the bucket's, or the build folder's when not uploading."""
    if storage is None:
        catalog = local_catalog(options.build_dir)
    elif storage.missing:
        reporter.info(f"would create bucket {storage.bucket.target.bucket}")
        catalog = Catalog()
    else:
        catalog = read_catalog(storage.bucket, links.layout)
    return catalog.with_guid(show_guid(config.show, catalog, links))


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


def build_audio(build: Build, config: Config, episode: Episode, links: Links, options: PublishOptions,
                reporter: Reporter, shared: tuple[AudioPlan, Synthesis] | None) -> Episode:
    """The narrated episode and its transcript, chapters and word timings (audio/); the episode
    with its audio facts (those published before, when audio is not made this time)."""
    if not options.audio:
        return episode
    from pipeline.audio.episode import build_episode_audio
    issue = build.issue
    built = build_episode_audio(issue, config, build.folder, options.build_dir / ".cache", force=options.force,
                                dry_run=options.dry_run, reporter=reporter, shared=shared)
    build.report.audio = built.summary()
    if not (built.mp3 and built.transcript and built.chapters and built.words):
        return episode
    build.audio = AudioFiles(built.mp3, built.transcript, built.chapters, built.words)
    return replace(episode, audio=AudioInfo(
        key=links.layout.episode(issue.slug, f"{issue.slug}-{built.sha256[:12]}.mp3"), bytes=built.bytes,
        sha256=built.sha256, duration_s=round(built.duration_s, 3),
        transcript_key=links.layout.episode(issue.slug, "transcript.vtt"),
        chapters_key=links.layout.episode(issue.slug, "chapters.json"),
        words_key=links.layout.episode(issue.slug, "transcript.json")))


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
    header = (issue.image, issue.title) if issue.image else None
    email = build_email(issue, config, report.web_url or "", links.feed_url, audio_minutes=minutes,
                        cover_url=cover_image(config, links).url, image=header)
    build.email_html = write_atomic(out / "email.html", email.html)
    build.email_text = write_atomic(out / "email.txt", email.text)
    build.eml = write_atomic(out / "email.eml", email.eml)
    write_atomic(out / EMAIL_MANIFEST, json.dumps({
        "source_sha256": source_digest(issue.source), "subject": email.subject, "web_url": report.web_url,
        "unsubscribe_placeholder": email.unsubscribe_preview_url}, indent=2))
    report.email = {"html": str(build.email_html), "text": str(build.email_text), "eml": str(build.eml),
                    "html_bytes": email.html_bytes}
    reporter.info(f"email    {build.email_html}  ({human_size(email.html_bytes)} HTML; Gmail clips at 102 KB)")
    for warning in email.warnings:
        reporter.warn(warning)


def build_page_file(build: Build, config: Config, episode: Episode, catalog: Catalog,
                    links: Links) -> Callable[[int], Path]:
    """The episode's web page (site/), with its player, transcript and chapters, between its
    neighbours in the catalogue; returns how to write it again under another episode number."""
    issue, audio_info = build.issue, episode.audio
    page_audio = None
    if audio_info is not None:
        build.report.audio_url = links.url(audio_info.key)
        files = build.audio
        page_audio = PageAudio(build.report.audio_url, audio_info.duration_s, links.url(audio_info.transcript_key),
                               read_cues(files.transcript) if files else (),
                               read_chapters(files.chapters) if files else (),
                               links.url(audio_info.words_key) if audio_info.words_key else None)
    cover, around = cover_image(config, links), neighbours(catalog.upsert(episode), issue.slug, links)

    def write_page(number: int) -> Path:
        return write_atomic(build.folder / "index.html", build_page(
            issue, config, build.report.web_url or "", links.feed_url, page_audio, cover, number, *around,
            home_url=home_url(links)))
    return write_page


def build_feed_file(build: Build, config: Config, catalog: Catalog, episode: Episode, links: Links,
                    build_dir: Path) -> None:
    """feed.xml from the catalogue with this episode in it (feed/), validated before anything
    is uploaded, the enclosure's length checked against the file."""
    feed = build_feed(config.show, catalog, links, links.layout.cover(config.show.cover))
    sizes = ({links.url(episode.audio.key): build.audio.mp3.stat().st_size}
             if build.audio and episode.audio else None)
    problems = validate_feed(feed, sizes)
    if problems:
        raise InputError([Problem("feed.xml", p) for p in problems])
    write_atomic(build_dir / "feed.xml", feed)


def put_online(storage: StorageSession, config: Config, episode: Episode, items: list,
               reporter: Reporter) -> UploadResult:
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
        raise ServiceError("the published feed does not verify: " + "; ".join(problems[:5]),
                           "run `publish check` for the full list; run the same command again to repair")
    reporter.info(f"upload   {files.uploaded} uploaded ({human_size(files.bytes)}), {files.skipped} unchanged, "
                  f"{checked} episodes verified over HTTP in {time.monotonic() - started:.1f}s")
    unchanged = sum(1 for key in (links.layout.catalog, links.layout.feed) if key not in written)
    mine = catalog.find(episode.slug)
    return UploadResult(files.uploaded + len(written), files.skipped + unchanged, files.bytes + sum(written.values()),
                        mine.number if mine is not None else episode.number)
