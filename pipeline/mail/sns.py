"""Amazon SNS messages as an HTTPS endpoint receives them (SES's bounce and complaint
notifications come this way): each one's signature checked against Amazon's certificate before
anything in it is believed, and a subscription confirmed by visiting its SubscribeURL.

The certificate is fetched over HTTPS (the system's CAs) from `SigningCertURL`, and only from
`https://sns.<region>.amazonaws.com/…` (or `.amazonaws.com.cn`); each is fetched once per
process. SignatureVersion 1 is RSA over SHA-1, 2 over SHA-256, of the string AWS documents for
each message type. A message older than MAX_AGE_S is refused, so an old one replayed is not
news; a replay within it is the same MessageId, which a record keeps (mail/records.py).

For the tests only, PUBLISH_TEST_SNS_CONNECT (host:port) sends those HTTPS requests to a local
server and PUBLISH_TEST_SNS_CA names the CA that server's certificate is signed with. Nothing
skips a check: the host rule, TLS and the signature are verified all the same."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import os
import re
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_AGE_S = 24 * 3600  # SNS retries an endpoint for at most about a day with a custom policy
MAX_CERT_BYTES = 64 * 1024
FETCH_TIMEOUT_S = 5.0
CACHED_CERTS = 16
_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?")
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


class Refused(Exception):
    """A message that is not from SNS, or not one to act on; the reason is for the log."""


@dataclass(frozen=True)
class SnsMessage:
    kind: str  # Notification | SubscriptionConfirmation | UnsubscribeConfirmation
    message_id: str
    topic_arn: str
    message: str
    subscribe_url: str = ""


def amazon_url(url: str) -> bool:
    """An https URL on an SNS host, with nothing that could point it elsewhere."""
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.port is None
        and not parts.username
        and not parts.password
        and bool(_HOST.fullmatch(parts.hostname or ""))
    )


def string_to_sign(message: dict[str, Any]) -> bytes:
    fields = _SIGNED.get(str(message.get("Type")))
    if fields is None:
        raise Refused("unknown message type")
    lines = []
    for name in fields:
        if name in message:
            if not isinstance(message[name], str):
                raise Refused(f"{name} is not text")
            lines += [name, message[name]]
        elif name != "Subject":
            raise Refused(f"{name} is missing")
    return ("\n".join(lines) + "\n").encode("utf-8")


class CertificateCache:
    """Amazon's signing certificates by URL, each fetched once (a few at most are kept)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._certs: dict[str, Any] = {}

    def get(self, url: str) -> Any:
        from cryptography import x509

        with self._lock:
            if url in self._certs:
                return self._certs[url]
        pem = fetch(url, MAX_CERT_BYTES)
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise Refused("the signing certificate is not a PEM certificate") from None
        with self._lock:
            if len(self._certs) >= CACHED_CERTS:
                self._certs.pop(next(iter(self._certs)))
            self._certs[url] = cert
        return cert


def fetch(url: str, limit: int) -> bytes:
    """GET an SNS URL over verified HTTPS; at most `limit` bytes, within FETCH_TIMEOUT_S."""
    if not amazon_url(url):
        raise Refused("the URL is not an https URL on an sns.<region>.amazonaws.com host")
    parts = urlsplit(url)
    host = parts.hostname or ""
    context = ssl.create_default_context(cafile=os.environ.get("PUBLISH_TEST_SNS_CA") or None)
    target = os.environ.get("PUBLISH_TEST_SNS_CONNECT", "")
    address, _, port = target.rpartition(":") if target else (host, "", "443")
    connection = _Connection(host, address, int(port), context)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers={"Host": host})
        answer = connection.getresponse()
        body = answer.read(limit + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise Refused(f"fetching from {host} failed ({type(exc).__name__})") from None
    finally:
        connection.close()
    if answer.status != 200 or len(body) > limit:
        raise Refused(f"{host} answered {answer.status} ({len(body)} bytes)")
    return body


class _Connection(http.client.HTTPSConnection):
    """HTTPS to `address` (the host itself, but for the tests' local server), verifying the
    certificate for `host` whichever address it connects to."""

    def __init__(self, host: str, address: str, port: int, context: ssl.SSLContext):
        super().__init__(address, port, timeout=FETCH_TIMEOUT_S, context=context)
        self._tls_host, self._tls_context = host, context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._tls_host)


def verify(body: bytes, certificates: CertificateCache, topics: tuple[str, ...] = (), now: float = 0.0) -> SnsMessage:
    """The message in an SNS POST body once its signature verifies; Refused otherwise."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused("the body is not JSON") from None
    if not isinstance(message, dict):
        raise Refused("the body is not a JSON object")
    version = message.get("SignatureVersion")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(version))
    if algorithm is None:
        raise Refused("unknown SignatureVersion")
    signed = string_to_sign(message)
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except ValueError:
        raise Refused("the signature is not base64") from None
    cert = certificates.get(str(message.get("SigningCertURL", "")))
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refused("the signing certificate's key is not RSA")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise Refused("the signature does not verify") from None
    _check_age(str(message["Timestamp"]), now or dt.datetime.now(dt.UTC).timestamp())
    if topics and message["TopicArn"] not in topics:
        raise Refused("the topic is not one this list takes notifications from")
    return SnsMessage(
        str(message["Type"]),
        str(message["MessageId"]),
        str(message["TopicArn"]),
        str(message["Message"]),
        str(message.get("SubscribeURL", "")),
    )


def _check_age(stamp: str, now: float) -> None:
    try:
        sent = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise Refused("the Timestamp is not a time") from None
    if sent.tzinfo is None:
        raise Refused("the Timestamp has no time zone")
    age = now - sent.timestamp()
    if age > MAX_AGE_S or age < -300:
        raise Refused("the message is too old (or from the future): a replay")


def confirm_subscription(message: SnsMessage) -> None:
    """What SNS asks of a new endpoint: a GET of the SubscribeURL (on an SNS host only)."""
    fetch(message.subscribe_url, 64 * 1024)
