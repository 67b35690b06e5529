"""Load and validate `publish.toml` once, reporting every problem together.

Credentials never live here: boto3's standard chain and PUBLISH_SMTP_* supply them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from email.utils import parseaddr
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.errors import InputError, Problem, did_you_mean
from pipeline.source.files import key_line, read_user_text, toml_problem
from pipeline.textutil import CONTROL, PREFIX_PATTERN, UUID_RE, is_web_url

CONFIG_NAME = "publish.toml"
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2}|-[0-9]{3})?$")
PREFIX_RE = re.compile(f"^{PREFIX_PATTERN}$")


@dataclass(frozen=True)
class ShowConfig:
    title: str = "Screen Reviews"
    description: str = "Reviews of film and television, to read or to hear."
    author: str = "Screen Reviews"
    owner_email: str = "podcast@example.com"
    language: str = "en-us"
    site_url: str = "https://example.com"
    cover: Path = Path("audio/cover.jpg")
    category: str = "TV & Film"
    subcategory: str = "TV Reviews"
    explicit: bool = False
    guid: str = ""  # podcast:guid to keep (a show moving here); else made once
    subscribe_url: str = ""  # the newsletter's sign-up page, linked from the home page


@dataclass(frozen=True)
class StorageConfig:
    bucket: str = "podcast"
    prefix: str = ""
    public_url: str = ""
    endpoint_url: str = ""
    region: str = "us-east-1"
    create_bucket: bool = False
    locking: str = "auto"  # catalogue updates: "conditional", "lock-object" or "auto" (probe)


@dataclass(frozen=True)
class VoiceConfig:
    model: str = ""
    lexicon: Path = Path("audio/lexicon.toml")
    intro: Path = Path("audio/intro.mp3")
    outro: Path = Path("audio/outro.mp3")


@dataclass(frozen=True)
class EmailConfig:
    from_: str = "Screen Reviews <news@example.com>"
    reply_to: str = ""
    address: str = ""  # postal address for the footer (CAN-SPAM requires one)
    unsubscribe_url: str = "https://example.com/unsubscribe?token={token}"  # {email} too only for a site of your own
    unsubscribe_mailto: str = ""
    secret_env: str = "PUBLISH_SECRET"
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    rate_per_second: float = 10.0
    transport: str = "smtp"


@dataclass(frozen=True)
class SubscriptionsConfig:
    bucket: str = ""  # private: the list; default "<[storage] bucket>-subscriptions"
    service_url: str = ""  # the service's public base URL: forms post to {service_url}/subscribe
    welcome: bool = False  # a welcome email after a confirmation
    signups_per_hour: int = 20  # sign-ups one client address may make in an hour (more: nothing sent)
    ses_topic_arn: str = ""  # the SNS topic of SES's bounces and complaints; "" takes any (all signed)

    def bucket_for(self, storage: StorageConfig) -> str:
        return self.bucket or f"{storage.bucket}-subscriptions"

    def link(self, path: str) -> str:
        """The public URL of one of the service's pages ("subscribe", "confirm"); "" when no
        [subscriptions] service_url is set."""
        return f"{self.service_url.rstrip('/')}/{path}" if self.service_url else ""


@dataclass(frozen=True)
class IssuesConfig:
    ignore_keys: tuple[str, ...] = ()  # a site's own front matter keys, accepted and ignored


@dataclass(frozen=True)
class Config:
    show: ShowConfig = ShowConfig()
    storage: StorageConfig = StorageConfig()
    voice: VoiceConfig = VoiceConfig()
    email: EmailConfig = EmailConfig()
    issues: IssuesConfig = IssuesConfig()
    subscriptions: SubscriptionsConfig = SubscriptionsConfig()
    path: Path | None = None  # the file it came from, if any
    base_dir: Path = Path(".")  # relative paths in the file are relative to this


SECTIONS: dict[str, type] = {
    "show": ShowConfig,
    "storage": StorageConfig,
    "voice": VoiceConfig,
    "email": EmailConfig,
    "issues": IssuesConfig,
    "subscriptions": SubscriptionsConfig,
}
PATH_KEYS = {("show", "cover"), ("voice", "lexicon"), ("voice", "intro"), ("voice", "outro")}


def default_asset(base_dir: Path, default: Path) -> Path:
    """A show's own file where it has one (audio/cover.jpg beside publish.toml), else the
    one the package ships, so a show can start with no assets at all."""
    own = base_dir / default
    if own.exists():
        return own
    return Path(str(resources.files("pipeline") / "assets" / default.name))


def _toml_key(field_name: str) -> str:
    return field_name.rstrip("_")  # `from` is a Python keyword


def _check_type(value: Any, default: Any) -> str | None:
    if isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return None if ok else 'must be a list of strings, like ["layout", "hero"]'
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be a whole number"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "must be a number"
    return None if isinstance(value, str) else "must be a string"


def _build_section(
    name: str, cls: type, raw: dict, text: str, file: str, base_dir: Path, problems: list[Problem]
) -> Any:
    defaults = cls()
    values = {}
    known = {_toml_key(f.name): f for f in fields(cls)}
    for key, value in raw.items():
        line = key_line(text, key, section=name)
        if key not in known:
            problems.append(Problem(file, f"unknown key '{key}' in [{name}]{did_you_mean(key, list(known))}", line))
            continue
        field = known[key]
        default = getattr(defaults, field.name)
        if (name, key) in PATH_KEYS:
            if not isinstance(value, str):
                problems.append(Problem(file, f"[{name}] {key} must be a string (a path)", line))
                continue
            value = (base_dir / value) if value else Path("")
        else:
            error = _check_type(value, default)
            if error:
                problems.append(Problem(file, f"[{name}] {key} {error}", line))
                continue
        values[field.name] = tuple(value) if isinstance(value, list) else value
    for key, field in known.items():
        if (name, key) in PATH_KEYS and field.name not in values:
            values[field.name] = default_asset(base_dir, getattr(defaults, field.name))
    return cls(**values)


def _validate(config: Config, text: str, file: str, problems: list[Problem]) -> None:
    """Every value checked against its rule, section by section; all problems reported."""
    found: list[tuple[str, str, str]] = []
    for section_name in SECTIONS:
        for key, value in vars(getattr(config, section_name)).items():
            if isinstance(value, str) and CONTROL.search(value):
                found.append((section_name, _toml_key(key), "contains control characters"))
    found += [("show", key, message) for key, message in _show_problems(config.show)]
    found += [("storage", key, message) for key, message in _storage_problems(config.storage)]
    found += [("email", key, message) for key, message in _email_problems(config.email)]
    found += [("subscriptions", key, message) for key, message in _subscriptions_problems(config)]
    problems += [
        Problem(file, f"[{section}] {key} {message}", key_line(text, key, section=section))
        for section, key, message in found
    ]


def _show_problems(show: ShowConfig) -> Iterator[tuple[str, str]]:
    if not LANGUAGE_RE.match(show.language):
        yield "language", f"'{show.language}' is not a language code like en-us"
    if show.guid and not UUID_RE.match(show.guid):
        yield "guid", "must be a lowercase UUID like ead4c236-bf58-58c6-a2c6-a6b28d128cb6"
    if show.subscribe_url and not is_web_url(show.subscribe_url):
        yield "subscribe_url", "must start with http:// or https://"
    if not is_web_url(show.site_url):
        yield "site_url", "must start with http:// or https://"
    if "@" not in parseaddr(show.owner_email)[1]:
        yield "owner_email", "is not an email address"


def _storage_problems(storage: StorageConfig) -> Iterator[tuple[str, str]]:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", storage.bucket):
        yield "bucket", f"'{storage.bucket}' is not a valid bucket name"
    if storage.locking not in ("auto", "conditional", "lock-object"):
        yield "locking", 'must be "auto", "conditional" or "lock-object"'
    if storage.prefix and not PREFIX_RE.match(storage.prefix.rstrip("/") + "/"):
        yield "prefix", "may hold only a-z 0-9 . _ - and / between parts, and no '..'"
    for key in ("public_url", "endpoint_url"):
        url = getattr(storage, key)
        if url and not is_web_url(url):
            yield key, "must start with http:// or https://"


def _email_problems(email: EmailConfig) -> Iterator[tuple[str, str]]:
    if "@" not in parseaddr(email.from_)[1]:
        yield "from", "is not an address like 'Name <news@example.com>'"
    if not is_web_url(email.unsubscribe_url):
        yield "unsubscribe_url", "must be an http(s) URL"
    elif "{token}" not in email.unsubscribe_url:
        yield "unsubscribe_url", "must contain {token} (it names the subscriber and proves the link is theirs)"
    if email.unsubscribe_mailto and not email.unsubscribe_mailto.startswith("mailto:"):
        yield "unsubscribe_mailto", "must start with mailto:"
    if email.transport not in ("smtp", "ses"):
        yield "transport", 'must be "smtp" or "ses"'
    if email.rate_per_second < 0:
        yield "rate_per_second", "must be 0 (no limit) or more"


def _subscriptions_problems(config: Config) -> Iterator[tuple[str, str]]:
    subscriptions = config.subscriptions
    if subscriptions.bucket_for(config.storage) == config.storage.bucket:
        yield "bucket", "must not be the public [storage] bucket: the list is private"
    if subscriptions.service_url and not is_web_url(subscriptions.service_url):
        yield "service_url", "must start with http:// or https://"
    elif "?" in subscriptions.service_url or "#" in subscriptions.service_url:
        yield "service_url", "must be a base URL (no ? or #): forms post to {service_url}/subscribe"
    if subscriptions.signups_per_hour < 1:
        yield "signups_per_hour", "must be 1 or more"
    if subscriptions.ses_topic_arn and not re.fullmatch(
        r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}", subscriptions.ses_topic_arn
    ):
        yield "ses_topic_arn", "must be an SNS topic's ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"


def find_config(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    candidate = Path.cwd() / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load_config(explicit: Path | None = None) -> Config:
    """The validated config: from `explicit`, else ./publish.toml, else defaults."""
    path = find_config(explicit)
    if path is None:
        return _from_mapping({}, "", "(defaults)", Path.cwd(), None)
    text = read_user_text(path, "config file", 1024 * 1024)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = toml_problem(exc)
        raise InputError.at(path, f"not valid TOML: {message}", line) from None
    return _from_mapping(data, text, str(path), path.resolve().parent, path)


def _from_mapping(data: dict, text: str, file: str, base_dir: Path, path: Path | None) -> Config:
    problems: list[Problem] = []
    sections = {}
    for name, value in data.items():
        if name not in SECTIONS:
            problems.append(
                Problem(
                    file,
                    f"unknown section [{name}]{did_you_mean(name, list(SECTIONS))}",
                    key_line(text, name, header=True),
                )
            )
        elif not isinstance(value, dict):
            problems.append(Problem(file, f"'{name}' must be a table [{name}]", key_line(text, name, header=True)))
    for name, cls in SECTIONS.items():
        raw = data.get(name, {})
        sections[name] = _build_section(name, cls, raw if isinstance(raw, dict) else {}, text, file, base_dir, problems)
    config = Config(**sections, path=path, base_dir=base_dir)
    _validate(config, text, file, problems)
    if problems:
        raise InputError(problems)
    return config
