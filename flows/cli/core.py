"""The core commands of `newsdesk`: ingest, sql and stats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.app import (
    CliError,
    DbOption,
    LiveOption,
    OutputFormat,
    SourcesOption,
    app,
    console,
    print_rows,
    warn_live,
)


@app.command()
def ingest(
    sources: SourcesOption = None,
    db: DbOption = Path("data/news.lake.sqlite"),
    force_poll: Annotated[bool, typer.Option("--force-poll", help="Poll every active feed now.")] = False,
    shard: Annotated[
        str | None,
        typer.Option("--shard", metavar="K/N", help="Poll only shard K of N of the feeds (split by site)."),
    ] = None,
) -> None:
    """Poll the feeds, fetch new articles and load them into the warehouse."""
    from flows.settings.config import load_config
    from flows.stages.summary import render_table
    from transforms.shards import ShardError, parse_shard

    load_config(sources)  # fail fast, before Prefect starts, on a bad sources file
    try:
        parse_shard(shard) if shard else None
    except ShardError as error:
        raise CliError(f"--shard: {error}") from error
    db.parent.mkdir(parents=True, exist_ok=True)  # and on a folder that cannot be made (an OSError: one line)
    from flows.ingest import ingest as ingest_flow
    from flows.settings.prefect_runs import local_run_settings

    with local_run_settings():
        summary = ingest_flow(
            sources=str(sources) if sources else None, db=str(db), force_poll=force_poll, shard=shard
        )
    console.print(render_table(summary))


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="The SQL to run (read-only).")],
    db: DbOption = Path("data/news.lake.sqlite"),
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Read the warehouse as a run left it (its run id) or as it was at a time."
        ),
    ] = None,
    live: LiveOption = False,
) -> None:
    """Run a read-only SQL query against the warehouse (every committed run, or as of a run or a time)."""
    from warehouse.as_of import AsOfError
    from warehouse.read_guard import check_read_only, guarded_session
    from warehouse.stats import run_query

    warn_live(live)
    check_read_only(query)  # before the warehouse is opened
    try:
        with guarded_session(db, as_of=as_of) as connection:
            columns, rows = run_query(connection, query)
    except AsOfError as error:
        raise CliError(str(error)) from error
    print_rows(columns, rows, output)


@app.command()
def stats(db: DbOption = Path("data/news.lake.sqlite")) -> None:
    """Show row counts and the topics with the most stories, the best few of each kind (regions last)."""
    from warehouse.read_guard import guarded_session
    from warehouse.stats import count_tables, top_topics

    with guarded_session(db) as connection:
        counts = count_tables(connection)
        topics = top_topics(connection)
    print_rows(["table", "rows"], counts, OutputFormat.table)
    print_rows(["kind", "topic_id", "label", "stories"], topics, OutputFormat.table)
