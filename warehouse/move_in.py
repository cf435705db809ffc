"""A single-file warehouse (one DuckDB file, schema 1-10) moved into the lake: `newsdesk migrate --from`.

The old file is attached READ_ONLY to the lake's own connection and every lake table is filled from it
with one `INSERT … SELECT` (the columns both sides have, by name) in ONE lake transaction; its page files are
linked into the lake's pages folder first. A file of an older schema is upgraded in a temporary copy, never in
place. The move is recorded in `moved_warehouses` with the file's sha256, so moving the same file again
changes nothing. See docs/migrating.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.band_index import forget_build
from warehouse.batch_queries import id_table
from warehouse.db import limit_memory
from warehouse.lake import open_lake, resolve_data_path, write_with_retry
from warehouse.location import describe_warehouse, lake_settings_for, pages_dir_for
from warehouse.migrate import apply_migrations
from warehouse.move_in_pages import PageCopy, bring_page_files, old_pages_dir, remove_placed
from warehouse.move_in_source import (
    SINGLE_FILE_VERSION,
    SOURCE_ALIAS,
    MoveInError,
    SourceFile,
    attach_source,
    inspect_source,
    readable_copy,
)
from warehouse.postings import index_articles
from warehouse.sql import read_sql

NOT_COPIED = {"schema_version", "moved_warehouses", "write_ticket"}
INDEX_CHUNK = 5_000  # articles indexed for search at a time, so the move never holds every text at once
# Lake tables filled from an old table of another name, and lake-only NOT NULL columns filled from old ones.
FILLED_FROM = {"run_log": "runs"}  # runs became an append-only log (a view `runs` reads its latest rows)
COLUMN_FILLS = {"run_log": {"logged_at": "coalesce(finished_at, started_at)"}}


@dataclass
class MoveReport:
    """What a move did: rows per table in the old file and in the lake, page files, time."""

    source: Path
    lake: str
    pages_dir: Path  # the lake's page files folder
    counts: list[tuple[str, int | None, int]] = field(default_factory=list)  # table, old rows, lake rows
    old_only: list[str] = field(default_factory=list)  # tables of the old file the lake has not
    renamed: dict[str, str] = field(default_factory=dict)  # lake table -> the old table it was filled from
    pages: PageCopy = field(default_factory=PageCopy)
    seconds: float = 0.0
    already_moved_at: datetime | None = None
    replaced: bool = False
    source_version: int = SINGLE_FILE_VERSION

    def counts_match(self) -> bool:
        """Tell whether every table holds in the lake the rows it held in the old file."""
        return all(old is None or old == new for _, old, new in self.counts)


class CountMismatch(MoveInError):
    """Some table's rows in the lake differ from the old file's after the copy: the move was rolled back."""

    def __init__(self, report: MoveReport) -> None:
        super().__init__("row counts differ between the old file and the lake: nothing was moved")
        self.report = report


def nearest_folder(path: Path) -> Path:
    """The nearest existing folder at or above a path's parent."""
    for folder in path.parents:
        if folder.exists():
            return folder
    return Path(".")


def check_writable(path: Path, what: str) -> None:
    """Refuse in one line a lake file or folder that cannot be written (before anything is made)."""
    if path.exists():
        if not os.access(path, os.W_OK):
            raise MoveInError(f"the lake cannot be written: no permission to write {what} {path}")
        return
    folder = nearest_folder(path)
    if not folder.is_dir():
        raise MoveInError(f"the lake cannot be written: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MoveInError(f"the lake cannot be written: no permission to create {what} in {folder}")


def list_columns(connection: duckdb.DuckDBPyConnection, database: str) -> dict[str, list[str]]:
    """Every base table of an attached database and its columns, in order."""
    tables: dict[str, list[str]] = {}
    rows = connection.execute(read_sql("move_in_list_columns"), {"database": database}).fetchall()
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def quote_name(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TableCopy:
    """How one lake table is filled: from which old table, each lake column from which SELECT expression."""

    source: str
    columns: list[str]
    selected: list[str]


def plan_table(table: str, lake_columns: list[str], old_columns: list[str]) -> TableCopy:
    """The copy of one table: the columns both sides have, by name, plus the lake-only columns with a fill."""
    fills = COLUMN_FILLS.get(table, {})
    columns, selected = [], []
    for column in lake_columns:
        if column in old_columns:
            columns.append(column)
            selected.append(quote_name(column))
        elif column in fills:
            columns.append(column)
            selected.append(fills[column])
    return TableCopy(FILLED_FROM.get(table, table), columns, selected)


def plan_copy(
    lake: dict[str, list[str]], old: dict[str, list[str]]
) -> tuple[dict[str, TableCopy | None], list[str]]:
    """Per lake table its copy (None when the old file lacks its table); the old tables nothing reads."""
    plan: dict[str, TableCopy | None] = {}
    for table, columns in lake.items():
        if table in NOT_COPIED:
            continue
        source = FILLED_FROM.get(table, table)
        plan[table] = plan_table(table, columns, old[source]) if source in old else None
    read = {copy.source for copy in plan.values() if copy is not None}
    return plan, sorted(set(old) - read - NOT_COPIED)


def copy_statement(alias: str, table: str, copy: TableCopy) -> str:
    """`INSERT INTO lake.t (a, b) SELECT a, b FROM moving_from.t`."""
    listed = ", ".join(quote_name(column) for column in copy.columns)
    target = f"{alias}.{quote_name(table)}"
    source = f"{SOURCE_ALIAS}.{quote_name(copy.source)}"
    return f"INSERT INTO {target} ({listed}) SELECT {', '.join(copy.selected)} FROM {source}"


def count_rows(connection: duckdb.DuckDBPyConnection, database: str, table: str) -> int:
    """The rows of one table of an attached database."""
    return connection.execute(f"SELECT count(*) FROM {database}.{quote_name(table)}").fetchone()[0]


def list_page_files(connection: duckdb.DuckDBPyConnection, old_tables: dict[str, list[str]]) -> list[str]:
    """The page files the old raw_pages rows name; none before schema 6 (bodies all inline)."""
    if "body_file" not in old_tables.get("raw_pages", []):
        return []
    return [row[0] for row in connection.execute(read_sql("move_in_list_page_files")).fetchall()]


def find_move(connection: duckdb.DuckDBPyConnection, digest: str) -> datetime | None:
    """When a file with this digest was moved into the lake, or None."""
    return connection.execute(read_sql("move_in_find_move"), {"digest": digest}).fetchone()[0]


def check_lake_empty(
    connection: duckdb.DuckDBPyConnection, alias: str, report: MoveReport, tables: list[str]
) -> None:
    """Refuse to add a warehouse's rows to a lake that holds rows already (they would mix or repeat)."""
    held = {table: rows for table in tables if (rows := count_rows(connection, alias, table))}
    if held:
        shown = ", ".join(f"{table} {rows}" for table, rows in list(held.items())[:3])
        raise MoveInError(
            f"the lake {report.lake} already holds rows ({shown}{', …' if len(held) > 3 else ''}): "
            "migrate fills an empty lake; --replace empties it first (rows written to it since are lost)"
        )


def write_rows(
    connection: duckdb.DuckDBPyConnection,
    alias: str,
    plan: dict[str, TableCopy | None],
    source: SourceFile,
    report: MoveReport,
) -> list[tuple[str, int | None, int]]:
    """Inside the move's one transaction: empty or check the lake, copy every table, key the articles
    (migration 0017), compare, record."""
    if report.replaced:
        for table in plan:
            connection.execute(f"DELETE FROM {alias}.{quote_name(table)}")
    else:
        check_lake_empty(connection, alias, report, list(plan))
    for table, copy in plan.items():
        if copy is not None:
            connection.execute(copy_statement(alias, table, copy))
    if "article_keys" in plan and plan["article_keys"] is None:  # a file from before migration 0017
        connection.execute(read_sql("insert_stored_article_keys"))
    counts: list[tuple[str, int | None, int]] = []
    for table, copy in plan.items():
        old = None if copy is None else count_rows(connection, SOURCE_ALIAS, copy.source)
        counts.append((table, old, count_rows(connection, alias, table)))
    report.counts = counts
    if not report.counts_match():
        raise CountMismatch(report)
    index_moved_articles(connection, alias)
    record_move(connection, source, report)
    return counts


def index_moved_articles(connection: duckdb.DuckDBPyConnection, alias: str) -> int:
    """Index the moved articles for search (the old fts index is not carried over), a chunk at a time."""
    query = f"SELECT article_id FROM {alias}.articles ORDER BY 1"
    ids = [row[0] for row in connection.execute(query).fetchall()]
    indexed = 0
    for start in range(0, len(ids), INDEX_CHUNK):
        connection.register("move_in_ids", id_table(ids[start : start + INDEX_CHUNK]))
        try:
            chunk = connection.execute(read_sql("move_in_select_articles")).to_arrow_table()
        finally:
            connection.unregister("move_in_ids")
        # The lake was empty before the move (check_lake_empty): no moved article has a document yet.
        indexed += index_articles(connection, chunk, new_ids=set(chunk.column("article_id").to_pylist()))
    return indexed


def record_move(connection: duckdb.DuckDBPyConnection, source: SourceFile, report: MoveReport) -> None:
    """Append the move to moved_warehouses (so that moving the same file again is skipped)."""
    copied = {table: old for table, old, _ in report.counts if old is not None}
    connection.execute(
        read_sql("move_in_record_move"),
        {
            "path": str(source.path),
            "digest": source.digest,
            "bytes": source.size,
            "mtime": source.mtime,
            "version": source.version,
            "replaced": report.replaced,
            "moved_at": datetime.now(UTC).replace(tzinfo=None),
            "counts": json.dumps(copied, sort_keys=True),
        },
    )


def run_move(
    connection: duckdb.DuckDBPyConnection, alias: str, readable: Path, source: SourceFile, report: MoveReport
) -> None:
    """Copy the readable file's rows and page files into the lake on `connection`, unless moved already."""
    report.already_moved_at = find_move(connection, source.digest)
    if report.already_moved_at is not None:
        return
    attach_source(connection, readable)
    old_tables = list_columns(connection, SOURCE_ALIAS)
    plan, report.old_only = plan_copy(list_columns(connection, alias), old_tables)
    report.renamed = {table: copy.source for table, copy in plan.items() if copy and copy.source != table}
    names = list_page_files(connection, old_tables)
    report.pages = bring_page_files(names, old_pages_dir(source.path), report.pages_dir)
    try:
        # Band rows arrive without the band index: it is built again from the lake (forgotten before and after
        # the commit, so that a build by another process in between does not count as complete).
        forget_build(connection)
        write_with_retry(connection, lambda session: write_rows(session, alias, plan, source, report))
        forget_build(connection)
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a MoveInError leaves write_with_retry's transaction open
            connection.execute("ROLLBACK")
        remove_placed(report.pages)
        raise


def open_target(db: str | Path) -> duckdb.DuckDBPyConnection:
    """A connection to the lake `db` names, its schema brought up to date, memory capped."""
    connection = open_lake(lake_settings_for(db))
    try:
        apply_migrations(connection)
        limit_memory(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def new_lake_paths(db: str | Path) -> list[Path]:
    """The lake's local catalog files and folders that do not exist yet (removed again if its move fails)."""
    settings = lake_settings_for(db)
    if settings.catalog != "sqlite" or Path(settings.catalog_path).exists():
        return []
    catalog = Path(settings.catalog_path)
    paths = [catalog, catalog.with_name(catalog.name + "-wal"), catalog.with_name(catalog.name + "-shm")]
    paths += [Path(resolve_data_path(settings)), pages_dir_for(db)]
    return [path for path in paths if not path.exists()]


def remove_paths(paths: list[Path]) -> None:
    """Delete files and folders this move made."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def check_lake_writable(db: str | Path) -> None:
    """Refuse in one line a local lake whose catalog or folders cannot be written."""
    settings = lake_settings_for(db)
    if settings.catalog == "sqlite":
        check_writable(Path(settings.catalog_path), "the catalog")
        check_writable(Path(settings.catalog_path).parent, "the catalog's folder")
    check_writable(pages_dir_for(db), "the pages folder")


def move_warehouse(old_file: str | Path, db: str | Path, replace: bool = False) -> MoveReport:
    """Move a single-file warehouse into the lake `db` names (all rows in one transaction, or none)."""
    started = time.monotonic()
    source = inspect_source(Path(old_file))
    report = MoveReport(source.path, describe_warehouse(db), pages_dir_for(db), replaced=replace)
    report.source_version = source.version
    check_lake_writable(db)
    made = new_lake_paths(db)
    try:
        with readable_copy(source) as readable, contextlib.closing(open_target(db)) as connection:
            run_move(connection, lake_settings_for(db).alias, readable, source, report)
    except BaseException:
        remove_paths(made)
        raise
    report.seconds = time.monotonic() - started
    return report
