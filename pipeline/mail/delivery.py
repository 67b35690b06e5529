"""Getting messages to a mail server: SMTP (one reused connection) or Amazon SES, paced to the
configured rate, transient failures retried with backoff, permanent ones recorded per address."""

from __future__ import annotations

import functools
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Config
from pipeline.errors import InputError, ServiceError
from pipeline.retry import retry

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # about 15 s of patience per message
TIMEOUT_S = 30.0
GIVE_UP_AFTER_REJECTIONS = 10  # every one refused, none accepted: stop, it's not them
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class Transient(Exception):
    """Worth trying again: 4xx, throttling, a dropped connection."""


class Rejected(Exception):
    """This recipient's message was refused for good (5xx)."""

    def __init__(self, code: int | None, detail: str):
        self.code, self.detail = code, detail
        super().__init__(f"{code} {detail}")


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"


class SmtpTransport:
    """One connection, reused; reopened after a failure."""

    def __init__(self, config: Config, timeout: float = TIMEOUT_S):
        email = config.email
        self.host, self.port, self.starttls = email.smtp_host, email.smtp_port, email.smtp_starttls
        self.user = os.environ.get("PUBLISH_SMTP_USER", "")
        self.password = os.environ.get("PUBLISH_SMTP_PASSWORD", "")
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None
        if self.user and not (self.starttls or self.port == 465 or self.host in LOOPBACK):
            raise InputError.at(
                str(config.path or "publish.toml"),
                f"[email] smtp_starttls is false: refusing to send the SMTP password "
                f"unencrypted to {self.host}; set smtp_starttls = true or use port 465",
            )

    @property
    def name(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def _open(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        try:
            connection: smtplib.SMTP
            if self.port == 465:
                connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    connection.starttls(context=context)
                    connection.ehlo()
            if self.user:
                connection.login(self.user, self.password)
            return connection
        except smtplib.SMTPAuthenticationError as exc:
            raise ServiceError(
                f"{self.name} refused the login ({exc.smtp_code})", "check PUBLISH_SMTP_USER and PUBLISH_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise ServiceError(
                f"{self.name} does not offer STARTTLS or AUTH", "check smtp_starttls and smtp_port in [email]"
            ) from None
        except ssl.SSLError as exc:
            raise ServiceError(f"{self.name}: TLS failed ({exc.reason})", "check smtp_port and smtp_starttls") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Transient(f"cannot connect: {exc}") from None

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        if self.connection is None:
            self.connection = self._open()
        options = []
        if not recipient.isascii():
            if not self.connection.has_extn("smtputf8"):
                raise Rejected(None, "the server does not accept non-ASCII addresses (no SMTPUTF8)")
            options.append("SMTPUTF8")
        try:
            self.connection.sendmail(sender, [recipient], message, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise (Transient(_reply(code, text)) if code < 500 else Rejected(code, _reply(code, text))) from None
        except smtplib.SMTPSenderRefused as exc:
            if exc.smtp_code < 500:
                raise Transient(_reply(exc.smtp_code, exc.smtp_error)) from None
            raise ServiceError(
                f"{self.name} refused the sender {sender}: {_reply(exc.smtp_code, exc.smtp_error)}",
                "check [email] from; the server must allow it",
            ) from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code < 500:
                self.close()
                raise Transient(_reply(exc.smtp_code, exc.smtp_error)) from None
            raise Rejected(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise Transient(f"connection lost: {exc or type(exc).__name__}") from None

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()


class SesTransport:
    """Amazon SES (sesv2 SendEmail with the raw message). Region and credentials come from
    boto3's standard chain; AWS_ENDPOINT_URL_SESV2 points it elsewhere."""

    TRANSIENT = {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
        "LimitExceededException",
    }
    REJECTED = {"MessageRejected", "BadRequestException"}

    def __init__(self, config: Config, client: Any = None) -> None:
        if client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            session = boto3.session.Session()
            client = session.client(
                "sesv2",
                region_name=session.region_name or config.storage.region,
                config=BotoConfig(
                    connect_timeout=10, read_timeout=TIMEOUT_S, retries={"mode": "standard", "max_attempts": 3}
                ),
            )
        self.client = client
        self.name = f"Amazon SES ({client.meta.region_name})"

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.send_email(
                FromEmailAddress=sender, Destination={"ToAddresses": [recipient]}, Content={"Raw": {"Data": message}}
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            detail = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
            if code in self.TRANSIENT:
                raise Transient(detail) from None
            if code in self.REJECTED:
                raise Rejected(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"), detail) from None
            raise ServiceError(
                f"{self.name} refused to send: {detail}",
                "check the SES account, the verified sender and the credentials",
            ) from None
        except BotoCoreError as exc:
            raise Transient(str(exc)) from None

    def close(self) -> None:
        pass


def open_transport(config: Config) -> SmtpTransport | SesTransport:
    return SesTransport(config) if config.email.transport == "ses" else SmtpTransport(config)


@dataclass
class Delivery:
    sent: int = 0
    failures: list[tuple[str, int | None, str]] = field(default_factory=list)


class Pacer:
    """At most `rate` messages a second (0: no limit), without drifting over a long send."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if self.interval:
            delay = self.next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.next_at = max(self.next_at, time.monotonic() - self.interval) + self.interval


def deliver(
    jobs: Iterable[tuple[str, Callable[[], bytes]]],
    sender: str,
    transport: Any,
    *,
    rate: float,
    on_sent: Callable[[str], None],
    on_failed: Callable[[str, int | None, str], None],
    progress: Any = None,
    delays: tuple[float, ...] = RETRY_DELAYS,
) -> Delivery:
    """Send each (address, render) in turn. Returns when all were tried; raises ServiceError
    when the server stays unreachable (everything accepted so far is already recorded)."""
    result = Delivery()
    pacer = Pacer(rate)
    try:
        for address, render in jobs:
            pacer.wait()
            message = render()
            try:
                retry(
                    functools.partial(transport.send, sender, address, message),
                    Transient,
                    delays,
                    lambda exc, tries: ServiceError(
                        f"{transport.name}: {exc} (gave up after {tries} tries)",
                        f"{result.sent} sent in this run and logged; run the same command again to send the "
                        "rest (nobody receives it twice)",
                    ),
                )
            except Rejected as exc:
                result.failures.append((address, exc.code, exc.detail))
                on_failed(address, exc.code, exc.detail)
                if not result.sent and len(result.failures) >= GIVE_UP_AFTER_REJECTIONS:
                    raise ServiceError(
                        f"{transport.name} refused the first {len(result.failures)} messages (last: {exc.detail})",
                        "nothing was accepted; check the server and [email] from",
                    ) from None
            else:
                result.sent += 1
                on_sent(address)
            if progress is not None:
                progress.advance()
    finally:
        transport.close()
    return result
