"""The order of stages. The only module that knows it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.email import build_email
from pipeline.issue import Issue, parse_issue
from pipeline.links import make_links
from pipeline.page import build_page
from pipeline.report import Reporter
from pipeline.textutil import human_size


@dataclass(frozen=True)
class PublishOptions:
    build_dir: Path = Path("build")
    dry_run: bool = False
    upload: bool = True
    audio: bool = True
    force: bool = False


@dataclass
class Summary:
    slug: str
    feed_url: str | None = None
    audio_url: str | None = None
    web_url: str | None = None
    email: dict | None = None
    audio: dict | None = None
    upload: dict | None = None
    not_available: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def preview_paths(self) -> list[str]:
        return list(self.files)

    def as_json(self) -> dict:
        return {"slug": self.slug, "feed_url": self.feed_url, "audio_url": self.audio_url,
                "web_url": self.web_url, "email": self.email, "audio": self.audio,
                "upload": self.upload, "not_available": self.not_available}


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def build_issue(issue: Issue, config: Config, options: PublishOptions, reporter: Reporter) -> Summary:
    """Build the email and the web page into build/<slug>/."""
    links = make_links(config.storage, config.storage.endpoint_url or None)
    out = options.build_dir / issue.slug
    web_url, feed_url = links.web_url(issue.slug), links.feed_url
    email = build_email(issue, config, web_url, feed_url)
    html = _write(out / "email.html", email.html)
    text = _write(out / "email.txt", email.text)
    eml = _write(out / "email.eml", email.eml)
    page = _write(out / "index.html", build_page(issue, config, web_url, feed_url))
    reporter.info(f"email    {html}  ({human_size(email.html_bytes)} HTML; Gmail clips at 102 KB)")
    for warning in email.warnings:
        reporter.warn(warning)
    return Summary(slug=issue.slug, feed_url=feed_url, web_url=web_url,
                   email={"html": str(html), "text": str(text), "eml": str(eml),
                          "html_bytes": email.html_bytes},
                   files=[str(html), str(page), str(text), str(eml)])


def publish_issue(path: Path, config: Config, options: PublishOptions, reporter: Reporter) -> Summary:
    issue = parse_issue(path)
    summary = build_issue(issue, config, options, reporter)
    summary.not_available = ["audio", "feed", "upload"]
    reporter.info(f"page     {options.build_dir / issue.slug / 'index.html'}")
    reporter.info("not available yet: audio, feed, upload")
    return summary
