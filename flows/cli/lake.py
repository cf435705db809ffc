"""Lake commands of the `newsdesk` CLI: maintain (the upkeep pass), shell (the DuckDB program on the lake)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.app import CliError, DbOption, SourcesOption, app, console

CLI_PACKAGE = "duckdb_cli"  # the PyPI package duckdb-cli: the `duckdb` program, the same version as duckdb
PROGRAM = "duckdb.exe" if sys.platform == "win32" else "duckdb"


def check_retention(days: float | None) -> float | None:
    """Refuse in one line a retention that is not a positive number of days."""
    if days is not None and not days > 0:
        raise typer.BadParameter(f"must be a positive number of days, not {days:g}")
    return days


RetentionOption = Annotated[
    float | None,
    typer.Option(
        "--retention-days",
        help="Keep snapshots this many days (default: the sources file's lake: snapshot_retention_days, 7).",
        callback=check_retention,
    ),
]


def format_bytes(size: int) -> str:
    """A byte count in the largest binary unit that keeps it at or above 1."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def print_upkeep(summary: dict[str, Any]) -> None:
    """Print what a maintenance pass did, and the lake's files before and after it, on one screen."""
    from rich.table import Table

    counts = summary.get("counts", {})
    table = Table(title=f"maintain {summary.get('status')} in {counts.get('seconds', 0)} s", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("rows_flushed", "files_merged", "snapshots_expired", "files_deleted", "orphans_deleted"):
        if key in counts:
            table.add_row(key.replace("_", " "), f"{counts[key]:,}")
    for label, key, show in (
        ("files the latest snapshot reads", "live_files", str),
        ("files stored", "files", str),
        ("bytes stored", "bytes", format_bytes),
    ):
        if f"{key}_before" in counts:
            table.add_row(label, f"{show(counts[key + '_before'])} -> {show(counts[key + '_after'])}")
    console.print(table)
    days = counts.get("retention_days")
    if days is not None:
        console.print(f"snapshots kept: the last {days:g} days (how far time travel reaches back)")


@app.command()
def maintain(
    sources: SourcesOption = None,
    db: DbOption = Path("data/news.lake.sqlite"),
    retention_days: RetentionOption = None,
) -> None:
    """Flush inlined rows, merge small files, expire snapshots older than the retention, delete old files."""
    from flows.maintain import load_upkeep_config
    from warehouse.lake import LakeSettingError
    from warehouse.location import SingleFileWarehouse, require_warehouse

    load_upkeep_config(sources, retention_days)  # a bad sources file fails here, before Prefect starts
    try:
        require_warehouse(db)
    except (LakeSettingError, SingleFileWarehouse) as error:
        raise CliError(str(error)) from error
    from flows.maintain import maintain as maintain_flow
    from flows.settings.prefect_runs import local_run_settings

    with local_run_settings():
        summary = maintain_flow(
            sources=str(sources) if sources else None, db=str(db), retention_days=retention_days
        )
    print_upkeep(summary)


def find_duckdb_program() -> Path:
    """The `duckdb` program of the duckdb-cli package; else one beside this Python, else on PATH."""
    spec = importlib.util.find_spec(CLI_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        shipped = Path(next(iter(spec.submodule_search_locations))) / PROGRAM
        if shipped.is_file():
            check_program_version()
            return shipped
    beside = Path(sys.executable).parent / PROGRAM
    found = str(beside) if beside.is_file() else shutil.which(PROGRAM)
    if not found:
        raise CliError("the duckdb command-line program is missing: install duckdb-cli (pinned to duckdb)")
    return Path(found)


def check_program_version() -> None:
    """Refuse a duckdb-cli of another version than duckdb: the lake's extension files would not load."""
    program, library = importlib.metadata.version("duckdb-cli"), importlib.metadata.version("duckdb")
    if program != library:
        raise CliError(f"duckdb-cli {program} does not match duckdb {library}: install duckdb-cli=={library}")


def build_shell_init(db: Path) -> str:
    """The SQL that sets the duckdb program up as `open_lake` does: offline, extensions from their files,
    the lake attached read-only as `lake` and in use."""
    from warehouse.lake import (
        CATALOG_EXTENSIONS,
        OFFLINE_CONFIG,
        attach_statement,
        find_extension_file,
        quote_literal,
    )
    from warehouse.location import is_postgres, lake_settings_for

    settings = lake_settings_for(db if is_postgres(db) else db.absolute())  # the SQL works from any folder
    lines = [f"SET {name} = {str(value).lower()};" for name, value in OFFLINE_CONFIG.items()]
    for name in ("ducklake", CATALOG_EXTENSIONS[settings.catalog]):
        if name == "postgres":  # its file's name is not its entry point's: see warehouse.lake.load_extension
            lines += [f"INSTALL {quote_literal(str(find_extension_file(name)))};", "LOAD postgres_scanner;"]
        elif name:
            lines.append(f"LOAD {quote_literal(str(find_extension_file(name)))};")
    lines += [f"{attach_statement(settings, read_only=True)};", f"USE {settings.alias};"]
    return "\n".join(lines)


def run_program(command: list[str]) -> int:
    """Run the program in the foreground and return its exit code; Ctrl-C is its to handle, not ours."""
    if threading.current_thread() is not threading.main_thread():
        return subprocess.call(command)
    # A Python handler (not SIG_IGN, which the child would inherit) keeps this process alive and waiting.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        return subprocess.call(command)
    finally:
        signal.signal(signal.SIGINT, previous)


@app.command()
def shell(
    duckdb_args: Annotated[
        list[str] | None,
        typer.Argument(help="After `--`: arguments for the duckdb program, e.g. -- -csv -c 'SELECT 1'."),
    ] = None,
    db: DbOption = Path("data/news.lake.sqlite"),
    print_sql: Annotated[
        bool, typer.Option("--print-sql", help="Print the SQL that sets the shell up, and exit.")
    ] = False,
) -> None:
    """Open the DuckDB shell on the warehouse: the lake attached read-only as `lake`, offline."""
    from warehouse.lake import LakeExtensionMissing, LakeSettingError
    from warehouse.location import SingleFileWarehouse, require_warehouse

    try:
        init = build_shell_init(db)
        if print_sql:
            sys.stdout.write(init + "\n")
            return
        require_warehouse(db)
    except (LakeExtensionMissing, LakeSettingError, SingleFileWarehouse) as error:
        raise CliError(str(error)) from error
    code = run_program([str(find_duckdb_program()), "-cmd", init, *(duckdb_args or [])])
    if code:
        raise typer.Exit(code)
