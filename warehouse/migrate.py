"""Forward-only schema migrations from numbered .sql files, and (re)creation of the analysis views."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb

from warehouse.lake import write_with_retry

MIGRATIONS_DIR = Path(__file__).parent / "migrations"  # the lake's, from version 11
SINGLE_FILE_MIGRATIONS_DIR = (
    MIGRATIONS_DIR / "single_file"
)  # versions 1-10, for warehouses moved in by migrate
VIEWS_DIR = Path(__file__).parent / "views"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Per-table Parquet options of the lake, for the files DuckLake writes from then on (batches, maintenance's
# merges, `migrate --from`). Not in a migration: DuckLake refuses options on a table made in one transaction.
TABLE_OPTIONS: dict[str, dict[str, int]] = {
    # 16,384 rows = 8 MB of MinHash blobs a row group: at DuckDB's 122,880 (63 MB) the load's signature reads
    # fail under its 64 MB memory cap ("failed to allocate data of size 64.0 MiB").
    "article_signatures": {"parquet_row_group_size": 16_384},
    # 2,048 articles ≈ 7 MB of text a row group: reads of a few articles' text (revisions, search hits) stay
    # small, where 122,880 rows (≈ 430 MB) overran the load's cap once maintenance had merged the files.
    "articles": {"parquet_row_group_size": 2_048},
    # A search looks its ~40 best documents up by doc_id (the table is sorted by it): 2,048 documents a row
    # group keep each lookup to a few small reads (docs/lake.md, Search).
    "search_documents": {"parquet_row_group_size": 2_048},
}


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this version of newsdesk."""


def list_migrations(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    """Return (version, name, path) of every migration file in a folder, in order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise SchemaError(f"migration file name not understood: {path.name}")
        found.append((int(match.group(1)), match.group(2), path))
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise SchemaError(f"two migrations share a number: {versions}")
    return found


def read_schema_version(connection: duckdb.DuckDBPyConnection) -> int:
    """Return the highest applied migration number, 0 for an empty database."""
    exists = connection.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'schema_version' AND table_catalog = current_database()"
    ).fetchone()[0]
    if not exists:
        return 0
    return connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def apply_migrations(connection: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> int:
    """Bring the schema up to date and refresh the views; return the resulting version."""
    migrations = list_migrations(directory)
    latest = migrations[-1][0] if migrations else 0
    current = write_with_retry(connection, read_schema_version)  # retried as a write would be
    if current > latest:
        raise SchemaError(
            f"database schema version {current} is newer than this newsdesk ({latest}): upgrade newsdesk"
        )
    if current < latest:
        # One transaction, run again from the version it then reads if another process migrated meanwhile.
        write_with_retry(connection, lambda c: apply_pending(c, migrations))
    if directory == MIGRATIONS_DIR and missing_table_options(connection):
        write_with_retry(connection, apply_table_options)
    if directory == MIGRATIONS_DIR and (latest != current or not views_current(connection)):
        create_views(connection)
    return latest


def missing_table_options(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """The (table, option, value) of TABLE_OPTIONS the lake does not have set so."""
    lake = connection.execute("SELECT current_database()").fetchone()[0]
    have = {
        (entry, name): value
        for name, value, entry in connection.execute(
            "SELECT option_name, value, scope_entry FROM ducklake_options(?) WHERE scope = 'TABLE'", [lake]
        ).fetchall()
    }
    return [
        (table, name, value)
        for table, options in TABLE_OPTIONS.items()
        for name, value in options.items()
        if have.get((f"main.{table}", name)) != str(value)
    ]


def apply_table_options(connection: duckdb.DuckDBPyConnection) -> None:
    """Set, inside the caller's transaction, the TABLE_OPTIONS the lake lacks."""
    for table, name, value in missing_table_options(connection):
        connection.execute(f"CALL set_option('{name}', {int(value)}, table_name => '{table}')")


def apply_pending(connection: duckdb.DuckDBPyConnection, migrations: list[tuple[int, str, Path]]) -> None:
    """Apply, inside the caller's transaction, the migrations above the version the warehouse is at."""
    current = read_schema_version(connection)
    if current == 0:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
    for version, name, path in migrations:
        if version <= current:
            continue
        connection.execute(path.read_text(encoding="utf-8"))
        connection.execute(
            "INSERT INTO schema_version VALUES (?, ?, ?)",
            [version, name, datetime.now(UTC).replace(tzinfo=None)],
        )


def hash_view(path: Path) -> str:
    """A short digest of a view file, kept as the view's comment so a changed file is noticed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def views_current(connection: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether every view file has its view in the database, made from the file as it is now."""
    wanted = {path.stem: hash_view(path) for path in VIEWS_DIR.glob("*.sql")}
    have = dict(
        connection.execute(
            "SELECT view_name, comment FROM duckdb_views() "
            "WHERE NOT internal AND database_name = current_database()"
        ).fetchall()
    )
    return all(have.get(name) == digest for name, digest in wanted.items())


def create_views(connection: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view from warehouse/views/ in one transaction (one lake commit, not one per view)."""
    ordered = order_views(sorted(VIEWS_DIR.glob("*.sql")))
    try:
        write_with_retry(connection, lambda c: create_listed_views(c, ordered))
    except duckdb.CatalogException as error:
        raise SchemaError(f"views could not be created: {error}") from error


def order_views(paths: list[Path]) -> list[Path]:
    """The view files, each after the files of the views it names (a view binds the views it reads)."""
    by_name = {path.stem: path for path in paths}
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for name, path in by_name.items():
        text = path.read_text(encoding="utf-8")
        sorter.add(name, *(other for other in by_name if other != name and re.search(rf"\b{other}\b", text)))
    try:
        return [by_name[name] for name in sorter.static_order()]
    except CycleError as error:
        raise SchemaError(f"views read each other in a circle: {error.args[1]}") from error


def create_listed_views(connection: duckdb.DuckDBPyConnection, paths: list[Path]) -> None:
    """(Re)create the views of these files, in this order, inside the caller's transaction."""
    for path in paths:
        create_view(connection, path)


def create_view(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    """(Re)create one view from its file, its file's digest as its comment."""
    connection.execute(path.read_text(encoding="utf-8"))
    connection.execute(f"COMMENT ON VIEW {path.stem} IS '{hash_view(path)}'")
