"""The LSH band index beside a lake whose catalog is a file: band hash → (article, date) in a SQLite B-tree.

A batch's near-duplicate candidates are then found by lookups that grow with the batch, not by scanning the
lake's `article_bands` rows inside the date window (a Parquet scan cannot skip to a few thousand random
hashes: at 1M stored articles one batch's window held 13.9M of 32M band rows). `article_bands` stays the
record; the index is derived from it: built from it when missing, added to by every writer before its lake
commit, never pruned (a row left by a text signed again, or by a transaction that did not commit, only
proposes a candidate that the signatures then reject). A PostgreSQL lake has no index file: it looks bands
up in the lake.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.lake import use_sqlite_wal
from warehouse.sql import read_sql

INDEX_SUFFIX = ".bands.sqlite"
FORMAT = "1"  # the index's layout; another value is rebuilt from the lake
WAIT_S = 600.0  # a writer waits this long for another's write; the one-time build of 1M articles takes ~2 min
BUILD_CHUNK = 500_000  # band rows read from the lake and written at a time while building
EPOCH = datetime(1970, 1, 1)
MATCH_SCHEMA = pa.schema(
    [("band_hash", pa.int64()), ("article_id", pa.string()), ("dated_at", pa.timestamp("us"))]
)
THREAD_STATE = threading.local()  # sqlite3 connections stay in the thread that opened them
CORRUPT_MESSAGES = ("malformed", "not a database", "disk image")


class BandIndexCorrupt(RuntimeError):
    """The band index file cannot be read: it is derived, so deleting it is the fix."""


@contextlib.contextmanager
def explain_corruption(where: Path | sqlite3.Connection) -> Iterator[None]:
    """Turn SQLite's error on a damaged index file (a path, or a connection to it) into one that names the
    file and the fix."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        if not any(text in str(error) for text in CORRUPT_MESSAGES):
            raise
        path = where if isinstance(where, Path) else where.execute("PRAGMA database_list").fetchone()[2]
        raise BandIndexCorrupt(
            f"the near-duplicate band index {path} is damaged ({error}): delete it; the next run rebuilds it"
        ) from error


def index_path_for_catalog(catalog: Path) -> Path:
    """The band index file beside a lake's catalog file: news.lake.sqlite → news.lake.bands.sqlite."""
    return catalog.with_name(catalog.stem + INDEX_SUFFIX)


def find_index_path(connection: duckdb.DuckDBPyConnection) -> Path | None:
    """The band index file of the lake in use on a connection; None for a PostgreSQL catalog."""
    row = connection.execute(
        "SELECT path, type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if row is None or row[1] != "ducklake" or not row[0]:
        return None
    kind, _, location = str(row[0]).partition(":")
    if kind not in ("sqlite", "duckdb") or not location:
        return None
    return index_path_for_catalog(Path(location))


def to_micros(value: datetime) -> int:
    """Microseconds since 1970 of a naive UTC timestamp (an aware one is converted)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - EPOCH) // timedelta(microseconds=1)


def open_index(path: Path) -> sqlite3.Connection:
    """This thread's connection to a band index file, made with its tables on first use."""
    connections = THREAD_STATE.__dict__.setdefault("connections", {})
    index = connections.get(path)
    if index is None:
        with explain_corruption(path):
            index = connect_index(path)
        connections[path] = index
    return index


def connect_index(path: Path) -> sqlite3.Connection:
    """A new connection to a band index file, its tables made if missing."""
    use_sqlite_wal(path)  # as the catalog: two processes making the file at once both get WAL
    index = sqlite3.connect(path, timeout=WAIT_S, isolation_level=None)
    try:
        # Unsynced (the index is derived): a crash of this process loses nothing committed; an OS crash or
        # power cut can damage the file, which then fails with BandIndexCorrupt until deleted. Syncing each
        # batch's ~16,000 random B-tree pages doubled the insert at 1M articles (0.15 -> 0.30 s a batch).
        index.execute("PRAGMA synchronous=OFF")
        index.executescript(read_sql("band_index_schema"))
    except BaseException:
        index.close()
        raise
    return index


def close_indexes() -> None:
    """Close this thread's band index connections."""
    connections = THREAD_STATE.__dict__.setdefault("connections", {})
    while connections:
        connections.popitem()[1].close()


@contextlib.contextmanager
def write_transaction(index: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on the index, taking its lock at once (other writers wait up to WAIT_S)."""
    index.execute("BEGIN IMMEDIATE")
    try:
        yield index
    except BaseException:
        index.execute("ROLLBACK")
        raise
    index.execute("COMMIT")


def is_built(index: sqlite3.Connection) -> bool:
    """Tell whether the index holds every band row of its lake (built, then kept by every writer)."""
    row = index.execute("SELECT value FROM band_index_state WHERE name = 'built'").fetchone()
    return row is not None and row[0] == FORMAT


def insert_rows(index: sqlite3.Connection, bands: pa.Table) -> None:
    """Add band rows (band_hash, article_id, dated_at), those already there ignored, in the caller's write."""
    rows = zip(
        bands.column("band_hash").to_pylist(),
        bands.column("article_id").to_pylist(),
        (to_micros(value) for value in bands.column("dated_at").to_pylist()),
        strict=True,
    )
    index.executemany(read_sql("band_index_insert"), rows)


def add_bands(index: sqlite3.Connection, bands: pa.Table) -> None:
    """Add a batch's band rows, committed at once (before the lake's commit: a candidate is never missed)."""
    if bands.num_rows:
        with explain_corruption(index), write_transaction(index):
            insert_rows(index, bands)


def build_index(index: sqlite3.Connection, connection: duckdb.DuckDBPyConnection) -> int:
    """Fill the index from the lake's article_bands (as the connection's transaction sees them) and mark it
    built; return the rows read. Another process building it meanwhile makes this one wait, then skip."""
    with write_transaction(index):
        if is_built(index):
            return 0
        reader = connection.execute(read_sql("select_all_article_bands")).to_arrow_reader(BUILD_CHUNK)
        count = 0
        for batch in reader:
            insert_rows(index, pa.Table.from_batches([batch]))
            count += batch.num_rows
        index.execute("INSERT OR REPLACE INTO band_index_state VALUES ('built', ?)", (FORMAT,))
    return count


def forget_build(connection: duckdb.DuckDBPyConnection) -> None:
    """Mark a lake's index as to be built again (after rows reached article_bands without it: a move-in)."""
    path = find_index_path(connection)
    if path is not None and path.exists():
        index = open_index(path)
        with write_transaction(index):
            index.execute("DELETE FROM band_index_state WHERE name = 'built'")


def ready_index(connection: duckdb.DuckDBPyConnection) -> sqlite3.Connection | None:
    """The built band index of the connection's lake (built now if it is not), or None without one."""
    path = find_index_path(connection)
    if path is None:
        return None
    index = open_index(path)
    with explain_corruption(path):
        if not is_built(index):
            build_index(index, connection)
    return index


def find_matches(
    index: sqlite3.Connection, hashes: list[int], start: datetime, end: datetime
) -> pa.Table:
    """The index rows (band_hash, article_id, dated_at) of the given hashes dated from start to end."""
    with explain_corruption(index), contextlib.closing(index.cursor()) as cursor:
        cursor.execute("BEGIN")
        try:
            cursor.execute("DELETE FROM temp.band_probe")
            cursor.executemany("INSERT OR IGNORE INTO temp.band_probe VALUES (?)", ((h,) for h in hashes))
            rows = cursor.execute(
                read_sql("band_index_select"), (to_micros(start), to_micros(end))
            ).fetchall()
        finally:
            cursor.execute("ROLLBACK")
    return pa.table(
        {
            "band_hash": pa.array([row[0] for row in rows], pa.int64()),
            "article_id": pa.array([row[1] for row in rows], pa.string()),
            "dated_at": pa.array(
                [EPOCH + timedelta(microseconds=row[2]) for row in rows], pa.timestamp("us")
            ),
        },
        schema=MATCH_SCHEMA,
    )
