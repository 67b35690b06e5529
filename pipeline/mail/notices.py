"""The list's own emails to one reader: the confirmation a sign-up asks for and the welcome
after it, in the issue's look (MJML, light and dark) with a plain-text part, from the show's
From. Each is rendered once per process with a placeholder where the link goes, so a sign-up
costs a string replacement, not an MJML run."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as NOTICE_POLICY  # lines of 78: quoted-printable wrapped as filters expect
from email.utils import formatdate, make_msgid, parseaddr

from markupsafe import escape
from mjml import mjml2html

from pipeline.config import Config
from pipeline.mail.compose import finish_html, sender_domain
from pipeline.mail.unsubscribe import CONFIRM_VALID_S
from pipeline.templating import render

LINK = "https://link.invalid/placeholder"


@dataclass(frozen=True)
class Notice:
    subject: str
    html: str  # LINK where the reader's own link goes
    text: str


def _notice(config: Config, subject: str, heading: str, paragraphs: list[str], button: str, small: str) -> Notice:
    show, email = config.show, config.email
    sender_name, sender_address = parseaddr(email.from_)
    html = finish_html(
        mjml2html(
            render(
                "notice.mjml",
                language=show.language.split("-")[0],
                subject=subject,
                heading=heading,
                show_title=show.title,
                site_url=show.site_url,
                paragraphs=paragraphs,
                button=button,
                button_url=LINK,
                small_print=small,
                sender_name=sender_name or show.title,
                sender_address=sender_address,
                postal_address=email.address,
            ),
            disable_comments=True,
        )
    )
    lines = [show.title.upper(), "", heading, ""]
    for paragraph in paragraphs:
        lines += [*textwrap.wrap(paragraph, 78), ""]
    lines += [f"{button}:", LINK, ""]
    if small:
        lines += [*textwrap.wrap(small, 78), ""]
    lines += ["-- ", f"{sender_name or show.title} <{sender_address}>"]
    if email.address:
        lines.append(email.address)
    return Notice(subject, html, "\n".join(lines) + "\n")


def confirmation_notice(config: Config) -> Notice:
    title = config.show.title
    days = CONFIRM_VALID_S // 86400
    return _notice(
        config,
        f"Confirm your subscription to {title}",
        "Confirm your subscription",
        [
            f"Someone, probably you, asked to get {title} by email at this address.",
            f"Confirm, and the next issue will reach you. The button works for {days} days.",
        ],
        "Yes, subscribe me",
        "If you did not ask for this, ignore this email: you will not be subscribed, and we will not write again.",
    )


def welcome_notice(config: Config) -> Notice:
    show = config.show
    return _notice(
        config,
        f"Welcome to {show.title}",
        "You are subscribed",
        [
            f"Thank you for subscribing to {show.title}. {show.description}",
            "The next issue will reach you at this address; every issue has a link to unsubscribe.",
        ],
        "Read the latest issues",
        "",
    )


def notice_message(config: Config, notice: Notice, address: str, link: str) -> bytes:
    """The notice for one reader, `link` in place of the placeholder."""
    message = EmailMessage(policy=NOTICE_POLICY)
    message["Subject"] = notice.subject
    message["From"] = config.email.from_
    message["To"] = address
    if config.email.reply_to:
        message["Reply-To"] = config.email.reply_to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender_domain(config) or "localhost")
    message.set_content(notice.text.replace(LINK, link), cte="quoted-printable")
    message.add_alternative(notice.html.replace(LINK, str(escape(link))), subtype="html", cte="quoted-printable")
    return message.as_bytes()
