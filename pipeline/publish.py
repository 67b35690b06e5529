"""The order of stages: parse → email → audio → feed → upload → verify. The only module
that knows it."""
from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.audio.transcript import read_cues
from pipeline.buildfolder import EMAIL_MANIFEST, PUBLISHED_MARK, AudioFiles, BuiltFiles, source_digest
from pipeline.config import Config
from pipeline.errors import InputError, Problem
from pipeline.feed.catalog import AudioInfo, Catalog, Episode
from pipeline.feed.rss import build_feed, check_cover, show_guid, validate_feed
from pipeline.feed.verify import check_published_feed
from pipeline.mail.compose import build_email
from pipeline.report import Reporter
from pipeline.site.home import home_url
from pipeline.site.page import Neighbour, PageAudio, PageImage, build_page, neighbours, read_chapters
from pipeline.source.document import Issue
from pipeline.source.files import ISSUE_SUFFIXES
from pipeline.source.parse import parse_issue
from pipeline.storage.links import Links
from pipeline.storage.session import StorageSession, open_storage, planned_links, uses_embedded
from pipeline.storage.upload import (
    UploadResult,
    episode_items,
    image_items,
    page_item,
    publish_feed_from_catalog,
    publish_home_from_catalog,
    publish_to_bucket,
    read_catalog,
    shared_items,
)
from pipeline.textutil import human_size, write_atomic
from pipeline.timefmt import elapsed as elapsed_text
from pipeline.timefmt import listen_minutes, utc_stamp

if TYPE_CHECKING:                  # the audio stack is imported only when audio is made
    from pipeline.audio.episode import AudioPlan
    from pipeline.audio.tts import Synthesis

GUID_NAMESPACE = uuid.UUID("5b1e4c3c-8d53-4f0e-9a57-70a1b3a9e0d1")


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
    problems = check_cover(config.show.cover)
    if problems:
        raise InputError([Problem(str(config.show.cover), p.split(": ", 1)[1]) for p in problems])


def plan_episode(issue: Issue, catalog: Catalog, links: Links, force: bool, reporter: Reporter) -> Episode:
    """The catalogue entry for this issue, keeping what must never change once published."""
    previous = catalog.find(issue.slug)
    now = utc_stamp()
    if previous is None:
        number = issue.episode or catalog.next_number()
        taken = next((e for e in catalog.episodes if e.number == number), None)
        if taken:
            raise InputError.at(issue.source, f"episode {number} is already '{taken.slug}'; "
                                "choose another number or leave 'episode' out")
        guid = str(uuid.uuid5(GUID_NAMESPACE, f"{links.feed_url}#{issue.slug}"))
        first = now
    else:
        if previous.source and previous.source != issue.source.name and not force:
            raise InputError.at(issue.source, f"slug '{issue.slug}' is already used by {previous.source} "
                                f"(episode {previous.number}); set another 'slug'")
        number = issue.episode or previous.number
        for label, old, new in (("date", previous.date, issue.date.isoformat()), ("episode", previous.number, number)):
            if old != new and not force:
                raise InputError.at(issue.source, f"{label} of published episode '{issue.slug}' would change "
                                    f"from {old} to {new}; pass --force to change it")
            if old != new:
                reporter.warn(f"{label} of published episode '{issue.slug}' changes from {old} to {new} (--force)")
        guid, first = previous.guid, previous.first_published
    episode = Episode(
        slug=issue.slug, guid=guid, number=number, title=issue.title, date=issue.date.isoformat(),
        summary=issue.summary, content_html=issue.body_html, author=issue.author or "",
        explicit=bool(issue.explicit), page_key=links.layout.episode(issue.slug, "index.html"),
        audio=previous.audio if previous else None, tags=issue.tags, first_published=first,
        updated=now, source=issue.source.name)
    return episode


def keep_unchanged_timestamp(episode: Episode, previous: Episode | None) -> Episode:
    """An unchanged episode keeps its 'updated' time, so a re-run changes nothing remote."""
    if previous is not None and replace(episode, updated=previous.updated) == previous:
        return previous
    return episode


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


def publish_issues(paths: list[Path], config: Config, options: PublishOptions,
                   reporter: Reporter) -> list[PublishReport]:
    """A blog's back catalogue in one run: checked first, then published oldest first over one
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
def run_speech(plans: dict[str, AudioPlan], options: PublishOptions, reporter: Reporter):
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
    """One issue; `storage`, `parsed` and `shared` (its audio plan and the speech engine) when
    a run of many already holds them."""
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
        if storage is None:
            catalog = local_catalog(options.build_dir)
        elif storage.missing:
            reporter.info(f"would create bucket {storage.bucket.target.bucket}")
            catalog = Catalog()
        else:
            catalog = read_catalog(storage.bucket, links.layout)
        catalog = catalog.with_guid(show_guid(config.show, catalog, links))
        episode = plan_episode(issue, catalog, links, options.force, reporter)
        summary, episode, files, write_page = build_outputs(issue, config, episode, links, options, reporter,
                                                            neighbours(catalog.upsert(episode), issue.slug, links),
                                                            shared)
        episode = keep_unchanged_timestamp(episode, catalog.find(issue.slug))
        catalog = catalog.upsert(episode)
        feed = build_feed(config.show, catalog, links, links.layout.cover(config.show.cover))
        sizes = ({links.url(episode.audio.key): files.audio.mp3.stat().st_size}
                 if files.audio and episode.audio else None)
        problems = validate_feed(feed, sizes)
        if problems:
            raise InputError([Problem("feed.xml", p) for p in problems])
        write_atomic(options.build_dir / "feed.xml", feed)
        summary.files.append(str(options.build_dir / "feed.xml"))
        if storage is None:
            write_atomic(options.build_dir / "catalog.json", catalog.to_json())
            reporter.info(f"built    {options.build_dir / issue.slug}/ (not uploaded)")
            return summary
        items = (episode_items(episode, files, links.layout) + image_items(issue, links.layout)
                 + shared_items(config, links.layout))
        summary.upload = publish_to_bucket(storage.bucket, links, config, episode, items,
                                           options.dry_run, reporter)
        final = summary.upload.episode or episode.number
        if final != episode.number:             # a concurrent publisher took the planned number
            reporter.info(f"episode  {issue.slug} is episode {final}: another publisher took {episode.number}")
            episode = replace(episode, number=final)
            catalog = catalog.upsert(episode)
            storage.bucket.put(page_item(episode, write_page(final)))
            summary.episode = final
        if not options.dry_run:
            write_atomic(options.build_dir / "catalog.json", catalog.to_json())
            write_atomic(options.build_dir / issue.slug / PUBLISHED_MARK, json.dumps({
                "source_sha256": source_digest(issue.source), "web_url": summary.web_url,
                "feed_url": links.feed_url, "at": episode.updated}, indent=2))
        reporter.info(f"home     {home_url(links)}")
        reporter.info(f"feed     {links.feed_url}")
        return summary


def cover_image(config: Config, links: Links) -> PageImage:
    from PIL import Image as Picture
    with Picture.open(config.show.cover) as picture:
        width, height = picture.size
    return PageImage(links.url(links.layout.cover(config.show.cover)), width, height, f"{config.show.title} cover art")


def build_outputs(issue: Issue, config: Config, episode: Episode, links: Links,
                  options: PublishOptions, reporter: Reporter,
                  around: tuple[Neighbour | None, Neighbour | None] = (None, None),
                  shared: tuple[AudioPlan, Synthesis] | None = None,
                  ) -> tuple[PublishReport, Episode, BuiltFiles, Callable[[int], Path]]:
    """Email, audio and web page into build/<slug>/; the episode with its audio facts; and
    how to write the page again under another episode number."""
    out = options.build_dir / issue.slug
    web_url, feed_url = links.web_url(issue.slug), links.feed_url
    summary = PublishReport(slug=issue.slug, feed_url=feed_url, web_url=web_url, episode=episode.number)
    audio_files = None
    audio_info = episode.audio
    if options.audio:
        from pipeline.audio.episode import build_episode_audio
        built = build_episode_audio(issue, config, out, options.build_dir / ".cache",
                                    force=options.force, dry_run=options.dry_run, reporter=reporter,
                                    shared=shared)
        summary.audio = built.summary()
        if built.mp3 and built.transcript and built.chapters and built.words:
            audio_files = AudioFiles(built.mp3, built.transcript, built.chapters, built.words)
            digest = built.sha256
            audio_info = AudioInfo(
                key=links.layout.episode(issue.slug, f"{issue.slug}-{digest[:12]}.mp3"), bytes=built.bytes,
                sha256=digest, duration_s=round(built.duration_s, 3),
                transcript_key=links.layout.episode(issue.slug, "transcript.vtt"),
                chapters_key=links.layout.episode(issue.slug, "chapters.json"),
                words_key=links.layout.episode(issue.slug, "transcript.json"))
    episode = replace(episode, audio=audio_info)
    page_audio = None
    if audio_info is not None:
        summary.audio_url = links.url(audio_info.key)
        page_audio = PageAudio(summary.audio_url, audio_info.duration_s, links.url(audio_info.transcript_key),
                               read_cues(audio_files.transcript) if audio_files else (),
                               read_chapters(audio_files.chapters) if audio_files else (),
                               links.url(audio_info.words_key) if audio_info.words_key else None)
    minutes = listen_minutes(audio_info.duration_s) if audio_info else None
    for image in issue.images:
        write_atomic(out / image.name, image.data)
    cover = cover_image(config, links)
    header = (issue.image, issue.title) if issue.image else None
    email = build_email(issue, config, web_url, feed_url, audio_minutes=minutes, cover_url=cover.url, image=header)
    email_html = write_atomic(out / "email.html", email.html)
    email_text = write_atomic(out / "email.txt", email.text)
    eml = write_atomic(out / "email.eml", email.eml)
    write_atomic(out / EMAIL_MANIFEST, json.dumps({
        "source_sha256": source_digest(issue.source), "subject": email.subject, "web_url": web_url,
        "unsubscribe_placeholder": email.unsubscribe_preview_url}, indent=2))
    def write_page(number: int) -> Path:
        return write_atomic(out / "index.html", build_page(issue, config, web_url, feed_url, page_audio,
                                                           cover, number, *around, home_url=home_url(links)))
    files = BuiltFiles(email_html, email_text, eml, write_page(episode.number), audio_files)
    summary.email = {"html": str(email_html), "text": str(email_text), "eml": str(eml),
                     "html_bytes": email.html_bytes}
    summary.files = [str(path) for path in files.paths()]
    reporter.info(f"email    {email_html}  ({human_size(email.html_bytes)} HTML; Gmail clips at 102 KB)")
    for warning in email.warnings:
        reporter.warn(warning)
    return summary, episode, files, write_page


def rebuild_feed(config: Config, reporter: Reporter) -> dict:
    """Rebuild feed.xml from the bucket's catalogue and upload it if it changed."""
    with open_storage(config) as storage:
        catalog = read_catalog(storage.bucket, storage.links.layout)
        written = publish_home_from_catalog(storage.bucket, storage.links, config, catalog)
        written.update(publish_feed_from_catalog(storage.bucket, storage.links, config, catalog))
        reporter.info(f"home     {home_url(storage.links)}")
        reporter.info(f"feed     {storage.links.feed_url} ({len(catalog.episodes)} episodes"
                      f"{', uploaded' if written else ', unchanged'})")
        return {"feed_url": storage.links.feed_url, "episodes": len(catalog.episodes), "uploaded": written}


def check_bucket(config: Config, reporter: Reporter) -> dict:
    """Verify what listeners get: the feed, every file it names, and the catalogue's sizes."""
    with open_storage(config) as storage:
        catalog = read_catalog(storage.bucket, storage.links.layout)
        problems, checked = check_published_feed(storage.links.feed_url,
                                                 show_guid(config.show, catalog, storage.links))
        for episode in catalog.episodes:
            if episode.audio is None:
                continue
            found = storage.bucket.head(episode.audio.key)
            if found is None:
                problems.append(f"{episode.audio.key}: missing from the bucket (episode '{episode.slug}')")
            elif found.size != episode.audio.bytes:
                problems.append(f"{episode.audio.key}: {found.size} bytes, the catalogue says {episode.audio.bytes}")
        for problem in problems:
            reporter.warn(problem)
        reporter.info(f"check    {checked} feed items, {len(catalog.episodes)} catalogue entries, "
                      f"{len(problems)} problems")
        return {"feed_url": storage.links.feed_url, "items": checked, "problems": problems}


def serve_local(config: Config, reporter: Reporter) -> None:
    """Run the embedded S3 in the foreground until Ctrl-C."""
    if not uses_embedded(config):
        raise InputError.at(str(config.path or "publish.toml"),
                            "an endpoint is configured; `publish serve` runs only the embedded local S3")
    with open_storage(config, keep_running=True) as storage:
        server = storage.embedded
        if server is None or server.process is None:
            reporter.info(f"already serving {storage.links.feed_url} (another `publish serve` runs it)")
            return
        try:                                 # a signal from here on stops the store too
            reporter.info(f"serving  {home_url(storage.links)}  (the show's home; feed: {storage.links.feed_url}; "
                          "Ctrl-C to stop)")
            server.process.wait()
        finally:
            server.stop()
