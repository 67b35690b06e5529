"""pipeline/mail/delivery.py: each message to a real SMTP server (aiosmtpd on loopback), a
busy answer retried, a refusal recorded, a server that stays busy given up on in one line."""

import pytest

from pipeline.config import Config, EmailConfig
from pipeline.errors import ServiceError
from pipeline.mail.delivery import SmtpTransport, deliver
from tests.smtp_server import SmtpServer

MESSAGE = b"Subject: x\r\nFrom: news@example.com\r\n\r\nHello.\r\n"


def _deliver(server: SmtpServer, addresses: list[str], delays=(0.01, 0.01)):
    sent, failed = [], []
    transport = SmtpTransport(Config(email=EmailConfig(smtp_host="127.0.0.1", smtp_port=server.port)))
    result = deliver(
        [(a, lambda: MESSAGE) for a in addresses],
        "news@example.com",
        transport,
        rate=0,
        on_sent=sent.append,
        on_failed=lambda a, code, detail: failed.append((a, code)),
        delays=delays,
    )
    return result, sent, failed


def test_a_busy_address_is_retried_a_refused_one_recorded_and_the_rest_delivered():
    with SmtpServer() as server:
        server.mailbox.busy["busy@example.com"] = 2  # two 451s, then accepted: within two retries
        server.mailbox.refuse.add("gone@example.com")
        result, sent, failed = _deliver(
            server, ["a@example.com", "busy@example.com", "gone@example.com", "b@example.com"]
        )
        assert sent == ["a@example.com", "busy@example.com", "b@example.com"] and result.sent == 3
        assert failed == [("gone@example.com", 550)]
        assert server.mailbox.per_recipient() == {"a@example.com": 1, "busy@example.com": 1, "b@example.com": 1}


def test_a_server_that_stays_busy_is_given_up_on_and_what_was_sent_is_kept():
    with SmtpServer() as server:
        server.mailbox.busy["busy@example.com"] = 3  # one more 451 than there are retries
        with pytest.raises(ServiceError) as caught:
            _deliver(server, ["a@example.com", "busy@example.com", "c@example.com"])
        assert "(gave up after 3 tries)" in caught.value.what
        assert caught.value.hint.startswith("1 sent in this run and logged")
        assert server.mailbox.per_recipient() == {"a@example.com": 1}
