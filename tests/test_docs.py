"""The README and the scaffolded publish.toml document everything a user can type (as
sqlite-utils' test_docs does): every command and subcommand, every option, every config key."""

import re
from dataclasses import fields
from pathlib import Path

import click

from pipeline.cli import main
from pipeline.config import SECTIONS, _toml_key

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "publish") -> list[tuple[str, click.Command]]:
    """Every command, subcommands of groups included: `publish subscribers unsubscribed`."""
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


def test_every_command_has_help_with_an_example():
    assert "publish subscribers unsubscribed" in dict(_commands(main))
    for name, command in _commands(main):
        assert command.help and "Example:" in command.help, name


def test_every_command_and_option_is_in_the_readme():
    missing = []
    for name, command in _commands(main):
        if name not in README:
            missing.append(name)
        for param in command.params:
            missing += [
                f"{name} {option}"
                for option in getattr(param, "opts", ())
                if option.startswith("--") and option not in README
            ]
    assert missing == []


def _keys() -> list[tuple[str, str]]:
    return [(section, _toml_key(field.name)) for section, cls in SECTIONS.items() for field in fields(cls)]


def test_every_config_key_is_in_the_scaffolded_and_the_example_publish_toml():
    for path in (ROOT / "pipeline" / "init" / "publish.toml", ROOT / "publish.toml"):
        text = path.read_text(encoding="utf-8")
        sections = dict(re.findall(r"^\[(\w+)\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S))
        missing = [
            f"[{section}] {key}"
            for section, key in _keys()
            if not re.search(rf"^#?\s*{key}\s*=", sections.get(section, ""), re.M)
        ]
        assert missing == [], path


def test_every_config_key_is_in_the_readme():
    missing = [f"[{section}] {key}" for section, key in _keys() if f"`[{section}] {key}" not in README]
    assert missing == []
