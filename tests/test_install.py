"""The package as a user installs it: a wheel built from this tree, installed into a fresh
virtual environment, used from an empty folder far from the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding the wheel. Its dependencies come from this environment's
    site-packages through a .pth line (installing onnxruntime and piper again would take
    minutes and prove nothing about our package); the editable install is not visible there."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: setuptools writes build/ and egg-info in place
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", ".publish", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((work / "dist").glob("publish-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    return subprocess.run(
        [str(bin_dir / "publish"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_wheel_runs_from_anywhere_with_its_own_templates_and_assets(installed, tmp_path):
    where = subprocess.run(
        [str(installed / "python"), "-c", "import pipeline; print(pipeline.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed.parent) in where and str(ROOT) not in where
    # No config, no assets: the packaged cover, stings, lexicon and templates serve.
    issue = tmp_path / "2024-03-01-bare.md"
    issue.write_text("# A bare review\n\nIt was good. It was short.\n")
    result = run(installed, "issue", str(issue), "--no-upload", "--no-audio", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "A bare review" in (tmp_path / "build" / "bare" / "email.html").read_text()


def test_init_scaffolds_a_show_that_publishes_with_audio(installed, tmp_path, speech_cache):
    result = run(installed, "init", "my-show", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    show = tmp_path / "my-show"
    for name in ("publish.toml", "audio/cover.jpg", "audio/lexicon.toml", "audio/intro.mp3", "audio/outro.mp3"):
        assert (show / name).is_file(), name
    sample = next((show / "issues").glob("*-welcome.md"))
    (show / "build").mkdir()
    (show / "build" / ".cache").symlink_to(speech_cache)
    result = run(installed, "issue", str(sample.relative_to(show)), "--no-upload", cwd=show)
    assert result.returncode == 0 and "a draft" in result.stderr, result.stderr
    assert not (show / "build" / "welcome").exists()  # issue 29, item 2: the sample is never Episode 1
    result = run(installed, "preview", str(sample.relative_to(show)), cwd=show)
    assert result.returncode == 0, result.stderr
    assert list((show / "build" / "welcome").glob("*.mp3")) and not (show / "build" / "catalog.json").exists()
    review = show / "issues" / "2024-02-01-first.md"
    review.write_text("# My first review\n\nIt was good. It was short.\n")
    result = run(installed, "issue", str(review.relative_to(show)), "--no-upload", "--no-audio", cwd=show)
    assert result.returncode == 0, result.stderr
    (episode,) = json.loads((show / "build" / "catalog.json").read_text())["episodes"]
    assert (episode["slug"], episode["number"]) == ("first", 1)
    again = run(installed, "init", "my-show", cwd=tmp_path)
    assert again.returncode == 2 and "never overwrites" in again.stderr


def test_the_scaffolded_config_names_every_key_with_its_default(tmp_path):
    import tomllib
    from dataclasses import fields

    from pipeline.config import SECTIONS, load_config
    from pipeline.scaffold import init_show

    init_show(tmp_path)
    text = (tmp_path / "publish.toml").read_text()
    data = tomllib.loads(text)
    config = load_config(tmp_path / "publish.toml")
    for section, cls in SECTIONS.items():
        for field in fields(cls):
            key = field.name.rstrip("_")
            assert key in data[section], f"[{section}] {key} is not in the scaffolded publish.toml"
            value = getattr(getattr(config, section), field.name)
            default = getattr(cls(), field.name)
            if isinstance(default, Path):
                assert value == tmp_path / default
            else:
                assert value == default, (section, key)
