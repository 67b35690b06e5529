import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pipeline.cli import main


def test_issue_no_upload_json(example_path, tmp_path):
    result = CliRunner().invoke(
        main, ["issue", str(example_path), "--build-dir", str(tmp_path), "--no-upload", "--no-audio", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["slug"] == "all-of-us-are-dead"
    for key, suffix in (("html", "html"), ("text", "txt"), ("eml", "eml")):
        assert (tmp_path / "all-of-us-are-dead" / f"email.{suffix}").samefile(summary["email"][key])
    assert (tmp_path / "all-of-us-are-dead" / "index.html").exists()
    assert summary["audio"] is None and summary["upload"] is None


def test_preview_prints_paths(example_path, tmp_path):
    result = CliRunner().invoke(main, ["preview", str(example_path), "--build-dir", str(tmp_path), "--no-audio"])
    assert result.exit_code == 0, result.output
    paths = result.stdout.split()
    assert str(tmp_path / "all-of-us-are-dead" / "email.html") in paths


def test_preview_builds_a_draft_that_publish_issue_skips(tmp_path):
    """Issue 29, item 2: `publish init`'s welcome issue is a draft to look at, never Episode 1."""
    from pipeline.scaffold import init_show

    init_show(tmp_path / "show")
    (sample,) = (tmp_path / "show" / "issues").glob("*-welcome.md")
    build = tmp_path / "build"
    skipped = CliRunner().invoke(main, ["issue", str(sample), "--no-upload", "--build-dir", str(build), "--no-audio"])
    assert skipped.exit_code == 0 and f"`publish preview {sample}` builds it" in skipped.stderr
    assert not (build / "welcome").exists()
    result = CliRunner().invoke(main, ["preview", str(sample), "--build-dir", str(build), "--no-audio"])
    assert result.exit_code == 0, result.output
    assert str(build / "welcome" / "email.html") in result.stdout.split()
    assert "Welcome to the show" in (build / "welcome" / "index.html").read_text()
    assert not (build / "catalog.json").exists()  # a later build does not list it


@pytest.mark.parametrize(
    "args,message",
    [
        (["issue", "missing.md", "--no-upload"], "error: missing.md: file not found"),
        (["preview", "missing.md"], "error: missing.md: file not found"),
    ],
)
def test_bad_input_exit_2_one_line_as_subprocess(tmp_path, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr


def test_bad_config_reports_every_problem(tmp_path, example_path):
    (tmp_path / "publish.toml").write_text('[show]\ntitel = "x"\n[email]\nfrom = "nobody"\n')
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "issue", str(example_path), "--no-upload"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in result.stderr


def test_narration_prints_the_script_with_each_substitution(write_issue):
    issue = write_issue(
        "---\ntitle: T\ndate: 2024-04-23\nnames: [ko]\n---\nLee Jung-jae, 12 years on, in Gyeongju (ASIN B074VCQ3WK).\n"
    )
    result = CliRunner().invoke(main, ["narration", str(issue)])
    assert result.exit_code == 0, result.output
    assert "## chapter 1: T" in result.output
    assert "says   [[ lˈiː dʒˈʌŋ dʒˈɛ, ]] twelve years on, in [[ ɡjˈʌŋ dʒˈuː. ]]" in result.output
    for marked in ("ko      Jung-jae → [[ dʒˈʌŋ dʒˈɛ ]]", "number  12 → twelve", "code    ASIN B074VCQ3WK → (skipped)"):
        assert marked in result.output, marked
    as_json = json.loads(CliRunner().invoke(main, ["narration", str(issue), "--json"]).stdout)
    assert as_json["chapters"] == ["T"]
    assert {"kind": "ko", "written": "Gyeongju", "said": "[[ ɡjˈʌŋ dʒˈuː ]]"} in as_json["chunks"][3]["changes"]


def test_say_writes_speech_through_the_same_path(project, tmp_path):
    from tests.audio_measure import decode

    out = tmp_path / "name.wav"
    result = CliRunner().invoke(
        main, ["say", "Lee Jung-jae", "--out", str(out), "--build-dir", str(project.build_dir())]
    )
    assert result.exit_code == 0, result.output
    assert "says     [[ lˈiː dʒˈʌŋ dʒˈɛ ]]" in result.output
    samples = decode(out)
    assert 0.5 < len(samples) / 44100 < 3.0 and abs(samples).max() > 0.05
