"""The order of stages, and the only module that knows it. For one issue, `publish_issue`:

    parse (source/) → plan the episode against the catalogue (feed/catalog)
    → audio (audio/) → email (mail/) → page (site/) → feed, validated (feed/)
    → online (storage/): the episode's files, then the catalogue, then from it the home pages,
      the neighbours' pages and feed.xml → verified over HTTP (feed/verify)

Audio comes before the email and the page because both name its length. Each stage's call is
in stages.py; a batch (batch.py) checks every issue first, then runs this order for each,
oldest first.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.buildfolder import PUBLISHED_MARK, BuiltFiles, source_digest
from pipeline.config import Config
from pipeline.feed.catalog import Catalog, keep_unchanged_timestamp, plan_episode, published_slug
from pipeline.feed.rss import show_guid
from pipeline.report import Reporter
from pipeline.site.home import home_url
from pipeline.source.document import Issue
from pipeline.source.parse import parse_issue
from pipeline.stages import (
    Build,
    PublishOptions,
    PublishReport,
    build_audio,
    build_email_files,
    build_feed_file,
    build_page_file,
    check_show_inputs,
    put_online,
)
from pipeline.storage.links import Links
from pipeline.storage.published import take_back
from pipeline.storage.session import StorageSession, open_storage, planned_links
from pipeline.storage.upload import (
    episode_items,
    image_items,
    page_item,
    plan_upload,
    read_catalog,
    shared_items,
)
from pipeline.textutil import write_atomic

if TYPE_CHECKING:  # the audio stack is imported only when audio is made
    from pipeline.audio.episode import AudioPlan
    from pipeline.audio.tts import Synthesis


def skip_draft(
    issue: Issue, config: Config, options: PublishOptions, reporter: Reporter, storage: StorageSession | None
) -> PublishReport:
    """A draft is not published, and one that was (`draft: true` set afterwards) is taken back
    (storage/published.py). The bucket is asked where this machine published it, or where a
    batch already holds the bucket; a draft never published here costs no storage request."""
    issue = published_slug(issue, local_catalog(options.build_dir))
    mark = options.build_dir / issue.slug / PUBLISHED_MARK
    if options.upload and not options.dry_run and (storage is not None or mark.exists()):
        session = contextlib.nullcontext(storage) if storage is not None else open_storage(config)
        with session as online:
            assert online is not None
            catalog = read_catalog(online.bucket, online.links.layout)
            issue = published_slug(issue, catalog)
            mark = options.build_dir / issue.slug / PUBLISHED_MARK
            # Still listed, or taken back by a run that stopped before it was done (the mark stays).
            if catalog.find(issue.slug) is not None or (catalog.find_removed(issue.slug) and mark.exists()):
                take_back(online, config, issue.slug, reporter)
                mark.unlink(missing_ok=True)
                return PublishReport(slug=issue.slug, skipped="draft: taken back")
    reporter.info(
        f"skipped  {issue.source}: a draft (draft: true or published: false); not published. "
        f"`publish preview {issue.source}` builds it here to look at"
    )
    return PublishReport(slug=issue.slug, skipped="draft")


def local_catalog(build_dir: Path) -> Catalog:
    path = build_dir / "catalog.json"
    return Catalog.from_json(path.read_bytes(), str(path)) if path.exists() else Catalog()


def publish_issue(
    path: Path,
    config: Config,
    options: PublishOptions,
    reporter: Reporter,
    storage: StorageSession | None = None,
    parsed: Issue | None = None,
    shared: tuple[AudioPlan, Synthesis] | None = None,
) -> PublishReport:
    """One issue, every stage in order; `storage`, `parsed` and `shared` (its audio plan and the
    speech engine) when a batch already holds them."""
    issue = parsed or parse_issue(path, config.issues.ignore_keys)
    for warning in issue.warnings:
        reporter.warn(str(warning))
    if issue.draft and not (options.drafts and not options.upload):
        return skip_draft(issue, config, options, reporter, storage)
    check_show_inputs(config)
    session = (
        contextlib.nullcontext(storage)
        if storage is not None or not options.upload
        else open_storage(config, dry_run=options.dry_run)
    )
    with session as storage:
        links = storage.links if storage else planned_links(config)
        catalog = current_catalog(storage, config, links, options, reporter)
        issue = published_slug(issue, catalog)
        issue = issue.with_image_urls(lambda image: links.url(links.layout.episode(issue.slug, image.name)))
        episode = plan_episode(issue, catalog, links, options.force, reporter.warn)
        build = Build(
            issue,
            options.build_dir / issue.slug,
            PublishReport(
                slug=issue.slug, feed_url=links.feed_url, web_url=links.web_url(issue.slug), episode=episode.number
            ),
        )
        episode = build_audio(build, config, episode, links, options, reporter, shared)
        build_email_files(build, config, episode, links, reporter)
        page = build_page_file(build, config, episode, catalog, links)
        episode = keep_unchanged_timestamp(episode, catalog.find(issue.slug))
        catalog = catalog.upsert(episode)
        build_feed_file(build, config, catalog, episode, links, options.build_dir)
        files = BuiltFiles(build.email_html, build.email_text, build.eml, page(episode.number), build.audio)
        build.report.files = [str(p) for p in files.paths()] + [str(options.build_dir / "feed.xml")]
        if storage is None:
            if not issue.draft:  # a draft's preview is never in the catalogue later builds list
                write_atomic(options.build_dir / "catalog.json", catalog.to_json())
            reporter.info(f"built    {build.folder}/ (not uploaded)")
            return build.report
        items = (
            episode_items(episode, files, links.layout)
            + image_items(issue, links.layout)
            + shared_items(config, links.layout)
        )
        if options.dry_run:
            build.report.upload = plan_upload(storage.bucket, links, items, reporter)
            return _announce(build.report, links, reporter)
        build.report.upload = put_online(storage, config, episode, items, reporter)
        final = build.report.upload.episode or episode.number
        if final != episode.number:  # a concurrent publisher took the planned number
            reporter.info(f"episode  {issue.slug} is episode {final}: another publisher took {episode.number}")
            episode = replace(episode, number=final)
            catalog = catalog.upsert(episode)
            storage.bucket.put(page_item(episode, page(final)))
            build.report.episode = final
        write_atomic(options.build_dir / "catalog.json", catalog.to_json())
        write_atomic(
            build.folder / PUBLISHED_MARK,
            json.dumps(
                {
                    "source_sha256": source_digest(issue.source),
                    "web_url": build.report.web_url,
                    "feed_url": links.feed_url,
                    "at": episode.updated,
                },
                indent=2,
            ),
        )
        return _announce(build.report, links, reporter)


def _announce(report: PublishReport, links: Links, reporter: Reporter) -> PublishReport:
    reporter.info(f"home     {home_url(links)}")
    reporter.info(f"feed     {links.feed_url}")
    return report


def current_catalog(
    storage: StorageSession | None, config: Config, links: Links, options: PublishOptions, reporter: Reporter
) -> Catalog:
    """The catalogue this issue joins: the bucket's, or the build folder's when not uploading."""
    if storage is None:
        catalog = local_catalog(options.build_dir)
    elif storage.missing:
        reporter.info(f"would create bucket {storage.bucket.target.bucket}")
        catalog = Catalog()
    else:
        catalog = read_catalog(storage.bucket, links.layout)
    return catalog.with_guid(show_guid(config.show, catalog, links))
