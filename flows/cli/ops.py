"""Operations commands of the `newsdesk` CLI: backfill, replay, retag, serve, server (registered on `app`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.app import CliError, DbOption, SourcesOption, app, console
from warehouse.location import describe_warehouse, warehouse_exists

TaxonomyOption = Annotated[
    Path | None, typer.Option("--taxonomy", help="Taxonomy YAML (default: the sources' or seeds').")
]


def print_summary(summary: dict) -> None:
    """Print a run summary as a small table."""
    from rich.table import Table

    table = Table(title=f"{summary.get('flow')} {summary.get('status')}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in sorted(summary.get("counts", {}).items()):
        table.add_row(key.replace("_", " "), str(value))
    for reason, number in summary.get("failures", {}).items():
        table.add_row(f"failed: {reason}", str(number))
    console.print(table)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD (UTC), included.")],
    mode: Annotated[
        str, typer.Option("--mode", help="warc: load WARC archives; reprocess: stored raw pages.")
    ] = "warc",
    archive: Annotated[
        str | None,
        typer.Option(
            "--archive",
            help="Folder or http(s) base URL of CC-NEWS style WARC files (default: seeds/archive).",
        ),
    ] = None,
    sources: SourcesOption = None,
    db: DbOption = Path("data/news.lake.sqlite"),
    taxonomy: TaxonomyOption = None,
    all_hosts: Annotated[
        bool, typer.Option("--all-hosts", help="Keep pages of every host, not only the sources'.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="reprocess: rebuild and re-tag even current rows.")
    ] = False,
    shard: Annotated[
        str | None, typer.Option("--shard", metavar="K/N", help="Only the days of shard K of N (N workers).")
    ] = None,
) -> None:
    """Backfill a date range from WARC archives or stored pages, one sub-run per day."""
    from flows.backfill import BackfillError, validate_window
    from flows.settings.config import load_config
    from transforms.shards import ShardError, parse_shard

    try:
        validate_window(start, end, mode, archive, today=datetime.now(UTC).date())
        parse_shard(shard) if shard else None
    except (BackfillError, ShardError) as error:
        raise CliError(str(error)) from error
    load_config(sources)  # a bad sources file fails here, before Prefect starts
    from flows.backfill import backfill as backfill_flow
    from flows.settings.prefect_runs import local_run_settings

    with local_run_settings():
        summary = backfill_flow(
            start=start,
            end=end,
            mode=mode,
            archive=archive,
            sources=str(sources) if sources else None,
            db=str(db),
            taxonomy=str(taxonomy) if taxonomy else None,
            all_hosts=all_hosts,
            force=force,
            shard=shard,
        )
    print_summary(summary)


@app.command()
def replay(
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only failures recorded since this UTC time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)."
        ),
    ] = None,
    sources: SourcesOption = None,
    db: DbOption = Path("data/news.lake.sqlite"),
) -> None:
    """Retry the open failures of the ledger through the path they failed on."""
    from flows.settings.config import load_config

    since_time = None
    if since is not None:
        try:
            since_time = datetime.fromisoformat(since)
        except ValueError as error:
            raise CliError(f"--since: {since!r} is not a date or time (YYYY-MM-DD[THH:MM])") from error
    load_config(sources)
    if not warehouse_exists(db):
        raise CliError(f"no warehouse at {describe_warehouse(db)} (run `newsdesk ingest` first)")
    from flows.replay import replay as replay_flow
    from flows.settings.prefect_runs import local_run_settings

    with local_run_settings():
        summary = replay_flow(since=since_time, sources=str(sources) if sources else None, db=str(db))
    print_summary(summary)
    console.print(f"failures still open: {summary.get('still_open')}")


@app.command()
def retag(
    taxonomy: TaxonomyOption = None,
    sources: SourcesOption = None,
    db: DbOption = Path("data/news.lake.sqlite"),
    force: Annotated[bool, typer.Option("--force", help="Re-tag every article, stale or not.")] = False,
) -> None:
    """Re-tag stored articles whose tags come from an older taxonomy version."""
    from flows.settings.config import load_config
    from flows.stages.matchers import load_taxonomy
    from transforms.taxonomy import TaxonomyError

    load_config(sources)
    try:
        load_taxonomy(taxonomy)
    except TaxonomyError as error:
        raise CliError(str(error)) from error
    if not warehouse_exists(db):
        raise CliError(f"no warehouse at {describe_warehouse(db)} (run `newsdesk ingest` first)")
    from flows.retag import retag as retag_flow
    from flows.settings.prefect_runs import local_run_settings

    with local_run_settings():
        summary = retag_flow(
            taxonomy=str(taxonomy) if taxonomy else None,
            db=str(db),
            sources=str(sources) if sources else None,
            force=force,
        )
    print_summary(summary)


@app.command()
def serve(
    prefect_file: Annotated[Path, typer.Option("--prefect-file", help="Deployments to serve.")] = Path(
        "prefect.yaml"
    ),
) -> None:
    """Run the prefect.yaml schedules (ingest every 15 minutes, manual backfill and retag) in this process."""
    from prefect import serve as prefect_serve

    from flows.serve import PREFECT_FILE, build_runner_deployments, describe_clash, find_pool_deployments
    from flows.settings.prefect_runs import standing_server_settings

    path = prefect_file if prefect_file.exists() else PREFECT_FILE
    deployments = build_runner_deployments(path)
    with standing_server_settings():
        clashes = find_pool_deployments(deployments)
        if clashes:
            raise CliError(describe_clash(clashes))
        for deployment in deployments:
            console.print(f"serving {deployment.flow_name}/{deployment.name}")
        prefect_serve(*deployments)


server_app = typer.Typer(
    help="A standing local Prefect server that ingest, backfill, replay, retag and serve reuse.",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")


@server_app.command("start")
def server_start(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 4200,
) -> None:
    """Start a Prefect server on 127.0.0.1 in the background (its URL and pid kept in the Prefect home)."""
    from flows.settings.local_server import ServerError, start_server

    try:
        server, started = start_server(port)
    except ServerError as error:
        raise CliError(str(error)) from error
    verb = "started" if started else "already running"
    console.print(f"Prefect server {verb} at {server.url} (pid {server.pid}, log {server.log})")


@server_app.command("stop")
def server_stop() -> None:
    """Stop the server `newsdesk server start` started."""
    from flows.settings.local_server import stop_server

    stopped = stop_server()
    if stopped is None:
        console.print("no local Prefect server recorded")
    else:
        console.print(f"stopped the Prefect server at {stopped.url}")


@server_app.command("status")
def server_status() -> None:
    """Say whether the local server answers (exit code 1 when it does not)."""
    from flows.settings.local_server import is_healthy, prefect_home, read_recorded

    recorded = read_recorded(prefect_home())
    if recorded is None:
        console.print("no local Prefect server recorded (`newsdesk server start` starts one)")
        raise typer.Exit(1)
    if not is_healthy(recorded.url):
        console.print(f"the Prefect server at {recorded.url} (pid {recorded.pid}) does not answer")
        raise typer.Exit(1)
    console.print(f"Prefect server running at {recorded.url} (pid {recorded.pid})")
