"""The `newsdesk` command line."""

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

try:  # typer 0.20+ ships its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer on top of click
    from click import exceptions as click_exceptions

# Offline installs would otherwise log telemetry errors on every run.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(
    name="newsdesk",
    help="Ingest news feeds into a DuckDB warehouse: clean, deduplicated, topic-tagged.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Typer's rich help shows each flag as `--force-poll <bool>` though it takes no value; plain help doesn't.
    rich_markup_mode=None,
)
console = Console()
UNCUT_WIDTH = 1_000_000  # the most a table printed to a pipe or file may measure: in effect, never cut


def check_db_path(path: Path) -> Path:
    """Refuse at once, naming the path, a --db that cannot be a database file (before anything starts)."""
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder, not a DuckDB file")
    for folder in path.parents:  # the nearest existing folder decides whether the file can be made
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise typer.BadParameter(f"{path} cannot be made: {folder} is a file, not a folder")
        if folder != path.parent and not os.access(folder, os.W_OK | os.X_OK):
            raise typer.BadParameter(f"{path} cannot be made: no permission to create folders in {folder}")
        break
    return path


DbOption = Annotated[Path, typer.Option("--db", help="DuckDB warehouse file.", callback=check_db_path)]
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


def default_db() -> Path:
    """The default warehouse path."""
    from flows.config import DEFAULT_DB

    return DEFAULT_DB


@app.command()
def ingest(
    sources: SourcesOption = None,
    db: DbOption = Path("data/news.duckdb"),
    force_poll: Annotated[bool, typer.Option("--force-poll", help="Poll every active feed now.")] = False,
) -> None:
    """Poll the feeds, fetch new articles and load them into the warehouse."""
    from flows.config import load_config
    from flows.summary import render_table

    load_config(sources)  # fail fast, before Prefect starts, on a bad sources file
    db.parent.mkdir(parents=True, exist_ok=True)  # and on a folder that cannot be made (an OSError: one line)
    from flows.ingest import ingest as ingest_flow
    from flows.run_settings import local_run_settings

    with local_run_settings():
        summary = ingest_flow(sources=str(sources) if sources else None, db=str(db), force_poll=force_poll)
    console.print(render_table(summary))


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="The SQL to run (read-only).")],
    db: DbOption = Path("data/news.duckdb"),
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    live: Annotated[bool, typer.Option("--live", help="Read the live file (waits for the writer).")] = False,
) -> None:
    """Run a read-only SQL query against the read snapshot (or the live file: --live, or no snapshot yet)."""
    from warehouse.read_guard import check_read_only, guarded_session
    from warehouse.snapshot import choose_read_path
    from warehouse.stats import run_query

    check_read_only(query)  # before the file is opened: a refused statement waits for no lock
    with guarded_session(choose_read_path(db, live)) as connection:
        columns, rows = run_query(connection, query)
    print_rows(columns, rows, output)


@app.command()
def stats(db: DbOption = Path("data/news.duckdb")) -> None:
    """Show row counts and the topics with the most stories, the best few of each kind (regions last)."""
    from warehouse.read_guard import guarded_session
    from warehouse.stats import count_tables, top_topics

    with guarded_session(db) as connection:
        counts = count_tables(connection)
        topics = top_topics(connection)
    print_rows(["table", "rows"], counts, OutputFormat.table)
    print_rows(["kind", "topic_id", "label", "stories"], topics, OutputFormat.table)


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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr instead of a traceback."""
    from flows.config import ConfigError
    from warehouse.db import DatabaseError, WarehouseBusy, WarehouseSettingError
    from warehouse.migrate import SchemaError
    from warehouse.read_guard import ReadOnlyRefused

    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="newsdesk", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError:
        return 0
    except click_exceptions.UsageError as error:
        hint = f" (see `newsdesk {error.ctx.info_name} --help`)" if error.ctx and error.ctx.parent else ""
        print(f"newsdesk: error: {error.format_message()}{hint}", file=sys.stderr)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        print("newsdesk: aborted", file=sys.stderr)
        return 130
    except (
        ConfigError, SchemaError, WarehouseBusy, WarehouseSettingError, FileNotFoundError, CliError
    ) as error:
        print(f"newsdesk: error: {error}", file=sys.stderr)
        return 2
    except ReadOnlyRefused as error:
        print(f"newsdesk: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"newsdesk: error: {describe_os_error(error)}", file=sys.stderr)
        return 1
    except DatabaseError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"newsdesk: error: {first_line}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def describe_os_error(error: OSError) -> str:
    """An OS error as one line that names its path: `data/news.duckdb: File exists`."""
    if error.filename is None or not error.strerror:
        return str(error)
    target = f" -> {error.filename2}" if error.filename2 is not None else ""
    return f"{error.filename}{target}: {error.strerror}"


# The analyst's commands (snapshot, search, export, report) and `feeds` register themselves on `app`.
from flows import analyst_cli, feeds_cli, ops_cli  # noqa: E402,F401

if __name__ == "__main__":
    # `python -m flows.cli` runs this file as __main__; the other modules extend the app of `flows.cli`.
    from flows.cli import main as package_main

    sys.exit(package_main())
