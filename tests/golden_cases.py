"""Golden outputs: the single place that says how each golden file is produced.

Regenerate after an intended change with `make golden` (python -m tests.regen_golden)."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config
from pipeline.mail.compose import PREVIEW_EMAIL, PREVIEW_TOKEN, build_text, unsubscribe_url
from pipeline.source.parse import parse_issue

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLE = ROOT / "issues" / "2022-01-28-all-of-us-are-dead.md"
WEB_URL = "https://media.example.com/episodes/all-of-us-are-dead/index.html"


def example_email_text() -> str:
    config = Config()
    issue = parse_issue(EXAMPLE)
    unsubscribe = unsubscribe_url(config.email.unsubscribe_url, PREVIEW_EMAIL, PREVIEW_TOKEN)
    return build_text(issue, config, WEB_URL, unsubscribe)


CASES = {"all-of-us-are-dead.email.txt": example_email_text}
