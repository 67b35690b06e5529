"""What `publish issue` leaves in build/<slug>/ for `publish send`: the contract between the two
commands, so send never imports publish. The email manifest says which source the built email
came from; the published mark says that source went online, so its links work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.textutil import sha256_of

EMAIL_MANIFEST = "email.json"
PUBLISHED_MARK = "published.json"


def source_digest(path: Path) -> str:
    """The issue file's SHA-256: an email built from an older text is never sent."""
    return sha256_of(Path(path))


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
