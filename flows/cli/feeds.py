"""`newsdesk feeds`: the feed list with its health, and the sub-commands that build and edit it (add with
discovery, OPML import and export, pause, resume, remove, set). Registered on the main app."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from flows.cli.app import CliError, DbOption, OutputFormat, SourcesOption, app, print_rows
from flows.stages.feed_state import row_from_state, state_from_row
from transforms.opml import OutlineFeed
from transforms.polling import PollSettings, feed_health, reactivate
from warehouse.db import Connection
from warehouse.location import describe_warehouse, warehouse_exists

T = TypeVar("T")

COLUMNS = [
    "feed_url",
    "health",
    "last_success_at",
    "failures",
    "last_status",
    "next_poll_at",
    "every_min",
    "note",
    "extraction",  # a drift alarm of the feed's site (warehouse/views/feed_extraction_alarms.sql)
]
DEFAULT_DB = Path("data/news.lake.sqlite")
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", metavar="TAG", help="Tag the feed (repeatable).")
]

feeds_app = typer.Typer(add_completion=False)
app.add_typer(feeds_app, name="feeds")


class ExportFormat(StrEnum):
    """How `newsdesk feeds export` writes the list."""

    opml = "opml"
    yaml = "yaml"
    csv = "csv"


def minute(moment: datetime | None) -> str | None:
    """A UTC time to the minute, for display."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else None


def describe_feed(row: dict[str, Any], settings: PollSettings) -> list[Any]:
    """One display row: health word, failures, UTC times to the minute, and why it is unwell (one line)."""
    state = state_from_row(row)
    note = state.inactive_reason or state.last_error or ("" if state.cache_trusted else "304s not trusted")
    paused = row.get("subscription") == "paused"
    return [
        state.feed_url,
        "paused" if paused else feed_health(state, settings),
        minute(state.last_success_at),
        round(state.consecutive_failures, 1),
        state.last_status,
        minute(state.next_poll_at),
        round(state.poll_every_s / 60, 1),
        " ".join(note.split())[:80] or None,
    ]


def edit_feed_list(db: Path, edit: Callable[[Connection], T]) -> T:
    """Run edit(connection) in one transaction on an up-to-date warehouse (made when missing); again from the
    start if an ingest's commit overtook it."""
    from warehouse.db import run_transaction, write_session
    from warehouse.migrate import apply_migrations

    with write_session(db) as connection:
        apply_migrations(connection)
        return run_transaction(connection, edit)


def activate_feed(db: Path, feed_url: str) -> None:
    """Re-activate one feed: failures forgotten, validators re-checked, due at the next ingest run."""
    from warehouse.feeds import select_feed_rows, update_feed_states

    def reactivate_row(connection: Connection) -> None:
        rows = select_feed_rows(connection, feed_url)
        if not rows:
            raise CliError(f"no feed {feed_url!r} in {db} (see `newsdesk feeds`)")
        state = reactivate(state_from_row(rows[0]), datetime.now(UTC))
        update_feed_states(connection, [row_from_state(state)])

    edit_feed_list(db, reactivate_row)


@feeds_app.callback(invoke_without_command=True)
def feeds(
    context: typer.Context,
    db: DbOption = DEFAULT_DB,
    activate: Annotated[str | None, typer.Option("--activate", help="Re-activate this feed URL.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """List feeds with their health (last success, failures, status, next poll); --activate re-enables one.
    The sub-commands build and edit the list (docs/fetching.md, "Building the feed list")."""
    if context.invoked_subcommand is not None:
        return
    from warehouse.db import read_session
    from warehouse.extraction_health import select_feed_alarm_notes
    from warehouse.feeds import select_feed_rows

    if not warehouse_exists(db):
        raise CliError(f"no warehouse at {describe_warehouse(db)} (run `newsdesk ingest` first)")
    if activate:
        activate_feed(db, activate)
        print(f"re-activated {activate}; it is polled at the next `newsdesk ingest`")
    settings = PollSettings()
    with read_session(db) as connection:
        rows = select_feed_rows(connection)
        alarms = select_feed_alarm_notes(connection)
    listed = [row for row in rows if row.get("subscription") != "removed"]
    shown = [[*describe_feed(row, settings), alarms.get(row["feed_url"])] for row in listed]
    print_rows(COLUMNS, shown, output)


@feeds_app.command("add")
def add_feed(
    url: Annotated[str, typer.Argument(help="A feed, or a site or article page whose feeds to find.")],
    name: Annotated[str | None, typer.Option("--name", help="Name the feed.")] = None,
    language: Annotated[str | None, typer.Option("--language", help="Language code, e.g. en.")] = None,
    tag: TagOption = None,
    add_all: Annotated[bool, typer.Option("--all", help="Add every feed found, not only the best.")] = False,
    sources: SourcesOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Add a feed; given a page, find its feeds (page links, home page, common paths) and add the best."""
    from flows.http.discovery import DiscoveryError, discover_feeds
    from flows.settings.config import load_config
    from transforms.feed_links import site_root
    from transforms.urls import is_http_url

    url = url.strip()
    if not is_http_url(url):
        raise CliError(f"not an http(s) URL: {url!r}")
    try:
        discovery = discover_feeds(url, load_config(sources).fetch)
    except DiscoveryError as error:
        raise CliError(str(error)) from error
    if not discovery.feeds:
        raise CliError(f"no feed found at {url} (nor linked from its home page, nor at the usual paths)")
    chosen = discovery.feeds if add_all else discovery.feeds[:1]
    if name and len(chosen) > 1:
        raise CliError("--name names one feed; leave it out with --all")
    if discovery.page_url is not None:
        print(f"found {len(discovery.feeds)} feed(s) at {url}:")
        for found in discovery.feeds:
            print(f"  {found.feed_url}  {found.title or '(untitled)'} ({found.items} items)")
    html_url = site_root(discovery.page_url) if discovery.page_url else None
    rows = [
        {"feed_url": f.feed_url, "name": name or f.title, "language": language, "html_url": html_url}
        for f in chosen
    ]
    new = subscribe(db, rows, tag or [], "added")
    for found in chosen:
        state = "added" if found.feed_url in new else "already listed; updated"
        print(f"{state}: {found.feed_url}; polled at the next `newsdesk ingest`")


def subscribe(db: Path, rows: list[dict[str, Any]], tags: list[str], origin: str) -> set[str]:
    """Put feeds (each with the common `tags` and its own) into the list; return the URLs that were new."""
    from transforms.outlets import outlet_of
    from warehouse.feeds import read_feed_list, subscribe_feeds

    feed_rows = [{**row, "source": outlet_of(row["feed_url"]), "origin": origin} for row in rows]
    pairs = [(row["feed_url"], t.strip()) for row in rows for t in [*tags, *row.get("tags", ())] if t.strip()]

    def subscribe_rows(connection: Connection) -> set[str]:
        before = {row["feed_url"] for row in read_feed_list(connection)}
        subscribe_feeds(connection, feed_rows, pairs)
        return before

    return {row["feed_url"] for row in feed_rows} - edit_feed_list(db, subscribe_rows)


@feeds_app.command("import")
def import_feeds(
    path: Annotated[Path, typer.Argument(help="An OPML file (or a sources YAML file).")],
    tag: TagOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Import a subscription list: OPML folders become tags; repeats and bad URLs are reported and skipped."""
    feeds, problems = read_feed_file(path)
    for problem in problems:
        print(f"newsdesk: warning: {path}: {problem}", file=sys.stderr)
    rows = [
        {
            "feed_url": f.feed_url,
            "name": f.name,
            "language": f.language,
            "html_url": f.html_url,
            "outline_attributes": json.dumps(f.attributes, ensure_ascii=False) if f.attributes else None,
            "tags": f.tags,
        }
        for f in feeds
    ]
    new = subscribe(db, rows, tag or [], "imported") if rows else set()
    skipped = f", {len(problems)} problem(s) reported" if problems else ""
    print(f"imported {len(rows)} feed(s) from {path} ({len(new)} new{skipped})")


@feeds_app.command("export")
def export_feeds(
    output: Annotated[ExportFormat, typer.Option("--format", help="opml, yaml or csv.")] = ExportFormat.opml,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of standard output.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write the feed list (paused feeds included, removed ones not) with names, languages and tags."""
    from warehouse.db import read_session
    from warehouse.feeds import read_feed_list

    if not warehouse_exists(db):
        raise CliError(
            f"no warehouse at {describe_warehouse(db)}; "
            "add feeds first (`newsdesk feeds add` or `feeds import`)"
        )
    with read_session(db) as connection:
        rows = read_feed_list(connection)
    text = render_feed_list(rows, output)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} feed(s) to {out}", file=sys.stderr)


def read_feed_file(path: Path) -> tuple[list[OutlineFeed], list[str]]:
    """The feeds of an OPML file (or of a sources YAML file's `feeds:`), and the problems met reading it."""
    from flows.settings.config import load_config
    from transforms.opml import OpmlError, parse_opml

    if path.suffix.lower() in {".yaml", ".yml"}:
        feeds = load_config(path).feeds
        return [OutlineFeed(f.url, f.name, None, f.language, f.tags) for f in feeds], []
    try:
        document = path.read_bytes()
    except FileNotFoundError as error:
        raise CliError(f"{path}: no such file") from error
    except OSError as error:
        raise CliError(f"{path}: cannot be read: {error.strerror or error}") from error
    try:
        parsed = parse_opml(document)
    except OpmlError as error:
        raise CliError(f"{path}: {error}") from error
    return parsed.feeds, parsed.problems


def render_feed_list(rows: list[dict[str, Any]], output: ExportFormat) -> str:
    """The list as OPML, a sources file's YAML, or CSV."""
    from transforms.feed_lists import outline_from_row, render_feeds_csv, render_sources_yaml
    from transforms.opml import render_opml

    if output is ExportFormat.opml:
        return render_opml([outline_from_row(row) for row in rows], "newsdesk feeds").decode("utf-8")
    if output is ExportFormat.yaml:
        return render_sources_yaml(rows)
    return render_feeds_csv(rows)


def change_subscription(db: Path, url: str, subscription: str) -> None:
    """Pause, resume or remove one feed of the list; a feed not in it is a one-line error."""
    from warehouse.feeds import set_feed_subscription

    def change(connection: Connection) -> None:
        if not set_feed_subscription(connection, url.strip(), subscription):
            raise CliError(f"no feed {url!r} in {db} (see `newsdesk feeds`)")

    edit_feed_list(db, change)


@feeds_app.command("pause")
def pause_feed(url: Annotated[str, typer.Argument(help="The feed URL.")], db: DbOption = DEFAULT_DB) -> None:
    """Stop polling a feed (kept with its state and history) until `feeds resume`."""
    change_subscription(db, url, "paused")
    print(f"paused {url}; ingest skips it until `newsdesk feeds resume`")


@feeds_app.command("resume")
def resume_feed(url: Annotated[str, typer.Argument(help="The feed URL.")], db: DbOption = DEFAULT_DB) -> None:
    """Poll a paused feed again."""
    change_subscription(db, url, "subscribed")
    print(f"resumed {url}; polled when due at the next `newsdesk ingest`")


@feeds_app.command("remove")
def remove_feed(url: Annotated[str, typer.Argument(help="The feed URL.")], db: DbOption = DEFAULT_DB) -> None:
    """Take a feed off the list, even if a sources file names it; its articles stay. `feeds add` undoes it."""
    change_subscription(db, url, "removed")
    print(f"removed {url}; its articles stay in the warehouse")


@feeds_app.command("set")
def set_feed(
    url: Annotated[str, typer.Argument(help="The feed URL.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    language: Annotated[str | None, typer.Option("--language", help="New language code.")] = None,
    poll_every_s: Annotated[
        int | None, typer.Option("--poll-every-s", min=1, help="Polling interval to start from, seconds.")
    ] = None,
    tag: TagOption = None,
    untag: Annotated[
        list[str] | None, typer.Option("--untag", metavar="TAG", help="Remove a tag (repeatable).")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Edit a feed's name, language, polling interval or tags; the sources file no longer changes it."""
    from warehouse.feeds import add_feed_tags, remove_feed_tags, update_feed_settings

    if name is None and language is None and poll_every_s is None and not tag and not untag:
        raise CliError("nothing to change: give --name, --language, --poll-every-s, --tag or --untag")
    url = url.strip()
    def change(connection: Connection) -> None:
        if not update_feed_settings(connection, url, name, language, poll_every_s):
            raise CliError(f"no feed {url!r} in {db} (see `newsdesk feeds`)")
        add_feed_tags(connection, [(url, t.strip()) for t in tag or [] if t.strip()])
        remove_feed_tags(connection, url, [t.strip() for t in untag or []])

    edit_feed_list(db, change)
    print(f"updated {url}")
