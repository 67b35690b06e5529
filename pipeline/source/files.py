"""Reading a file the user names, the one way: a link may not leave its folder, only a regular
file is read, and never more than a bound; text is UTF-8 (a BOM allowed) without NUL bytes.
And the line a key is written on, for error messages."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from pipeline.errors import InputError
from pipeline.textutil import xml_safe


def toml_problem(exc: Exception) -> tuple[str, int | None]:
    """(message, line) from a tomllib error; Python 3.11 gives the line only in the text."""
    text = str(exc)
    match = re.search(r"\(at line (\d+)", text)
    return text.split(" (at line")[0], (int(match.group(1)) if match else getattr(exc, "lineno", None))


def key_line(text: str, key: str, *, sep: str = "=", section: str | None = None, header: bool = False) -> int | None:
    """The line a key is written on, for error messages: neither tomllib nor YAML's loader
    keeps positions. TOML (`sep="="`): `key =` or `"key" =` inside `[section]` (None: the top
    level), or the `[key]` header itself. YAML (`sep=":"`): an unindented `key:`."""
    name = re.escape(str(key))
    pattern = re.compile(
        rf"\s*(?:{name}|\"{name}\"|'{name}')\s*{re.escape(sep)}" if sep == "=" else rf"{name}\s*{re.escape(sep)}"
    )
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if sep == "=" and stripped.startswith("["):
            current = stripped.strip("[] ")
            if header and current == key:
                return number
        elif not header and current == section and pattern.match(line):
            return number
    return None


def read_input_file(path: Path, kind: str = "file", limit: int = 2 * 1024 * 1024) -> bytes:
    """The bytes of a file the user named, or one clear InputError. A symbolic link may point
    only within its own folder (a link to ../.env must not publish secrets), the file must be
    a regular file (not /dev/zero or a pipe), and at most `limit` bytes are read."""
    path = Path(path)
    try:
        target = path.resolve(strict=True)
        if path.is_symlink() and not target.is_relative_to(path.absolute().parent.resolve()):
            raise InputError.at(path, f"is a link to a file outside its folder ({target}); copy the file instead")
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise InputError.at(path, f"{kind} not found") from None
    except IsADirectoryError:
        raise InputError.at(path, f"is a directory, not a {kind}") from None
    except OSError as exc:
        raise InputError.at(path, f"cannot read: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError.at(
            path,
            f"is a directory, not a {kind}"
            if stat.S_ISDIR(mode)
            else f"is not a regular file (a device or pipe), not a {kind}",
        )
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError.at(
            path, f"too large (over {limit / 1024 / 1024:.0f} MB); a {kind} may be at most {limit / 1024 / 1024:.0f} MB"
        )
    return data


def read_user_text(path: Path, kind: str, limit: int, content: str | None = None) -> str:
    """A text file the user names, decoded: UTF-8 (a BOM allowed), no NUL bytes, each refusal
    one line naming the offset and the line. `content` names what it holds ("a lexicon")."""
    data = read_input_file(path, kind, limit)
    content = content or f"a {kind}"
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise InputError.at(path, f"binary file (NUL byte at offset {offset}), not {content}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError.at(
            path, f"not UTF-8 (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8", line
        ) from None


MAX_ISSUE_BYTES = 2 * 1024 * 1024
# What a folder's issues are named: Jekyll writes .markdown as often as .md; a plain .txt is
# Markdown too.
ISSUE_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".txt")


def read_issue_text(path: Path) -> str:
    """An issue file as text: LF line endings, no control characters."""
    text = read_user_text(path, "file", MAX_ISSUE_BYTES, "Markdown")
    return xml_safe(text.replace("\r\n", "\n").replace("\r", "\n"))
