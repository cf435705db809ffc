"""The analyst's commands of `newsdesk`: search, export and report (registered on the main app)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from flows.cli.app import CliError, DbOption, LiveOption, app, console, warn_live

TopicOption = Annotated[str | None, typer.Option("--topic", help="Only stories with this topic (id, label).")]
SinceOption = Annotated[str | None, typer.Option("--since", help="Only stories published from this date on.")]

progress_console = Console(stderr=True)


def make_progress() -> Progress:
    """A rich progress display on stderr, so that stdout stays clean for results."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=progress_console,
        transient=True,
    )


@contextmanager
def step_progress(title: str, steps: list[str]) -> Iterator[Callable[[str], None]]:
    """A progress bar that advances through named steps; yields the callback that announces the next step."""
    with make_progress() as progress:
        task = progress.add_task(title, total=len(steps))
        seen: list[str] = []

        def announce(name: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(name)
            progress.update(task, description=f"{title}: {name}")

        yield announce
        progress.update(task, completed=len(steps))


def parse_since(value: str | None) -> datetime | None:
    """Parse --since as an ISO date or date-time (UTC)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError as error:
        raise CliError(f"--since wants an ISO date such as 2016-05-01, not {value!r}") from error


@app.command(hidden=True)
def snapshot(db: DbOption = Path("data/news.lake.sqlite")) -> None:
    """Deprecated: readers see every committed run at once, so there is no read snapshot to publish."""
    typer.echo(
        "note: `newsdesk snapshot` is no longer needed (and does nothing): every command reads the live "
        "warehouse; see docs/lake.md",
        err=True,
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to look for in titles and texts (BM25 ranking).")],
    db: DbOption = Path("data/news.lake.sqlite"),
    topic: TopicOption = None,
    since: SinceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many stories to show.")] = 10,
) -> None:
    """Full-text search of the distinct stories in the warehouse, best match first."""
    from warehouse.read_guard import guarded_session
    from warehouse.search import SearchUnavailable, UnknownTopic, search_articles

    try:
        with guarded_session(db) as connection:
            hits = search_articles(connection, query, topic=topic, since=parse_since(since), limit=limit)
    except (SearchUnavailable, UnknownTopic) as error:
        raise CliError(str(error)) from error
    if not hits:
        console.print(f"no stories match {query!r}")
        return
    for rank, hit in enumerate(hits, start=1):
        published = f"{hit.published_at:%Y-%m-%d}" if hit.published_at else "undated"
        console.print(f"[bold]{rank}. {hit.title or '(untitled)'}[/bold]", highlight=False)
        console.print(
            f"   {hit.source} · {published} · score {hit.score:.2f} · {hit.canonical_url}",
            highlight=False,
            soft_wrap=True,
        )
        console.print(f"   [dim]{hit.snippet}[/dim]", highlight=False)


@app.command()
def export(
    to: Annotated[Path, typer.Option("--to", help="Folder for the Parquet files (created if missing).")],
    db: DbOption = Path("data/news.lake.sqlite"),
    live: LiveOption = False,
) -> None:
    """Export articles, article_topics and duplicates as Parquet by published date (changed days only)."""
    from warehouse.export import ExportError, export_parquet
    from warehouse.read_guard import guarded_session

    warn_live(live)
    with make_progress() as progress, guarded_session(db) as connection:
        tasks: dict[str, int] = {}

        def report(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(f"export {table}", total=max(total, 1))
            progress.update(tasks[table], completed=done if total else 1)

        try:
            results = export_parquet(connection, to, progress=report)
        except ExportError as error:
            raise CliError(str(error)) from error
    for table, result in results.items():
        console.print(
            f"{table}: {len(result.written_days)} days written ({result.rows_written} rows), "
            f"{result.unchanged_days} unchanged, {len(result.removed_days)} removed; "
            f"{result.rows_total} rows in all",
            highlight=False,
        )
    example = f"SELECT * FROM read_parquet('{to}/articles/*/*.parquet', hive_partitioning = true)"
    console.print(f"read with: {example}", highlight=False, soft_wrap=True)


@app.command()
def report(
    db: DbOption = Path("data/news.lake.sqlite"),
    topic: TopicOption = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write; the PNG goes beside it.")] = Path(
        "report.html"
    ),
    live: LiveOption = False,
) -> None:
    """Render topics over time, top outlets and biggest clusters as a self-contained HTML page and a PNG."""
    from flows.cli.report import ReportError, write_report
    from warehouse.read_guard import guarded_session
    from warehouse.search import UnknownTopic

    warn_live(live)
    try:
        with (
            step_progress("report", ["query", "draw", "write"]) as announce,
            guarded_session(db) as connection,
        ):
            html_path, png_path = write_report(connection, out, topic=topic, on_step=announce)
    except (ReportError, UnknownTopic) as error:
        raise CliError(str(error)) from error
    console.print(f"wrote {html_path} and {png_path}", highlight=False)
