"""The near-duplicate index beside a lake whose catalog is a file, in SQLite B-trees: LSH band hash →
(article, date); cluster id → (member, date, URL), also looked up by member; article → MinHash signatures.

A batch's near-duplicate candidates, their verification and the members of the clusters it touches are then
found by lookups that grow with the batch, not by scanning the lake (a Parquet scan cannot skip to a few
thousand random hashes: at 1M stored articles one batch's window held 13.9M of 32M band rows, and each cluster
lookup read 1M cluster ids). `article_bands` and `article_signatures` stay the record; the index is derived
from them: built from them when missing, added to by every writer before its lake commit, never pruned. So it
is a superset: a row left by a text signed again, a member moved to another cluster, or a transaction that did
not commit only proposes a candidate, a signature or a member that the lake's rows then reject. A PostgreSQL
lake has no index file: it reads the lake.
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
FORMAT = "1"  # the layout of each part; a part marked with another value is rebuilt from the lake
PARTS = {  # state name: source
    "built": "select_all_article_bands",
    "clusters": "select_all_cluster_members",
    "signatures": "select_all_signature_blobs",
}
WAIT_S = 600.0  # a writer waits this long for another's write; the one-time build of 1M articles takes ~2 min
BUILD_CHUNK = 500_000  # band rows read from the lake and written at a time while building
# SQLite's page cache while building (KiB): the signatures come unsorted, and their random inserts into a
# 1M-row B-tree took 23 s with the default 2 MB cache, 12 s with this.
BUILD_CACHE_KIB = 131_072
EPOCH = datetime(1970, 1, 1)
MATCH_SCHEMA = pa.schema(
    [("band_hash", pa.int64()), ("article_id", pa.string()), ("dated_at", pa.timestamp("us"))]
)
THREAD_STATE = threading.local()  # sqlite3 connections stay in the thread that opened them
CORRUPT_MESSAGES = ("malformed", "not a database", "disk image")
MEMBER_LOOKUPS = {  # find_members' key: its probe table and query
    "cluster": ("cluster_probe", "cluster_index_select"),
    "article": ("article_probe", "cluster_index_select_articles"),
}


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


def is_built(index: sqlite3.Connection, part: str | None = None) -> bool:
    """Tell whether the index holds every row of its lake, in one part (bands: "built", "clusters") or in all
    (built, then kept by every writer)."""
    names = [part] if part else list(PARTS)
    marks = dict(index.execute("SELECT name, value FROM band_index_state").fetchall())
    return all(marks.get(name) == FORMAT for name in names)


def insert_rows(index: sqlite3.Connection, bands: pa.Table) -> None:
    """Add band rows (band_hash, article_id, dated_at), those already there ignored, in the caller's write."""
    rows = zip(
        bands.column("band_hash").to_pylist(),
        bands.column("article_id").to_pylist(),
        (to_micros(value) for value in bands.column("dated_at").to_pylist()),
        strict=True,
    )
    index.executemany(read_sql("band_index_insert"), rows)


def insert_members(index: sqlite3.Connection, members: pa.Table) -> None:
    """Add cluster membership rows (cluster_id, article_id, dated_at, url), in the caller's write."""
    rows = zip(
        members.column("cluster_id").to_pylist(),
        members.column("article_id").to_pylist(),
        (to_micros(value) for value in members.column("dated_at").to_pylist()),
        members.column("url").to_pylist(),
        strict=True,
    )
    index.executemany(read_sql("cluster_index_insert"), rows)


def insert_signatures(index: sqlite3.Connection, signatures: pa.Table) -> None:
    """Add signature rows (article_id, content_hash, minhash_version, minhash), in the caller's write."""
    columns = [signatures.column(k).to_pylist() for k in range(4)]
    index.executemany(read_sql("signature_index_insert"), zip(*columns, strict=True))


def add_signatures(index: sqlite3.Connection, signatures: pa.Table) -> None:
    """Add a batch's signatures, committed at once, before the lake's commit: a candidate is never left
    unverified."""
    if signatures.num_rows:
        with explain_corruption(index), write_transaction(index):
            insert_signatures(index, signatures)


def add_bands(index: sqlite3.Connection, bands: pa.Table) -> None:
    """Add a batch's band rows, committed at once (before the lake's commit: a candidate is never missed)."""
    if bands.num_rows:
        with explain_corruption(index), write_transaction(index):
            insert_rows(index, bands)


def add_members(index: sqlite3.Connection, members: list[tuple[str, str, datetime, str | None]]) -> None:
    """Add a batch's cluster rows (cluster_id, article_id, dated_at, url), committed at once, before the
    lake's commit: a member is never missed."""
    if members:
        rows = [
            (cluster_id, article_id, to_micros(dated), url) for cluster_id, article_id, dated, url in members
        ]
        with explain_corruption(index), write_transaction(index):
            index.executemany(read_sql("cluster_index_insert"), rows)


def build_index(index: sqlite3.Connection, connection: duckdb.DuckDBPyConnection) -> int:
    """Fill the parts of the index not built yet from the lake (as the connection's transaction sees it) and
    mark them built; return the rows read. Another process building it meanwhile makes this one wait, then
    skip."""
    count = 0
    previous = index.execute("PRAGMA cache_size").fetchone()[0]
    index.execute(f"PRAGMA cache_size = -{BUILD_CACHE_KIB}")
    with contextlib.ExitStack() as stack:
        stack.callback(index.execute, f"PRAGMA cache_size = {previous}")
        stack.enter_context(write_transaction(index))
        for part, source in PARTS.items():
            if is_built(index, part):
                continue
            insert = {"built": insert_rows, "clusters": insert_members, "signatures": insert_signatures}[part]
            chunk = BUILD_CHUNK if part != "signatures" else BUILD_CHUNK // 10  # 512-byte signatures
            for batch in connection.execute(read_sql(source)).to_arrow_reader(chunk):
                insert(index, pa.Table.from_batches([batch]))
                count += batch.num_rows
            index.execute("INSERT OR REPLACE INTO band_index_state VALUES (?, ?)", (part, FORMAT))
    return count


def forget_build(connection: duckdb.DuckDBPyConnection) -> None:
    """Mark a lake's index as to be built again (after rows reached the lake without it: a move-in)."""
    path = find_index_path(connection)
    if path is not None and path.exists():
        index = open_index(path)
        with write_transaction(index):
            index.execute("DELETE FROM band_index_state")


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


def probe_rows(
    index: sqlite3.Connection, probe: str, keys: list, sql: str, params: tuple = ()
) -> list[tuple]:
    """Rows of `sql` with the keys put in the temp table `probe` first (inside a transaction rolled back)."""
    with explain_corruption(index), contextlib.closing(index.cursor()) as cursor:
        cursor.execute("BEGIN")
        try:
            cursor.execute(f"DELETE FROM temp.{probe}")
            cursor.executemany(f"INSERT OR IGNORE INTO temp.{probe} VALUES (?)", ((key,) for key in keys))
            return cursor.execute(sql, params).fetchall()
        finally:
            cursor.execute("ROLLBACK")


def find_matches(index: sqlite3.Connection, hashes: list[int], start: datetime, end: datetime) -> pa.Table:
    """The index rows (band_hash, article_id, dated_at) of the given hashes dated from start to end."""
    sql = read_sql("band_index_select")
    rows = probe_rows(index, "band_probe", hashes, sql, (to_micros(start), to_micros(end)))
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


def find_members(
    index: sqlite3.Connection, keys: list[str], by: str = "cluster"
) -> list[tuple[str, str, datetime, str | None]]:
    """The index rows (cluster_id, article_id, dated_at, url) of the given clusters, each member they had;
    with by="article", of the given articles, each cluster they were in."""
    probe, sql = MEMBER_LOOKUPS[by]
    rows = probe_rows(index, probe, keys, read_sql(sql))
    return [(row[0], row[1], EPOCH + timedelta(microseconds=row[2]), row[3]) for row in rows]


def find_signatures(index: sqlite3.Connection, article_ids: list[str]) -> dict[str, list[bytes]]:
    """Every MinHash signature the index holds for each of the given articles (one per text it was signed
    with)."""
    found: dict[str, list[bytes]] = {}
    sql = read_sql("signature_index_select")
    for article_id, blob in probe_rows(index, "article_probe", article_ids, sql):
        found.setdefault(article_id, []).append(blob)
    return found
