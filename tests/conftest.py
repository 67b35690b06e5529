from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "issues" / "2022-01-28-all-of-us-are-dead.md"


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture
def write_issue(tmp_path):
    """Write an issue file (str or bytes) under tmp_path and return its path."""

    def write(content: str | bytes, name: str = "2024-03-01-test-issue.md") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return path

    return write


@pytest.fixture
def python_exe() -> str:
    return sys.executable


SHORT_ISSUE = """---
title: "A Short Test"
date: 2024-03-01
author: "Test Writer"
summary: "A short issue for the tests."
---
Nam Ohn-Jo meets Lee Cheong-san at Hyosan High. It doesn’t go well.

## Second part

A 12-part series, released Jan. 28 — watch it.
"""


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    stop: object = None


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 server: S3_TEST_ENDPOINT if set (e.g. MinIO), else SeaweedFS on a free port."""
    if os.environ.get("S3_TEST_ENDPOINT"):
        yield S3Server(
            os.environ["S3_TEST_ENDPOINT"], os.environ["S3_TEST_ACCESS_KEY"], os.environ["S3_TEST_SECRET_KEY"]
        )
        return
    from pipeline.storage.embedded import free_base_port, start_embedded_store

    # Every test makes a bucket of its own (~130 in a run): ask weed for room for 500.
    server = start_embedded_store(
        tmp_path_factory.mktemp("seaweed"), free_base_port(), "test-access-key", "test-secret-key-123", buckets=500
    )
    yield S3Server(server.endpoint, server.access_key, server.secret_key, server.stop)
    server.stop()


@pytest.fixture(scope="session")
def speech_cache(tmp_path_factory) -> Path:
    """One synthesis cache for the whole session, so each sentence is synthesised once."""
    return tmp_path_factory.mktemp("speech-cache")


_bucket_numbers = iter(range(1, 10_000))


@pytest.fixture
def project(tmp_path, s3_server, speech_cache, monkeypatch):
    """A project folder with its own bucket on the test S3, credentials in the environment."""
    bucket = f"test-{os.getpid()}-{next(_bucket_numbers)}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return Project(tmp_path, s3_server, bucket, speech_cache)


@pytest.fixture(scope="module")
def local_project(tmp_path_factory, speech_cache):
    """A project folder for `--no-upload` runs only, shared by a module's tests: no S3 is
    started for it, and its config names no endpoint."""
    return Project(tmp_path_factory.mktemp("local"), None, "local", speech_cache)


@dataclass
class Project:
    root: Path
    s3: S3Server | None  # None: a local project, which never uploads
    bucket: str
    speech_cache: Path

    def config(self, email: dict | None = None, **storage) -> Path:
        audio = ROOT / "pipeline" / "assets"
        remote = {"endpoint_url": self.s3.endpoint, "create_bucket": True} if self.s3 else {}
        settings = {**remote, "bucket": self.bucket, **storage}
        lines = ["[show]", f'cover = "{audio / "cover.jpg"}"', "[storage]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        lines += [
            "[voice]",
            f'lexicon = "{audio / "lexicon.toml"}"',
            f'intro = "{audio / "intro.mp3"}"',
            f'outro = "{audio / "outro.mp3"}"',
        ]
        if email:
            lines += ["[email]", *(f"{k} = {json.dumps(v)}" for k, v in email.items())]
        path = self.root / "publish.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def bucket_client(self):
        """This project's bucket, straight to the test S3 (no publish logic in between)."""
        from pipeline.storage.bucket import Bucket, Target

        return Bucket(
            Target(
                self.bucket,
                "us-east-1",
                self.s3.endpoint,
                self.s3.access_key,
                self.s3.secret_key,
                create_bucket=True,
                public_read=True,
            )
        )

    def build_dir(self, name: str = "build") -> Path:
        build = self.root / name
        build.mkdir(exist_ok=True)
        cache = build / ".cache"
        if not cache.exists():
            cache.symlink_to(self.speech_cache)
        return build

    def issue(self, text: str = SHORT_ISSUE, name: str = "2024-03-01-a-short-test.md") -> Path:
        path = self.root / "issues" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def publish(self, issue: Path, *args: str, build: str = "build"):
        from click.testing import CliRunner

        from pipeline.cli import main

        config = self.config() if not (self.root / "publish.toml").exists() else self.root / "publish.toml"
        result = CliRunner().invoke(
            main,
            ["issue", str(issue), "--config", str(config), "--build-dir", str(self.build_dir(build)), "--json", *args],
        )
        return result


def http_get(url: str, headers: dict | None = None):
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as answer:
        return answer.status, dict(answer.headers), answer.read()
