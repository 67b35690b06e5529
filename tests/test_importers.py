"""Importing other tools' exports: each format read as its tool writes it, statuses mapped,
bad rows reported with their lines before anything is written, and a second import changing
nothing; then the list's own commands over the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.errors import InputError
from pipeline.mail.importers import read_export

EXPORTS = Path(__file__).parent / "exports"
SECRET = "test-import-secret-0123456789"


@pytest.mark.parametrize(
    "name, fmt, expected",
    [
        (
            "substack.csv",
            "substack",
            {
                "reader.one@example.com": "active",
                "paid.reader@example.com": "active",
                "left.email@example.com": "unsubscribed",
            },
        ),
        (
            "buttondown.csv",
            "buttondown",
            {
                "regular@example.com": "active",
                "premium@example.com": "active",
                "waiting@example.com": "pending",
                "gone@example.com": "unsubscribed",
                "bounced@example.com": "bounced",
                "angry@example.com": "complained",
            },
        ),
        ("ghost.csv", "ghost", {"member@example.com": "active", "quiet@example.com": "unsubscribed"}),
        ("mailchimp-subscribed.csv", "mailchimp", {"s1@example.com": "active", "s2@example.com": "active"}),
        ("mailchimp-unsubscribed.csv", "mailchimp", {"u1@example.com": "unsubscribed"}),
        ("mailchimp-cleaned.csv", "mailchimp", {"c1@example.com": "bounced"}),
        (
            "listmonk.csv",
            "listmonk",
            {
                "enabled@example.com": "active",
                "disabled@example.com": "unsubscribed",
                "blocked@example.com": "unsubscribed",
            },
        ),
        ("plain.csv", "plain", {"plain@example.com": "active", "plain.left@example.com": "unsubscribed"}),
    ],
)
def test_each_tools_export_is_recognised_and_its_statuses_mapped(name, fmt, expected):
    parsed = read_export(EXPORTS / name)
    assert parsed.format == fmt
    assert {row.address: row.status for row in parsed.rows} == expected
    assert read_export(EXPORTS / name, fmt) == parsed


def test_names_and_dates_come_through():
    ghost = {row.address: row for row in read_export(EXPORTS / "ghost.csv").rows}
    assert ghost["member@example.com"].name == "Grace Reader"
    assert ghost["member@example.com"].since.startswith("2023-01-15")
    mailchimp = read_export(EXPORTS / "mailchimp-subscribed.csv").rows
    assert mailchimp[0].name == "Ada Lovelace" and mailchimp[0].since == "2023-04-21 11:16:57"
    assert read_export(EXPORTS / "buttondown.csv").skipped == 1  # its spam filter's "blocked"


def test_every_bad_row_is_reported_with_its_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("email,status\nok@example.com,active\nnot-an-address,active\n\nx@example.com,frozen\n")
    with pytest.raises(InputError) as caught:
        read_export(bad)
    lines = [(p.line, p.message) for p in caught.value.problems]
    assert [line for line, _ in lines] == [3, 5]
    assert "not a valid address" in lines[0][1] and "unknown status" in lines[1][1]
    none = tmp_path / "none.csv"
    none.write_text("name,city\nA,B\n")
    with pytest.raises(InputError, match="no email column"):
        read_export(none)


def test_a_row_that_says_they_left_wins_over_one_that_says_active(tmp_path):
    twice = tmp_path / "twice.csv"
    twice.write_text("email,status\nTwice@Example.com,active\ntwice@example.com,unsubscribed\n")
    parsed = read_export(twice)
    assert [(r.address.lower(), r.status) for r in parsed.rows] == [("twice@example.com", "unsubscribed")]
    assert parsed.duplicates == 1


def run(project, *args: str):
    result = CliRunner().invoke(main, [*args, "--config", str(project.root / "publish.toml")])
    return result


def listed(project, *statuses: str) -> dict[str, str]:
    args = [a for s in statuses for a in ("--status", s)]
    result = run(project, "subscribers", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return {row["email"]: row["status"] for row in json.loads(result.stdout)}


def test_import_into_the_store_is_idempotent_and_never_reactivates(project, monkeypatch):
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    project.config()
    first = run(project, "subscribers", "import", str(EXPORTS / "buttondown.csv"), "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert (summary["format"], summary["rows"], summary["written"], summary["skipped"]) == ("buttondown", 6, 6, 1)
    again = json.loads(run(project, "subscribers", "import", str(EXPORTS / "buttondown.csv"), "--json").stdout)
    assert (again["written"], again["unchanged"]) == (0, 6)
    # A file that says the unsubscribed and the bounced are active changes neither.
    back = project.root / "back.csv"
    back.write_text("email,status\ngone@example.com,active\nbounced@example.com,subscribed\nnew@example.com,\n")
    assert run(project, "subscribers", "import", str(back)).exit_code == 0
    now = listed(project)
    assert (now["gone@example.com"], now["bounced@example.com"], now["new@example.com"]) == (
        "unsubscribed",
        "bounced",
        "active",
    )
    # The writer takes one off; an import cannot put them back, nor can `add --no-confirm`.
    assert run(project, "subscribers", "remove", "regular@example.com").exit_code == 0
    assert run(project, "subscribers", "import", str(EXPORTS / "buttondown.csv")).exit_code == 0
    assert listed(project, "unsubscribed").keys() >= {"regular@example.com", "gone@example.com"}
    refused = run(project, "subscribers", "add", "regular@example.com", "--no-confirm")
    assert refused.exit_code == 2 and "only they can subscribe again" in refused.output
    counts = json.loads(run(project, "subscribers", "count", "--json").stdout)
    assert (counts["active"], counts["pending"], counts["unsubscribed"], counts["bounced"], counts["complained"]) == (
        2,
        1,
        2,
        1,
        1,
    )
    # new this week: joined in the last 7 days, by the date the other tool gave (new@ has none: today)
    assert counts["total"] == 7 and counts["new_this_week"] == 1
    exported = run(project, "subscribers", "export").stdout.splitlines()
    assert exported[0].startswith("email,name,status,created") and len(exported) == 8
    assert run(project, "subscribers", "remove", "new@example.com", "--erase").exit_code == 0
    assert "new@example.com" not in listed(project)


def test_a_bad_file_writes_nothing(project, monkeypatch):
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    project.config()
    bad = project.root / "bad.csv"
    bad.write_text("email\nfine@example.com\nbroken\n")
    result = run(project, "subscribers", "import", str(bad))
    assert result.exit_code == 2 and "bad.csv:3:" in result.output and "Traceback" not in result.output
    assert listed(project) == {}


def test_the_store_names_reveal_no_address(project, monkeypatch):
    monkeypatch.setenv("PUBLISH_SECRET", SECRET)
    project.config()
    assert run(project, "subscribers", "import", str(EXPORTS / "ghost.csv")).exit_code == 0
    from pipeline.storage.bucket import Bucket, Target

    private = Bucket(
        Target(
            f"{project.bucket}-subscriptions",
            "us-east-1",
            project.s3.endpoint,
            project.s3.access_key,
            project.s3.secret_key,
        )
    )
    keys = private.list_keys()
    assert "list.json" in keys and "snapshot.json.gz" in keys
    records = [k for k in keys if k.startswith("subscribers/")]
    assert len(records) == 2 and not any("example" in k or "@" in k for k in keys)
    bodies = {body["address"]: body for body in (json.loads(private.get(key)[0]) for key in records)}
    member = bodies["member@example.com"]
    assert member["version"] == 2 and member["consent"]["method"] == "import"
    assert member["history"][0]["event"] == "imported" and bodies["quiet@example.com"]["status"] == "unsubscribed"
