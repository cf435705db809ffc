"""The `newsdesk` app and what its commands share: options, errors, printing rows."""

from __future__ import annotations

import csv
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from flows.settings.prefect_runs import allow_slow_server_start

# Offline installs would otherwise log telemetry errors on every run.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
allow_slow_server_start()

app = typer.Typer(
    name="newsdesk",
    help="Ingest news feeds into a DuckLake warehouse: clean, deduplicated, topic-tagged.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Typer's rich help shows each flag as `--force-poll <bool>` though it takes no value; plain help doesn't.
    rich_markup_mode=None,
)
console = Console()
UNCUT_WIDTH = 1_000_000  # the most a table printed to a pipe or file may measure: in effect, never cut


def check_db_path(path: Path) -> Path:
    """Refuse at once, naming the path, a --db that cannot be a warehouse (before anything starts)."""
    from warehouse.location import is_postgres

    if is_postgres(path):
        return path
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder, not a warehouse file")
    for folder in path.parents:  # the nearest existing folder decides whether the file can be made
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise typer.BadParameter(f"{path} cannot be made: {folder} is a file, not a folder")
        if folder != path.parent and not os.access(folder, os.W_OK | os.X_OK):
            raise typer.BadParameter(f"{path} cannot be made: no permission to create folders in {folder}")
        break
    return path


DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        help="The warehouse: its lake catalog (data/news.lake.sqlite), a path naming it (data/news.duckdb), "
        "or a postgresql:// catalog.",
        callback=check_db_path,
    ),
]
LiveOption = Annotated[bool, typer.Option("--live", hidden=True, help="Deprecated: every read is live now.")]
LIVE_NOTICE = "note: --live is no longer needed (and ignored): every command reads the live warehouse"
SourcesOption = Annotated[
    Path | None, typer.Option("--sources", help="Sources YAML (default: seeds/sources.yaml).")
]


class OutputFormat(StrEnum):
    """How `newsdesk sql` prints rows."""

    table = "table"
    csv = "csv"
    json = "json"


class CliError(Exception):
    """An error shown to the user as one line."""


def warn_live(live: bool) -> None:
    """Say once, on stderr, that --live is kept only so that old scripts still run."""
    if live:
        typer.echo(LIVE_NOTICE, err=True)


def default_db() -> Path:
    """The default warehouse path."""
    from flows.settings.config import DEFAULT_DB

    return DEFAULT_DB


def print_rows(columns: list[str], rows: list[tuple[Any, ...]], output: OutputFormat) -> None:
    """Print query results as a table, CSV or JSON lines."""
    if output is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif output is OutputFormat.json:
        for row in rows:
            sys.stdout.write(
                json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False) + "\n"
            )
    else:
        table = Table(show_header=True)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*("" if value is None else str(value) for value in row))
        print_table(table)


def print_table(table: Table) -> None:
    """Print a rich table; to a pipe or file as wide as its values, so that no value is cut or wrapped."""
    if console.is_terminal:
        console.print(table)
        return
    width = Measurement.get(console, console.options.update(max_width=UNCUT_WIDTH), table).maximum
    Console(file=sys.stdout, width=width).print(table)  # console.print caps a width at the console's
