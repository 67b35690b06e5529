"""The episode's web page: the review with an audio player, the feed link and Open Graph tags."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import Config
from pipeline.issue import Issue
from pipeline.templating import long_date, render


@dataclass(frozen=True)
class PageAudio:
    url: str
    duration_s: float
    transcript_url: str | None = None


def build_page(issue: Issue, config: Config, web_url: str, feed_url: str,
               audio: PageAudio | None = None, cover_url: str | None = None,
               episode: int | None = None) -> str:
    show = config.show
    duration_text = None
    if audio:
        minutes, seconds = divmod(round(audio.duration_s), 60)
        duration_text = f"{minutes} min {seconds:02d} s"
    return render(
        "page.html",
        language=show.language, title=issue.title, show_title=show.title, summary=issue.summary,
        feed_url=feed_url, web_url=web_url, site_url=show.site_url, cover_url=cover_url,
        audio_url=audio.url if audio else None, transcript_url=audio.transcript_url if audio else None,
        duration_text=duration_text, date_iso=issue.date.isoformat(), date_text=long_date(issue.date),
        author=issue.author or show.author, episode=episode, body_html=issue.body_html,
    )
