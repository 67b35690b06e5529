"""The key that signs unsubscribe links and names recorded unsubscribes: from the environment,
never from a file."""

from __future__ import annotations

import os

from pipeline.config import Config
from pipeline.errors import InputError

MIN_SECRET_CHARS = 16


def read_secret(config: Config) -> str:
    name = config.email.secret_env
    secret = os.environ.get(name, "")
    where = str(config.path or "publish.toml")
    if not secret:
        raise InputError.at(
            where,
            f"the environment variable {name} is not set; it holds the key that signs "
            "unsubscribe links (a long random string, the same for every send)",
        )
    if len(secret) < MIN_SECRET_CHARS:
        raise InputError.at(
            where,
            f"the value of {name} is too short ({len(secret)} characters); "
            f"use at least {MIN_SECRET_CHARS} random characters",
        )
    return secret


def read_secrets(config: Config) -> tuple[str, ...]:
    """The current secret, then those it replaced (NAME_PREVIOUS, comma-separated), which still
    verify the links already in inboxes. Only the current one signs."""
    current = read_secret(config)
    name = f"{config.email.secret_env}_PREVIOUS"
    earlier = tuple(s.strip() for s in os.environ.get(name, "").split(",") if s.strip())
    short = [s for s in earlier if len(s) < MIN_SECRET_CHARS]
    if short:
        raise InputError.at(
            str(config.path or "publish.toml"),
            f"a value in {name} is too short "
            f"({len(short[0])} characters); it must be an earlier value of {config.email.secret_env}",
        )
    return (current, *(s for s in earlier if s != current))
