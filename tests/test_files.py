"""pipeline/source/files.py: the one reader of files a user names — and every such file read
through it (the issue, its images, the config, the lexicon, the subscriber list)."""

from pathlib import Path

import pytest

from pipeline.audio.lexicon import load_lexicon
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.mail.subscribers import read_subscribers
from pipeline.source.files import read_input_file, read_user_text


def test_a_link_out_of_its_folder_is_refused_for_every_kind_of_file(tmp_path):
    secret = tmp_path / "secret.toml"
    secret.write_text('Busan = "boo sahn"\n[show]\ntitle = "T"\n')
    show = tmp_path / "show"
    show.mkdir()
    for name, read in (
        ("lexicon.toml", load_lexicon),
        ("publish.toml", load_config),
        ("subscribers.csv", read_subscribers),
    ):
        (show / name).symlink_to(secret)
        with pytest.raises(InputError, match="is a link to a file outside its folder"):
            read(show / name)


def test_devices_pipes_and_folders_are_refused_not_read(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        load_lexicon(Path("/dev/zero"))  # read whole, it would fill the memory
    with pytest.raises(InputError, match="is a directory"):
        read_input_file(tmp_path)
    with pytest.raises(InputError, match="not found"):
        read_input_file(tmp_path / "nothing.md")


def test_a_file_over_its_bound_is_refused_after_reading_only_the_bound(tmp_path):
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text('Busan = "boo sahn"\n' * 70_000)  # 1.3 MB: a lexicon is at most 1 MB
    with pytest.raises(InputError, match="too large"):
        load_lexicon(lexicon)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a = 1\n\xff\n", "not UTF-8 (invalid byte 0xff at offset 6); save it as UTF-8"),
        (b"a = 1\x00\n", "binary file (NUL byte at offset 5), not a lexicon"),
    ],
)
def test_text_is_utf8_without_nul_and_says_where_it_is_not(tmp_path, data, message):
    path = tmp_path / "lexicon.toml"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_user_text(path, "lexicon", 1024)
    assert message in str(caught.value)
    assert read_user_text(_bom(tmp_path), "lexicon", 1024) == 'a = "b"\n'


def _bom(folder):
    path = folder / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbfa = "b"\n')
    return path
