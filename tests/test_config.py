import pytest

from pipeline.config import load_config
from pipeline.errors import InputError


def test_repo_config_loads_and_resolves_paths(example_path):
    config = load_config(example_path.parent.parent / "publish.toml")
    assert config.show.title == "Screen Reviews"
    assert config.show.cover.is_absolute() and config.show.cover.name == "cover.jpg"


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.path is None and config.storage.bucket == "podcast"


def test_all_problems_reported_together_with_lines(tmp_path):
    path = tmp_path / "publish.toml"
    path.write_text('[show]\ntitel = "x"\nlanguage = "english"\n[storage]\nbukket = "b"\n[sound]\n')
    with pytest.raises(InputError) as caught:
        load_config(path)
    messages = [str(p) for p in caught.value.problems]
    assert f"{path}:2: unknown key 'titel' in [show] (did you mean 'title'?)" in messages
    assert any(":5: unknown key 'bukket' in [storage]" in m for m in messages)
    assert any(":6: unknown section [sound]" in m for m in messages)
    assert any(":3: [show] language 'english' is not a language code" in m for m in messages)


def test_wrong_type_and_bad_toml(tmp_path):
    path = tmp_path / "publish.toml"
    path.write_text('[show]\nexplicit = "no"\n')
    with pytest.raises(InputError, match="explicit must be true or false"):
        load_config(path)
    path.write_text("[show\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(path)


@pytest.mark.parametrize("value, ok", [("25", True), ("25.5", False), ('"25"', False), ("true", False)])
def test_integer_settings_are_whole_numbers(tmp_path, value, ok):
    path = tmp_path / "publish.toml"
    path.write_text(f"[email]\nsmtp_port = {value}\nrate_per_second = 2.5\n")
    if ok:
        config = load_config(path)
        assert config.email.smtp_port == 25 and config.email.rate_per_second == 2.5
    else:
        with pytest.raises(InputError) as caught:
            load_config(path)
        assert "smtp_port must be a whole number" in str(caught.value)


def test_issues_ignore_keys(tmp_path):
    path = tmp_path / "publish.toml"
    path.write_text('[issues]\nignore_keys = ["hero_style", "hide_footer"]\n')
    assert load_config(path).issues.ignore_keys == ("hero_style", "hide_footer")
    path.write_text('[issues]\nignore_keys = "hero_style"\n')
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert "ignore_keys must be a list of strings" in str(caught.value)
