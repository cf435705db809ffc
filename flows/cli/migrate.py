"""`newsdesk migrate --from data/news.duckdb`: an old warehouse moved into the lake (docs/migrating.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from flows.cli.app import CliError, app, console, print_table

if TYPE_CHECKING:
    from warehouse.move_in import MoveReport

SINGLE_FILE_VERSION = 10  # the last schema of the single-file warehouse


@app.command()
def migrate(
    source: Annotated[
        Path, typer.Option("--from", help="The single-file warehouse to move in (e.g. data/news.duckdb).")
    ],
    db: Annotated[
        str | None,
        typer.Option("--db", help="The warehouse to move into (default: the --from path, i.e. its lake)."),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Empty a lake that already holds rows first (its rows are lost)."),
    ] = False,
) -> None:
    """Copy a single-file warehouse (schema 1-10) into the lake in one transaction; the old file stays."""
    from warehouse.move_in import CountMismatch, MoveInError, move_warehouse

    try:
        report = move_warehouse(source, db or source, replace=replace)
    except CountMismatch as mismatch:
        print_counts(mismatch.report)
        raise CliError(str(mismatch)) from mismatch
    except MoveInError as error:
        raise CliError(str(error)) from error
    if report.already_moved_at is not None:
        console.print(
            f"{report.source} was moved into {report.lake} already ({report.already_moved_at:%Y-%m-%d %H:%M} "
            "UTC): nothing copied"
        )
        return
    print_counts(report)
    print_outcome(report, db or str(source))


def print_counts(report: MoveReport) -> None:
    """Print the rows of every table in the old file and in the lake."""
    table = Table(title=f"{report.source} -> {report.lake}", show_header=True)
    table.add_column("table")
    table.add_column("old file", justify="right")
    table.add_column("lake", justify="right")
    table.add_column("")
    for name, old, new in report.counts:
        verdict = "not in the old file" if old is None else ("same" if old == new else "DIFFERENT")
        label = f"{name} (from {report.renamed[name]})" if name in report.renamed else name
        table.add_row(label, "" if old is None else f"{old:,}", f"{new:,}", verdict)
    for name in report.old_only:
        table.add_row(name, "", "", "not copied: the lake has no such table")
    print_table(table)


def print_outcome(report: MoveReport, db: str) -> None:
    """Print what was moved, what was not, and the next step."""
    rows = sum(old or 0 for _, old, _ in report.counts)
    pages = report.pages
    version = report.source_version
    upgraded = f" (upgraded from schema {version} in a copy)" if version < SINGLE_FILE_VERSION else ""
    console.print(
        f"moved {rows:,} rows of {len(report.counts)} tables{upgraded} and {pages.total:,} page files "
        f"({pages.linked:,} linked, {pages.copied:,} copied, {pages.present:,} there already) "
        f"into {report.lake} in {report.seconds:.1f} s"
    )
    if pages.missing:
        console.print(
            f"warning: {len(pages.missing):,} page files named by raw_pages were missing from the old pages "
            f"folder (e.g. {pages.missing[0]}): those rows are copied, their bodies cannot be replayed"
        )
    console.print(
        f"next: `--db {db}` now means the lake {report.lake} (page files in {report.pages_dir}); "
        f"{report.source} and its pages folder were left as they were: archive them once you are satisfied"
    )
