"""Jinja2 environment over the package's templates/, autoescaping everything by default."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from pipeline.textutil import xml_safe


def _printable(value: Any) -> Any:
    """Every value put into a template: control characters break MJML's parser and are not
    allowed in XML at all. Safe markup stays safe: `re.sub` returns a plain str, which
    autoescape would then show to the reader as escaped HTML."""
    if isinstance(value, Markup):
        return Markup(xml_safe(value))
    return xml_safe(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        finalize=_printable,
        loader=PackageLoader("pipeline", "templates"),  # package data: works from a wheel
        autoescape=select_autoescape(["html", "mjml", "xml"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
