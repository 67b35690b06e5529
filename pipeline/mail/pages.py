"""The service's pages (sign-up, confirm, unsubscribe): one template, the show's look, headers
that keep them out of frames, caches and referrers."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from pipeline.config import Config
from pipeline.templating import render

HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def service_page(
    config: Config,
    status: int,
    heading: str,
    message: str,
    *,
    address: str = "",
    hidden: dict[str, str] | None = None,
    button: str = "",
    quiet: bool = False,
    signup: bool = False,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page with a message, and a one-button form (its `hidden` fields posted back) or the
    sign-up form. Everything in it is escaped by the template."""
    show = config.show
    html = render(
        "service.html",
        language=show.language,
        show_title=show.title,
        site_url=show.site_url,
        heading=heading,
        message=message,
        address=address,
        hidden=hidden or {},
        button=button,
        quiet=quiet,
        signup_action=config.subscriptions.link("subscribe") if signup else "",
        signup_source=config.subscriptions.link("subscribe"),
    )
    return HTMLResponse(html, status, headers={**HEADERS, **(headers or {})})


def unavailable(config: Config) -> HTMLResponse:
    return service_page(
        config,
        503,
        "Please try again in a minute",
        "We could not record this just now. Nothing has changed yet; the same link will work again shortly.",
        headers={"Retry-After": "60"},
    )
