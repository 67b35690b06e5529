"""The `publish` command: a thin layer over pipeline.publish."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline import __version__
from pipeline.batch import publish_batch
from pipeline.config import load_config
from pipeline.exits import emit, handle_errors
from pipeline.publish import publish_issue
from pipeline.report import Reporter
from pipeline.site.home import home_url
from pipeline.stages import PublishOptions
from pipeline.storage.published import republish, verify_bucket
from pipeline.storage.session import planned_links, serve_embedded

CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: ./publish.toml, else built-in defaults).",
)
BUILD_DIR = click.option(
    "--build-dir",
    type=click.Path(path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Where built files go.",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
DEBUG = click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
ISSUE = click.argument("issue_path", metavar="ISSUE.md", type=click.Path(path_type=Path))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="publish")
def main() -> None:
    """Turn a Markdown review into a newsletter issue, a podcast episode and its feed.

    \b
    Example:
      publish issue issues/2022-01-28-all-of-us-are-dead.md
    """


@main.command()
@click.argument("directory", required=False, default=Path("."), metavar="[DIR]", type=click.Path(path_type=Path))
@DEBUG
@handle_errors
def init(directory: Path) -> None:
    """Start a show in DIR (default: here): publish.toml with every key explained, a sample
    issue in issues/, and a cover, stings and lexicon in audio/ to replace. Never overwrites.

    \b
    Example:
      publish init my-show && cd my-show && publish issue issues/*-welcome.md
    """
    from pipeline.scaffold import init_show

    for path in init_show(directory):
        click.echo(f"created  {path}")


@main.command()
@click.argument("issue_paths", metavar="ISSUE.md|DIR...", nargs=-1, required=True, type=click.Path(path_type=Path))
@CONFIG
@BUILD_DIR
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing remote.")
@click.option("--no-upload", is_flag=True, help="Build everything locally; upload nothing.")
@click.option("--no-audio", is_flag=True, help="Skip narration and audio.")
@click.option("--force", is_flag=True, help="Ignore caches; allow changing a published date or episode number.")
@JSON
@click.option("--quiet", is_flag=True, help="Print only warnings and errors.")
@DEBUG
@handle_errors
def issue(
    issue_paths: tuple[Path, ...],
    config_path: Path | None,
    build_dir: Path,
    dry_run: bool,
    no_upload: bool,
    no_audio: bool,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Build and publish issues: email, audio, feed, upload. Several files or a folder are
    checked together first, then published oldest first (run it again to resume).

    \b
    Example:
      publish issue issues/2022-01-28-all-of-us-are-dead.md
      publish issue issues/            # every .md in it: a blog's archive
      publish issue issues/x.md --no-upload --json
    """
    options = PublishOptions(
        build_dir=build_dir, dry_run=dry_run, upload=not no_upload, audio=not no_audio, force=force
    )
    reporter = Reporter(quiet=quiet or as_json)
    if len(issue_paths) == 1 and not issue_paths[0].is_dir():
        emit(publish_issue(issue_paths[0], load_config(config_path), options, reporter).as_json(), as_json)
        return
    reports = publish_batch(list(issue_paths), load_config(config_path), options, reporter)
    emit([report.as_json() for report in reports], as_json)


@main.command()
@ISSUE
@CONFIG
@BUILD_DIR
@click.option("--no-audio", is_flag=True, help="Skip narration and audio.")
@DEBUG
@handle_errors
def preview(issue_path: Path, config_path: Path | None, build_dir: Path, no_audio: bool) -> None:
    """Build one issue locally and print the paths to open.

    \b
    Example:
      publish preview issues/2022-01-28-all-of-us-are-dead.md
    """
    options = PublishOptions(build_dir=build_dir, upload=False, audio=not no_audio)
    summary = publish_issue(issue_path, load_config(config_path), options, Reporter(quiet=True))
    for path in summary.preview_paths():
        click.echo(path)


@main.command()
@ISSUE
@CONFIG
@JSON
@DEBUG
@handle_errors
def narration(issue_path: Path, config_path: Path | None, as_json: bool) -> None:
    """Print the narration script exactly as the voice gets it: chapters, chunks, pauses, and
    each substitution (lexicon, name rule, number, date, code) marked.

    \b
    Example:
      publish narration issues/2022-01-28-all-of-us-are-dead.md | less
    """
    from pipeline.audio.tryout import narration_of, script_json, script_text
    from pipeline.source.parse import parse_issue

    config = load_config(config_path)
    script = narration_of(parse_issue(issue_path, config.issues.ignore_keys), config)
    click.echo(json.dumps(script_json(script), indent=2, ensure_ascii=False) if as_json else script_text(script))


@main.command()
@click.argument("text")
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("say.wav"), show_default=True, help="The WAV file to write."
)
@click.option(
    "--names",
    "names",
    multiple=True,
    type=click.Choice(["ko", "ja"]),
    help="Read names by this language's rules, as an issue's `names:` does (repeatable).",
)
@CONFIG
@BUILD_DIR
@DEBUG
@handle_errors
def say(text: str, out: Path, names: tuple[str, ...], config_path: Path | None, build_dir: Path) -> None:
    """Speak a word or phrase with the show's voice, through the narration's own rules and
    lexicon, to tune a lexicon entry by ear.

    \b
    Example:
      publish say "Lee Cheong-san" --out cheong-san.wav
      publish say "[[ tʃˈʌŋ sˈɑːn ]]"
    """
    from pipeline.audio.tryout import say as speak

    spoken, changes, seconds = speak(text, load_config(config_path), out, build_dir / ".cache", tuple(names))
    click.echo(f"says     {spoken}")
    for change in changes:
        click.echo(f"  {change.kind:<7} {change.written} → {change.said or '(skipped)'}")
    click.echo(f"wrote    {out}  ({seconds:.1f} s)")


@main.command()
@CONFIG
@JSON
@DEBUG
@handle_errors
def feed(config_path: Path | None, as_json: bool) -> None:
    """Rebuild feed.xml from the bucket's catalogue and re-upload it.

    \b
    Example:
      publish feed --config publish.toml
    """
    emit(republish(load_config(config_path), Reporter(quiet=as_json)), as_json)


@main.command()
@CONFIG
@JSON
@DEBUG
@handle_errors
def check(config_path: Path | None, as_json: bool) -> None:
    """Verify the bucket: the feed, every enclosure and its size. Exit 1 on any problem.

    \b
    Example:
      publish check
    """
    result = verify_bucket(load_config(config_path), Reporter(quiet=as_json))
    emit(result, as_json)
    if result["problems"]:
        sys.exit(1)


@main.command()
@CONFIG
@DEBUG
@handle_errors
def serve(config_path: Path | None) -> None:
    """Keep the embedded store running so apps on this machine can subscribe (Ctrl-C stops).

    \b
    Example:
      publish serve
    """
    config = load_config(config_path)
    serve_embedded(config, Reporter(), home_url(planned_links(config)))


@main.command()
@ISSUE
@click.option(
    "--subscribers",
    "subscribers_path",
    metavar="FILE.csv",
    type=click.Path(path_type=Path),
    help="CSV with an 'email' column; optional 'name' and 'status' (unsubscribed rows are skipped).",
)
@click.option(
    "--test",
    "test_to",
    metavar="ADDRESS[,ADDRESS…]",
    help="Send only to these addresses, subject marked [Test]; not logged, needs no list.",
)
@CONFIG
@BUILD_DIR
@click.option("--dry-run", is_flag=True, help="Count recipients and show one rendered message; send nothing.")
@JSON
@click.option("--quiet", is_flag=True, help="Print only warnings and errors.")
@DEBUG
@handle_errors
def send(
    issue_path: Path,
    subscribers_path: Path | None,
    test_to: str | None,
    config_path: Path | None,
    build_dir: Path,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Email a published issue to every subscriber, once each (safe to re-run).

    The unsubscribe secret comes from the environment ($PUBLISH_SECRET by default), SMTP
    login from $PUBLISH_SMTP_USER and $PUBLISH_SMTP_PASSWORD.

    \b
    Example:
      publish issue issues/2022-01-28-all-of-us-are-dead.md
      publish send issues/2022-01-28-all-of-us-are-dead.md --test me@example.com
      publish send issues/2022-01-28-all-of-us-are-dead.md --subscribers subscribers.csv
    """
    from pipeline.mail.send import SendOptions, send_issue

    test = tuple(a.strip() for a in (test_to or "").split(",") if a.strip())
    options = SendOptions(build_dir=build_dir, dry_run=dry_run, test=test)
    result = send_issue(
        issue_path, subscribers_path, load_config(config_path), options, Reporter(quiet=quiet or as_json)
    )
    if dry_run and not as_json and "sample" in result:
        click.echo(result["sample"])
    emit(result, as_json)


@main.command("unsubscribe-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@CONFIG
@DEBUG
@handle_errors
def unsubscribe_server(host: str, port: int, config_path: Path | None) -> None:
    """Run the unsubscribe service that [email] unsubscribe_url points at: a confirmation page
    (a GET never unsubscribes), one-click POST (RFC 8058), and Undo. Unsubscribes are recorded
    in the private [subscriptions] bucket that `publish send` reads.

    \b
    Example:
      publish unsubscribe-server --port 8080
    """
    from pipeline.mail.liststore import open_list
    from pipeline.mail.secret import read_secrets
    from pipeline.mail.service import STORE_ATTEMPTS, STORE_TIMEOUT_S, create_app, run
    from pipeline.storage.session import start_embedded, uses_embedded

    config = load_config(config_path)
    secrets = read_secrets(config)
    with open_list(config, secrets, timeout_s=STORE_TIMEOUT_S, attempts=STORE_ATTEMPTS) as store:
        assert store is not None
        app = create_app(
            config, secrets, store, restart_store=(lambda: start_embedded(config)) if uses_embedded(config) else None
        )
        path = getattr(app.routes[0], "path", "/")
        click.echo(f"serving  unsubscribes at http://{host}:{port}{path}  (Ctrl-C to stop)", err=True)
        run(app, host, port)


@main.group()
def subscribers() -> None:
    """Look after the subscriber list.

    \b
    Example:
      publish subscribers unsubscribed --subscribers subscribers.csv
    """


@subscribers.command()
@click.option(
    "--subscribers",
    "subscribers_path",
    required=True,
    metavar="FILE.csv",
    type=click.Path(path_type=Path),
    help="The list `publish send` reads.",
)
@CONFIG
@JSON
@DEBUG
@handle_errors
def unsubscribed(subscribers_path: Path, config_path: Path | None, as_json: bool) -> None:
    """List the rows of your CSV whose address unsubscribed through the link, to tidy the list.

    \b
    Example:
      publish subscribers unsubscribed --subscribers subscribers.csv
    """
    from pipeline.mail.liststore import open_list
    from pipeline.mail.secret import read_secrets
    from pipeline.mail.subscribers import read_subscribers

    config = load_config(config_path)
    listed = read_subscribers(subscribers_path).active
    with open_list(config, read_secrets(config), create=False) as store:
        recorded = store.recorded() if store is not None else ()
        gone = [s.email for s in listed if s.email in recorded]
    if as_json:
        emit({"unsubscribed": gone, "of": len(listed)}, True)
        return
    for address in gone:
        click.echo(address)
    click.echo(f"{len(gone)} of {len(listed)} addresses in {subscribers_path} unsubscribed", err=True)
