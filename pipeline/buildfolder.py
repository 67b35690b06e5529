"""What `publish issue` leaves in build/<slug>/ for `publish send`: the contract between the two
commands, so send never imports publish. The email manifest says which source the built email
came from; the published mark says that source went online, so its links work."""
from __future__ import annotations

from pathlib import Path

from pipeline.textutil import sha256_of

EMAIL_MANIFEST = "email.json"
PUBLISHED_MARK = "published.json"


def source_digest(path: Path) -> str:
    """The issue file's SHA-256: an email built from an older text is never sent."""
    return sha256_of(Path(path))
