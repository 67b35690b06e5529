"""The `publish` command: a thin layer over pipeline.publish."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline import __version__
from pipeline.batch import publish_batch
from pipeline.config import load_config
from pipeline.exits import Stopped, emit, handle_errors
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
    """Build one issue locally, a draft too, and print the paths to open.

    \b
    Example:
      publish preview issues/2022-01-28-all-of-us-are-dead.md
    """
    options = PublishOptions(build_dir=build_dir, upload=False, audio=not no_audio, drafts=True)
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


@main.command("remove")
@click.argument("slug")
@CONFIG
@BUILD_DIR
@JSON
@DEBUG
@handle_errors
def remove_command(slug: str, config_path: Path | None, build_dir: Path, as_json: bool) -> None:
    """Take a published episode back: out of the feed, the home and tag pages, the neighbours'
    links and the sitemap, and its files deleted. Its guid and number stay reserved, so
    publishing it again brings back the same episode. Safe to run again if stopped.

    \b
    Example:
      publish remove all-of-us-are-dead
    """
    from pipeline.buildfolder import PUBLISHED_MARK
    from pipeline.storage.published import remove_episode

    result = remove_episode(load_config(config_path), slug, Reporter(quiet=as_json))
    (build_dir / slug / PUBLISHED_MARK).unlink(missing_ok=True)  # `publish send` refuses it now
    emit(result, as_json)


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
    try:
        serve_embedded(config, Reporter(), home_url(planned_links(config)))
    except (KeyboardInterrupt, Stopped):  # what Ctrl-C, SIGTERM and SIGHUP are for here: a normal stop
        click.echo("stopped  the embedded store", err=True)


@main.command()
@ISSUE
@click.option(
    "--subscribers",
    "subscribers_path",
    metavar="FILE.csv",
    type=click.Path(path_type=Path),
    help="Send to this CSV ('email', optional 'name' and 'status') instead of the list's active subscribers.",
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
    """Email a published issue to every active subscriber of the list, once each (safe to
    re-run). Unsubscribed, bounced and complained addresses are never sent to, from the list
    or from a --subscribers file.

    The unsubscribe secret comes from the environment ($PUBLISH_SECRET by default), SMTP
    login from $PUBLISH_SMTP_USER and $PUBLISH_SMTP_PASSWORD.

    \b
    Example:
      publish issue issues/2022-01-28-all-of-us-are-dead.md
      publish send issues/2022-01-28-all-of-us-are-dead.md --test me@example.com
      publish send issues/2022-01-28-all-of-us-are-dead.md
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
    if result["failed"] and not result["sent"]:
        sys.exit(1)  # delivered nothing: a script must not take it for done


def _service(host: str, port: int, config_path: Path | None) -> None:
    from pipeline.mail.liststore import open_list
    from pipeline.mail.secret import read_secrets
    from pipeline.mail.service import STORE_ATTEMPTS, STORE_TIMEOUT_S, create_app, run, service_paths
    from pipeline.storage.session import start_embedded, uses_embedded

    config = load_config(config_path)
    secrets = read_secrets(config)
    with open_list(config, secrets, timeout_s=STORE_TIMEOUT_S, attempts=STORE_ATTEMPTS) as store:
        assert store is not None
        app = create_app(
            config, secrets, store, restart_store=(lambda: start_embedded(config)) if uses_embedded(config) else None
        )
        for name, path in service_paths(config).items():
            click.echo(f"serving  {name:<11} at http://{host}:{port}{path}", err=True)
        if not config.subscriptions.service_url:
            click.echo("         (no sign-up: set [subscriptions] service_url to take sign-ups)", err=True)
        click.echo("         Ctrl-C stops it", err=True)
        run(app, host, port)


HOST = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
PORT = click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")


@main.command()
@HOST
@PORT
@CONFIG
@DEBUG
@handle_errors
def service(host: str, port: int, config_path: Path | None) -> None:
    """Run the list's web service: sign-up with double opt-in at {service_url}/subscribe and
    /confirm, and the unsubscribe page and one-click POST (RFC 8058) of [email]
    unsubscribe_url. Everything is kept in the private [subscriptions] bucket.

    \b
    Example:
      publish service --port 8080
    """
    _service(host, port, config_path)


@main.command("unsubscribe-server")
@HOST
@PORT
@CONFIG
@DEBUG
@handle_errors
def unsubscribe_server(host: str, port: int, config_path: Path | None) -> None:
    """The same as `publish service` (its earlier name, kept working).

    \b
    Example:
      publish unsubscribe-server --port 8080
    """
    _service(host, port, config_path)


@main.group()
def subscribers() -> None:
    """Look after the subscriber list kept in the private [subscriptions] bucket.

    \b
    Example:
      publish subscribers import substack-export.csv
      publish subscribers count
    """


STATUS_CHOICE = click.Choice(["pending", "active", "unsubscribed", "bounced", "complained"])


@subscribers.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "substack", "buttondown", "ghost", "mailchimp", "listmonk", "plain"]),
    default="auto",
    show_default=True,
    help="The tool that wrote the export (auto: told from its columns).",
)
@CONFIG
@JSON
@DEBUG
@handle_errors
def import_(path: Path, fmt: str, config_path: Path | None, as_json: bool) -> None:
    """Import another tool's export: statuses kept (an unsubscribed or bounced address is never
    made active), every bad row reported with its line before anything is written; importing
    the same file again changes nothing.

    \b
    Example:
      publish subscribers import email_list.csv --format substack
    """
    from pipeline.mail.listadmin import import_file

    emit(import_file(load_config(config_path), path, fmt, Reporter(quiet=as_json)), as_json)


@subscribers.command("list")
@click.option("--status", "statuses", multiple=True, type=STATUS_CHOICE, help="Only these (repeatable).")
@CONFIG
@JSON
@DEBUG
@handle_errors
def list_(statuses: tuple[str, ...], config_path: Path | None, as_json: bool) -> None:
    """Print the list: address, status, name and, for an address not mailed, why; one per
    line, oldest first.

    \b
    Example:
      publish subscribers list --status active
    """
    from pipeline.mail.listadmin import list_records

    records = list_records(load_config(config_path), statuses)
    if as_json:
        emit(
            [
                {"email": r.address, "name": r.name, "status": r.status, "created": r.created, "reason": r.reason}
                for r in records
            ],
            True,
        )
        return
    for r in records:
        click.echo(f"{r.address or '(an opt-out of the first scheme)'}\t{r.status}\t{r.name}\t{r.reason}".rstrip("\t"))


@subscribers.command()
@click.argument("source", metavar="[FILE.mbox | MAILDIR]", required=False, type=click.Path(path_type=Path))
@click.option(
    "--imap",
    "imap_host",
    metavar="HOST[:PORT]",
    help="Read an IMAP mailbox (login from PUBLISH_IMAP_USER, PUBLISH_IMAP_PASSWORD).",
)
@click.option("--folder", default="INBOX", show_default=True, help="The IMAP folder.")
@CONFIG
@JSON
@DEBUG
@handle_errors
def bounces(source: Path | None, imap_host: str | None, folder: str, config_path: Path | None, as_json: bool) -> None:
    """Read a bounce mailbox: delivery status notifications (RFC 3464) and complaint reports
    (ARF) about this list's messages mark their subscribers bounced or complained; reading it
    again changes nothing. Nothing in the mailbox is moved or deleted.

    \b
    Example:
      publish subscribers bounces ~/Maildir/.Bounces
      PUBLISH_IMAP_USER=bounces@example.com PUBLISH_IMAP_PASSWORD=… publish subscribers bounces --imap imap.example.com
    """
    from pipeline.mail.listadmin import read_bounces

    emit(read_bounces(load_config(config_path), source, imap_host, folder, Reporter(quiet=as_json)), as_json)


@subscribers.command()
@CONFIG
@JSON
@DEBUG
@handle_errors
def count(config_path: Path | None, as_json: bool) -> None:
    """Count the list by status, and the new subscribers of the last 7 days.

    \b
    Example:
      publish subscribers count
    """
    from pipeline.mail.listadmin import count as count_list

    counts = count_list(load_config(config_path))
    if as_json:
        emit(counts, True)
        return
    for key, value in counts.items():
        click.echo(f"{key.replace('_', ' '):<14} {value}")


@subscribers.command()
@click.argument("address")
@click.option("--name", default="", help="Their name, as the To: line shows it.")
@click.option("--no-confirm", is_flag=True, help="You have their consent: active now, no confirmation email.")
@CONFIG
@JSON
@DEBUG
@handle_errors
def add(address: str, name: str, no_confirm: bool, config_path: Path | None, as_json: bool) -> None:
    """Add one reader: a confirmation email is sent (they are active once they click it),
    unless --no-confirm says you have their consent.

    \b
    Example:
      publish subscribers add reader@example.com --name "A Reader"
    """
    from pipeline.mail.listadmin import add as add_one

    emit(add_one(load_config(config_path), address, name, no_confirm, Reporter(quiet=as_json)), as_json)


@subscribers.command()
@click.argument("address")
@click.option("--erase", is_flag=True, help="Delete their record altogether (a request to be forgotten).")
@CONFIG
@JSON
@DEBUG
@handle_errors
def remove(address: str, erase: bool, config_path: Path | None, as_json: bool) -> None:
    """Take one reader off the list (kept as unsubscribed, so nothing adds them back), or
    erase their record.

    \b
    Example:
      publish subscribers remove reader@example.com
    """
    from pipeline.mail.listadmin import remove as remove_one

    emit(remove_one(load_config(config_path), address, erase, Reporter(quiet=as_json)), as_json)


@subscribers.command()
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True, help="Output format.")
@CONFIG
@DEBUG
@handle_errors
def export(fmt: str, config_path: Path | None) -> None:
    """Print everything the list holds as CSV: address, name, status, dates and consent.

    \b
    Example:
      publish subscribers export > list.csv
    """
    from pipeline.mail.listadmin import export_csv

    click.echo(export_csv(load_config(config_path)), nl=False)


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
    """List the rows of your CSV whose address unsubscribed, bounced or complained, to tidy it.

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
        view = store.view(save=False) if store is not None else None
        gone = [s.email for s in listed if view is not None and view.suppressed(s.email)]
    if as_json:
        emit({"unsubscribed": gone, "of": len(listed)}, True)
        return
    for address in gone:
        click.echo(address)
    click.echo(f"{len(gone)} of {len(listed)} addresses in {subscribers_path} unsubscribed", err=True)
