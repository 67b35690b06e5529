import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help and "Example" in command.help, name


def test_issue_no_upload_json(example_path, tmp_path):
    result = CliRunner().invoke(main, ["issue", str(example_path), "--build-dir", str(tmp_path),
                                       "--no-upload", "--no-audio", "--json"])
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


@pytest.mark.parametrize("args,message", [
    (["issue", "missing.md", "--no-upload"], "error: missing.md: file not found"),
    (["preview", "missing.md"], "error: missing.md: file not found"),
])
def test_bad_input_exit_2_one_line_as_subprocess(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr


def test_bad_config_reports_every_problem(tmp_path, example_path):
    (tmp_path / "publish.toml").write_text('[show]\ntitel = "x"\n[email]\nfrom = "nobody"\n')
    result = subprocess.run([sys.executable, "-m", "pipeline", "issue", str(example_path), "--no-upload"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in result.stderr


def test_every_command_and_option_is_in_the_readme():
    """Like sqlite-utils' test_docs: a command or flag the README never mentions is one a
    user will not find."""
    from pipeline.cli import main
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = []
    for name, command in main.commands.items():
        if f"publish {name}" not in readme:
            missing.append(f"publish {name}")
        for param in command.params:
            for option in getattr(param, "opts", ()):
                if option.startswith("--") and option not in readme:
                    missing.append(f"publish {name} {option}")
    assert missing == []


def test_every_command_has_help():
    from pipeline.cli import main
    for name in main.commands:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, name
