"""Amazon's side of SNS, made here because the tests have no network: a CA, an HTTPS server
with a certificate for sns.us-east-1.amazonaws.com that serves a signing certificate and
answers SubscribeURL visits, and messages signed as SNS signs them (SignatureVersion 1 or 2).
The service trusts this CA and connects to this server only through PUBLISH_TEST_SNS_CA and
PUBLISH_TEST_SNS_CONNECT; every check it makes is the one it makes in production."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import ssl
import threading
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from pipeline.mail.sns import string_to_sign

HOST = "sns.us-east-1.amazonaws.com"
TOPIC = "arn:aws:sns:us-east-1:123456789012:publish-bounces"
CERT_PATH = "/SimpleNotificationService-0000000000000000000000.pem"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, key, issuer: str, issuer_key, ca: bool = False, dns: str = ""):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Amazon:
    def __init__(self, folder: Path):
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = _certificate("Test Root CA", ca_key, "Test Root CA", ca_key, ca=True)
        tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tls = _certificate(HOST, tls_key, "Test Root CA", ca_key, dns=HOST)
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signing = _certificate(HOST, self.signing_key, "Test Root CA", ca_key)
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(_pem(ca))
        (folder / "tls.pem").write_bytes(
            _pem(tls)
            + tls_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.visits: list[str] = []
        served, visits = _pem(signing), self.visits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                visits.append(self.path)
                body = served if self.path == CERT_PATH else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "tls.pem")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def env(self) -> dict[str, str]:
        return {
            "PUBLISH_TEST_SNS_CA": str(self.ca_file),
            "PUBLISH_TEST_SNS_CONNECT": f"127.0.0.1:{self.server.server_address[1]}",
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def signed(self, message: dict, version: str = "2", key=None, cert_url: str = "") -> bytes:
        """`message` with the fields SNS adds, signed as SNS signs it."""
        full = {
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": version,
            "SigningCertURL": cert_url or f"https://{HOST}{CERT_PATH}",
            **message,
        }
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.signing_key).sign(string_to_sign(full), padding.PKCS1v15(), algorithm)
        full["Signature"] = base64.b64encode(signature).decode("ascii")
        return json.dumps(full).encode("utf-8")

    def notification(self, ses: dict, **fields) -> dict:
        return {"Type": "Notification", "Message": json.dumps(ses), **fields}

    def subscription(self) -> dict:
        return {
            "Type": "SubscriptionConfirmation",
            "Token": "2336412f37fb687f5d51e6e2425f004aed",
            "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
            "SubscribeURL": f"https://{HOST}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37",
        }


def ses_bounce(address: str, kind: str = "Permanent", feedback_id: str = "") -> dict:
    """An SES bounce notification as SES writes it (the fields publish reads, and their neighbours)."""
    return {
        "notificationType": "Bounce",
        "bounce": {
            "feedbackId": feedback_id or str(uuid.uuid4()),
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1" if kind == "Permanent" else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                    if kind == "Permanent"
                    else "smtp; 452 mailbox full",
                }
            ],
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "remoteMtaIp": "192.0.2.25",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": {
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "source": "news@example.com",
            "messageId": "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
            "destination": [address],
        },
    }
