"""Build the newsletter issue: responsive HTML (MJML), plain text and a complete .eml."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from dataclasses import dataclass
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import quote, urlsplit

from mjml import mjml2html

from pipeline.config import Config
from pipeline.mail.message import MessageTemplate, Recipient
from pipeline.source.document import Block, Issue
from pipeline.source.sanitize import sanitize_html
from pipeline.templating import render
from pipeline.textutil import is_web_url, shorten, slugify
from pipeline.timefmt import long_date, utc_now

GMAIL_CLIP_BYTES = 102 * 1024
WARN_BYTES = 90 * 1024
WRAP = 78
PREHEADER_CHARS = 200  # inbox previews show about 100; the rest is noise
# The built .eml is a preview: per-recipient values are filled in by `publish send`.
PREVIEW_EMAIL = "preview-recipient@example.invalid"
PREVIEW_TOKEN = "PREVIEW-TOKEN"

_LINK = "color:#a3221a;text-decoration:underline;"
BODY_STYLES = {
    "p": {"style": "margin:0 0 18px;"},
    "h2": {"style": "font-size:24px;line-height:1.3;margin:30px 0 12px;font-weight:bold;"},
    "h3": {"style": "font-size:20px;line-height:1.3;margin:26px 0 10px;font-weight:bold;"},
    "h4": {"style": "font-size:17px;margin:22px 0 8px;font-weight:bold;"},
    "blockquote": {
        "style": "margin:0 0 18px;padding:4px 0 4px 18px;border-left:3px solid #a3221a;color:#4a4f57;font-style:italic;"
    },
    "ul": {"style": "margin:0 0 18px;padding-left:24px;"},
    "ol": {"style": "margin:0 0 18px;padding-left:24px;"},
    "li": {"style": "margin:0 0 6px;"},
    "a": {"style": _LINK},
    "img": {"style": "max-width:100%;height:auto;display:block;border:0;margin:8px 0;"},
    "table": {"style": "border-collapse:collapse;width:100%;margin:0 0 18px;font-size:15px;"},
    "th": {"style": "border-bottom:2px solid #d9d3c7;padding:6px 8px;text-align:left;"},
    "td": {"style": "border-bottom:1px solid #e6e1d8;padding:6px 8px;vertical-align:top;"},
    "pre": {"style": "white-space:pre-wrap;font-size:14px;background:#f4f1ec;padding:12px;border-radius:4px;"},
    "code": {"style": "font-family:Menlo,Consolas,monospace;font-size:0.9em;"},
    "hr": {"style": "border:0;border-top:1px solid #e6e1d8;margin:24px 0;"},
}


@dataclass(frozen=True)
class EmailBuild:
    html: str
    text: str
    eml: bytes
    subject: str
    unsubscribe_preview_url: str

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))

    postal_address: str = ""

    @property
    def warnings(self) -> tuple[str, ...]:
        found = []
        if self.html_bytes > WARN_BYTES:
            found.append(
                f"email HTML is {self.html_bytes / 1024:.0f} KB; Gmail clips messages over 102 KB "
                "(shorten the issue or move images off the page)"
            )
        if not self.postal_address:
            found.append(
                "[email] address is empty: the law (CAN-SPAM) requires a postal address in the footer "
                "of every newsletter"
            )
        return tuple(found)


_BODY = re.compile(r"(<body[^>]*>)")
_CELL_ALIGN = re.compile(r'<(t[dh])\b([^>]*?) style="text-align:(left|right|center)"')  # a table's :---:
_END = "</body></html>"
_TD_VALIGN = re.compile(r'(<td\b[^>]*?) vertical-align="[^"]*"')  # MJML's: not an HTML attribute


def finish_html(html: str) -> str:
    """MJML's output made right where it is not: its stray `vertical-align` attribute on a
    button's <td> dropped (the W3C validator's one error that is not Outlook's), and the email
    (MJML's role="article" wrapper) in a <main>, so a screen reader and the web version find
    where the content is (axe: landmark-one-main, region). A mail client that drops <main>
    keeps what is in it."""
    html = _TD_VALIGN.sub(r"\1", html)
    found = _BODY.search(html)
    if found is None or not html.rstrip().endswith(_END):
        return html
    body = html.rstrip()[: -len(_END)]
    return body[: found.end()] + "<main>" + body[found.end() :] + "</main>" + _END + "\n"


def unsubscribe_url(template: str, email: str, token: str) -> str:
    return template.replace("{email}", quote(email, safe="")).replace("{token}", quote(token, safe=""))


def build_email(
    issue: Issue,
    config: Config,
    web_url: str,
    feed_url: str,
    audio_minutes: int | None = None,
    now: dt.datetime | None = None,
    cover_url: str | None = None,
    image: tuple[str, str] | None = None,
) -> EmailBuild:
    """`image` is the issue's header image as (URL, alt text); else the show's cover heads the
    masthead. No audio, no Listen button."""
    show, email = config.show, config.email
    sender_name, sender_address = parseaddr(email.from_)
    unsubscribe = unsubscribe_url(email.unsubscribe_url, PREVIEW_EMAIL, PREVIEW_TOKEN)
    author = issue.byline(show.author)
    mjml_source = render(
        "email.mjml",
        language=show.language.split("-")[0],
        title=issue.title,
        subtitle=issue.subtitle,
        show_title=show.title,
        preheader=shorten(issue.summary, PREHEADER_CHARS),
        web_url=web_url,
        feed_url=feed_url,
        site_url=show.site_url,
        site_host=urlsplit(show.site_url).netloc or show.site_url,
        date_text=long_date(issue.date),
        author=author,
        minutes=max(1, round(issue.word_count / 230)),
        audio_minutes=audio_minutes,
        body_html=sanitize_html(
            _CELL_ALIGN.sub(r'<\1\2 align="\3"', issue.body_html),  # kept when BODY_STYLES sets the style
            set_tag_attribute_values=BODY_STYLES,
            filter_style_properties=None,
        ),
        sender_name=sender_name or show.title,
        sender_address=sender_address,
        unsubscribe_url=unsubscribe,
        signup_url=config.subscriptions.link("subscribe"),
        postal_address=email.address,
        cover_url=cover_url,
        image_url=image[0] if image else None,
        image_alt=image[1] if image else "",
    )
    html = finish_html(mjml2html(mjml_source, disable_comments=True))
    text = build_text(issue, config, web_url, unsubscribe, listen=bool(audio_minutes))
    eml = build_eml(issue, config, html, text, unsubscribe, now)
    return EmailBuild(html, text, eml, issue.title, unsubscribe, email.address)


def _wrap(text: str, prefix: str = "", rest: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        WRAP,
        initial_indent=prefix,
        subsequent_indent=prefix if rest is None else rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [prefix.rstrip()]


class _LinkNumbers:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def inline(self, block: Block) -> str:
        parts = []
        for span in block.spans:
            text = f"[image: {span.text}]" if span.kind == "image" and span.text else span.text
            parts.append(text)
            if span.href and (is_web_url(span.href) or span.href.startswith("mailto:")):
                if span.href not in self.urls:
                    self.urls.append(span.href)
                parts.append(f" [{self.urls.index(span.href) + 1}]")
        return " ".join("".join(parts).split())


def _block_lines(block: Block, links: _LinkNumbers) -> list[str]:
    text = links.inline(block)
    indent = "  " * max(0, block.depth - 1)
    if block.kind == "list_item":
        marker = f"{block.ordinal}. " if block.ordinal is not None else "- "
        return _wrap(text, indent + marker, indent + " " * len(marker))
    if block.kind == "quote":
        return _wrap(text, "> ")
    if block.kind == "code":
        return ["    " + line for line in block.spans[0].text.splitlines()]
    if block.kind == "table_row":
        return _wrap(text, "  ", "    ")
    return _wrap(text)


def build_text(issue: Issue, config: Config, web_url: str, unsubscribe: str, listen: bool = True) -> str:
    """A plain-text part that reads well: wrapped at 78 columns, links as numbered references."""
    links = _LinkNumbers()
    author = issue.byline(config.show.author)
    lines = [
        config.show.title.upper(),
        "",
        *_wrap(issue.title),
        "=" * min(WRAP, len(issue.title)),
        *(["", *_wrap(issue.subtitle), ""] if issue.subtitle else []),
        f"{long_date(issue.date)} · by {author}",
        "",
    ]
    if listen:
        lines += ["Listen to this review:", web_url, ""]
    previous = None
    for section in issue.sections:
        if section.title:
            lines += ["", *_wrap(section.title), "-" * min(WRAP, len(section.title)), ""]
        for block in section.blocks:
            tight = previous in ("list_item", "table_row") and block.kind == previous
            if not tight and lines[-1] != "":
                lines.append("")
            lines += _block_lines(block, links)
            previous = block.kind
    if issue.footnotes:
        lines += ["", "Notes", "-----"]
        for number, note in enumerate(issue.footnotes, 1):
            lines += _wrap(links.inline(note), f"{number}. ", "   ")
    if links.urls:
        lines += ["", "Links", "-----"]
        lines += [f"[{n}] {url}" for n, url in enumerate(links.urls, 1)]
    lines += [
        "",
        "-- ",
        f"{config.show.title} · {config.show.site_url}",
        "View in your browser:",
        web_url,
        "Unsubscribe:",
        unsubscribe,
    ]
    if config.subscriptions.service_url:
        lines += ["Forwarded to you? Subscribe:", config.subscriptions.link("subscribe")]
    if config.email.address:
        lines += _wrap(config.email.address)
    lines.append("")
    return "\n".join(lines)


def list_identity(config: Config) -> str:
    """The list's identity (RFC 2919): what unsubscribe tokens are bound to."""
    return f"{slugify(config.show.title) or 'newsletter'}.{sender_domain(config) or 'localhost'}"


def _list_id(config: Config) -> str:
    return f"{config.show.title} <{list_identity(config)}>"


def message_template(
    issue: Issue, config: Config, html: str, text: str, placeholder_url: str, subject_prefix: str = ""
) -> MessageTemplate:
    email = config.email
    headers = [("Subject", subject_prefix + issue.title), ("From", email.from_)]
    if email.reply_to:
        headers.append(("Reply-To", email.reply_to))
    headers.append(("List-Id", _list_id(config)))
    return MessageTemplate(headers, html, text, placeholder_url, email.unsubscribe_mailto)


def build_eml(
    issue: Issue, config: Config, html: str, text: str, unsubscribe: str, now: dt.datetime | None = None
) -> bytes:
    """The preview message kept in the build folder; `publish send` fills in each recipient."""
    preview = Recipient(PREVIEW_EMAIL, unsubscribe, make_msgid(idstring=issue.slug, domain=sender_domain(config)))
    note = ("X-Publish-Preview", "per-recipient values (To, unsubscribe link) are filled in by `publish send`")
    return message_template(issue, config, html, text, unsubscribe).render(
        preview, format_datetime(now or utc_now()), extra_headers=(note,)
    )


def sender_domain(config: Config) -> str | None:
    return parseaddr(config.email.from_)[1].rpartition("@")[2] or None
