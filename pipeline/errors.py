"""The two kinds of failure a user sees, mapped to exit codes by the CLI.

InputError (exit 2): the user's file or config is wrong; one line per problem,
`<file>[:<line>]: <what>`. ServiceError (exit 1): storage or SMTP failed; says
what failed and what to do.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class InputError(Exception):
    """Bad input or config. Carries every problem found, so all are reported together."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, file: str | Path, message: str, line: int | None = None) -> InputError:
        return cls(Problem(str(file), message, line))


class ServiceError(Exception):
    """A service (storage, SMTP) failed. `what` names it; `hint` says what to do."""

    def __init__(self, what: str, hint: str = ""):
        self.what = what
        self.hint = hint
        super().__init__(f"{what}" + (f" — {hint}" if hint else ""))


def toml_problem(exc: Exception) -> tuple[str, int | None]:
    """(message, line) from a tomllib error; Python 3.11 gives the line only in the text."""
    import re
    text = str(exc)
    match = re.search(r"\(at line (\d+)", text)
    return text.split(" (at line")[0], (int(match.group(1)) if match else getattr(exc, "lineno", None))


def key_line(text: str, key: str, *, sep: str = "=", section: str | None = None,
             header: bool = False) -> int | None:
    """The line a key is written on, for error messages: neither tomllib nor YAML's loader
    keeps positions. TOML (`sep="="`): `key =` or `"key" =` inside `[section]` (None: the top
    level), or the `[key]` header itself. YAML (`sep=":"`): an unindented `key:`."""
    name = re.escape(str(key))
    pattern = re.compile(rf"\s*(?:{name}|\"{name}\"|'{name}')\s*{re.escape(sep)}" if sep == "="
                         else rf"{name}\s*{re.escape(sep)}")
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
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise InputError.at(path, f"is a directory, not a {kind}")
        if not stat.S_ISREG(mode):
            raise InputError.at(path, f"is not a regular file (a device or pipe), not a {kind}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError.at(path, f"too large (over {limit / 1024 / 1024:.0f} MB); a {kind} may be at most "
                            f"{limit / 1024 / 1024:.0f} MB")
    return data
