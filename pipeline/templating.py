"""Jinja2 environment over templates/, autoescaping everything by default."""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _printable(value):
    """Every value put into a template: control characters break MJML's parser and are not
    allowed in XML at all. Safe markup stays safe: `re.sub` returns a plain str, which
    autoescape would then show to the reader as escaped HTML."""
    if isinstance(value, Markup):
        return Markup(_CONTROL.sub("", value))
    return _CONTROL.sub("", value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        finalize=_printable,
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "mjml", "xml"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


def long_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"
