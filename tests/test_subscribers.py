"""pipeline/mail/subscribers.py: the subscriber CSV as `publish send` reads it."""

import pytest


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "is empty"),
        (b"name,status\nAnn,\n", "no 'email' column"),
        (b"email\n\xff\xfe@example.com\n", "not UTF-8"),
        (b"email\nx\x00@example.com\n", "binary"),
        (b"email,status\ngone@example.com,unsubscribed\n", None),
    ],
)
def test_bad_subscriber_files(tmp_path, content, problem):
    from pipeline.errors import InputError
    from pipeline.mail.subscribers import read_subscribers

    path = tmp_path / "subs.csv"
    path.write_bytes(content)
    if problem is None:
        assert read_subscribers(path).active == ()
        return
    with pytest.raises(InputError) as caught:
        read_subscribers(path)
    assert problem in str(caught.value) and str(path) in str(caught.value)


def test_a_bare_list_of_addresses_with_bom_and_crlf(tmp_path):
    from pipeline.mail.subscribers import read_subscribers

    path = tmp_path / "subs.csv"
    path.write_bytes("\ufeffa@example.com\r\nB@example.com,Bee\r\n\r\nb@EXAMPLE.com\r\n".encode())
    subscribers = read_subscribers(path)
    assert [s.email for s in subscribers.active] == ["a@example.com", "B@example.com"]
    assert subscribers.active[1].name == "Bee" and subscribers.duplicates == 1
