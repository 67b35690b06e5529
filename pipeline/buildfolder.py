"""What `publish issue` leaves in build/<slug>/ for `publish send`: the contract between the two
commands, so send never imports publish. The email manifest says which source the built email
came from; the published mark says that source went online, so its links work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.textutil import sha256_of

EMAIL_MANIFEST = "email.json"
PUBLISHED_MARK = "published.json"


def source_digest(path: Path) -> str:
    """The issue file's SHA-256: an email built from an older text is never sent."""
    return sha256_of(Path(path))


def email_settings(config: Config) -> dict[str, str]:
    """The settings that shape the built email, by their config names: a send compares them
    with today's, so an edit made after `publish issue` (a postal address added) is not lost."""
    show, email = config.show, config.email
    return {
        "[show] title": show.title,
        "[show] author": show.author,
        "[show] site_url": show.site_url,
        "[show] language": show.language,
        "[email] from": email.from_,
        "[email] reply_to": email.reply_to,
        "[email] address": email.address,
        "[email] unsubscribe_url": email.unsubscribe_url,
        "[email] unsubscribe_mailto": email.unsubscribe_mailto,
        "[subscriptions] service_url": config.subscriptions.service_url,
    }


@dataclass(frozen=True)
class AudioFiles:
    mp3: Path
    transcript: Path
    chapters: Path
    words: Path


@dataclass(frozen=True)
class BuiltFiles:
    """What one build wrote to build/<slug>/ (the .eml stays local: it is a per-recipient template)."""

    email_html: Path
    email_text: Path
    email_eml: Path
    page: Path
    audio: AudioFiles | None = None

    def paths(self) -> list[Path]:
        extra = [self.audio.mp3, self.audio.transcript, self.audio.chapters, self.audio.words] if self.audio else []
        return [self.email_html, self.page, self.email_text, self.email_eml, *extra]
