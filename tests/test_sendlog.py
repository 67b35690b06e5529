"""pipeline/mail/sendlog.py: the log that makes a send exactly once per address."""


def test_the_send_log_holds_no_address_and_needs_the_secret(tmp_path):
    import hashlib
    import sqlite3

    from pipeline.mail.sendlog import open_send_log

    with open_send_log(tmp_path, "the-unsubscribe-secret-123") as log:
        log.record("Someone@Example.com", "sent", "<id@x>")
        log.record(
            "refused@example.com",
            "failed",
            "<id2@x>",
            550,
            "5.1.1 <refused@example.com>: Recipient address rejected; also cc'd other.person@example.org",
        )
    db = sqlite3.connect(tmp_path / "send.sqlite")
    dump = "\n".join(db.iterdump()).lower()
    assert "example.com" not in dump and "example.org" not in dump and "salt" not in dump
    for name in ("someone@example.com", "refused@example.com"):
        assert hashlib.sha256(name.encode()).hexdigest() not in dump
    assert "recipient address rejected" in dump
