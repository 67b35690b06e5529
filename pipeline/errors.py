"""The two kinds of failure a user sees, mapped to exit codes by the CLI.

InputError (exit 2): the user's file or config is wrong; one line per problem,
`<file>[:<line>]: <what>`. ServiceError (exit 1): storage or SMTP failed; says
what failed and what to do.
"""

from __future__ import annotations

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


def did_you_mean(word: str, known: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for the closest known word, or ''; every unknown-key message uses it."""
    import difflib

    close = difflib.get_close_matches(str(word), list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
