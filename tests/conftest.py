from __future__ import annotations

import os
import sys
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
