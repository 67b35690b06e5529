"""pipeline/mail/unsubscribe.py: the one-click unsubscribe and Undo tokens."""

from pipeline.mail.unsubscribe import make_token, verify

SECRET = "test-unsubscribe-secret-0123456789"


def test_tokens_verify_only_for_their_address_and_secret():
    token = make_token("a@example.com", SECRET)
    assert verify("a@example.com", token, SECRET)
    assert verify(" A@Example.COM ", token, SECRET)
    assert not verify("b@example.com", token, SECRET)
    assert not verify("a@example.com", token, "another-secret-0123456789")
    assert not verify("a@example.com", token[:-1] + ("A" if token[-1] != "A" else "B"), SECRET)
    assert not verify("a@example.com", "", SECRET)
    assert not verify("a@example.com", "ü" * 43, SECRET)


def test_tokens_never_raise_and_are_bound_to_their_list():
    from pipeline.mail.unsubscribe import make_token, verify

    secret = "one-secret-shared-by-two-shows"
    for junk in ("\ud800@example.com", "a@example.com\udfff", "\x00", ""):
        assert verify(junk, "v2.x", secret, list_id="a.example.com") is False
        assert verify(junk, "x", secret) is False
    assert verify("a@example.com", "v2.\ud800", secret, list_id="a.example.com") is False
    token = make_token("a@example.com", secret, "screen-reviews.example.com")
    assert token.startswith("v2.")
    assert verify("A@example.com", token, secret, list_id="screen-reviews.example.com")
    assert not verify("a@example.com", token, secret, list_id="book-reviews.example.com")
    assert not verify("a@example.com", token, secret)
    legacy = make_token("a@example.com", secret)  # links already in inboxes keep working
    assert verify("a@example.com", legacy, secret, list_id="screen-reviews.example.com")
