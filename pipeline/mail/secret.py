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
        raise InputError.at(where, f"the environment variable {name} is not set; it holds the key that signs "
                            "unsubscribe links (a long random string, the same for every send)")
    if len(secret) < MIN_SECRET_CHARS:
        raise InputError.at(where, f"the value of {name} is too short ({len(secret)} characters); "
                            f"use at least {MIN_SECRET_CHARS} random characters")
    return secret
