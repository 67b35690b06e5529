"""`publish init`: a new show's folder, like `mkdocs new`: the config with every key
explained, a sample issue, and the default cover, stings and lexicon to replace."""

from __future__ import annotations

import datetime as dt
import os
from importlib import resources
from pathlib import Path

from pipeline.errors import InputError, Problem

ASSETS = ("cover.jpg", "intro.mp3", "outro.mp3", "lexicon.toml")


def init_show(directory: Path, today: dt.date | None = None) -> list[Path]:
    """Write the show's files into `directory`; refuse (writing nothing) if any exists."""
    day = (today or dt.date.today()).isoformat()
    package = resources.files("pipeline")
    files: dict[Path, bytes] = {
        directory / "publish.toml": (package / "init" / "publish.toml").read_bytes(),
        directory / "issues" / f"{day}-welcome.md": (package / "init" / "sample-issue.md")
        .read_text("utf-8")
        .replace("{date}", day)
        .encode("utf-8"),
        **{directory / "audio" / name: (package / "assets" / name).read_bytes() for name in ASSETS},
    }
    linked = [folder for folder in (directory, directory / "issues", directory / "audio") if folder.is_symlink()]
    if linked:
        raise InputError(
            [
                Problem(
                    str(folder),
                    f"is a link (to {folder.resolve()}); publish init writes only into "
                    "real folders of the show, so that nothing lands elsewhere",
                )
                for folder in linked
            ]
        )
    existing = [path for path in files if path.exists() or path.is_symlink()]
    if existing:
        raise InputError([Problem(str(path), "already exists; publish init never overwrites") for path in existing])
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created, never opened if something is there (a link put in place meanwhile included).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    return list(files)
