"""Raw page bodies kept beside the warehouse: one Parquet file per loaded batch, named in raw_pages.body_file.

The lake `data/news.lake.sqlite` keeps its page bodies under
`data/news.lake.pages/<YYYY-MM>/<run>-<id>.parquet`, beside its data folder. The rows of `raw_pages` stay in
the lake (URL, status, size, hash, run) and name the file holding each body; the bodies (already compressed,
see transforms/page_bodies.py) stay out of the lake's tables, so that maintenance never rewrites them. Each
file is self-describing (URL, final URL, status, content type, fetch time, codec, body, size, hash) and can be
read with any Parquet reader:

    SELECT url, body_bytes FROM read_parquet('data/news.lake.pages/*/*.parquet');

Rows stored by a single-file warehouse before its migration 0006 keep their body in
`raw_pages.body_compressed` (body_file NULL), as does a database that is not a lake.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.arrow_rows import dict_rows
from warehouse.clock import utc_naive
from warehouse.location import pages_dir_beside, pages_dir_for
from warehouse.sql import read_sql

PAGE_FILE_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("final_url", pa.string()),
        ("status", pa.int32()),
        ("content_type", pa.string()),
        ("fetched_at", pa.timestamp("us")),
        ("body_codec", pa.string()),
        ("body_compressed", pa.binary()),
        ("body_bytes", pa.int64()),
        ("body_hash", pa.string()),
    ]
)
# The bodies are compressed already: a second codec would cost CPU for nothing. The other columns are small.
COLUMN_CODECS = {name: "none" if name == "body_compressed" else "zstd" for name in PAGE_FILE_SCHEMA.names}


class PageFileError(RuntimeError):
    """A page file named by raw_pages is missing or does not hold the page."""


def pages_dir_of(connection: duckdb.DuckDBPyConnection) -> Path | None:
    """The page files' folder of the connection's lake (beside its data folder); None when not on a lake."""
    kind = connection.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not kind or kind[0] != "ducklake":
        return None
    row = connection.execute(read_sql("lake_data_path")).fetchone()
    return pages_dir_beside(row[0]) if row and row[0] else None


def name_page_file(run_id: str, when: datetime | None = None) -> str:
    """A new page file's name relative to the pages folder: `<YYYY-MM>/<run>-<random>.parquet`."""
    when = when or datetime.now(UTC)
    return f"{when:%Y-%m}/{run_id[:8]}-{uuid.uuid4().hex[:12]}.parquet"


# Rows per row group: ~3 MB of compressed bodies. Arrow copies a row group's bodies twice on its way to the
# file (the table, then the column's encoded pages); a whole 500-page batch at once took ~67 MiB of Arrow
# memory at every load, which its allocator then kept.
ROWS_PER_GROUP = 64


def write_page_file(pages_dir: Path, run_id: str, rows: list[dict[str, Any]]) -> str:
    """Write the rows' bodies to a new page file (complete or not at all) and return its relative name."""
    name = name_page_file(run_id)
    path = pages_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with pq.ParquetWriter(
            partial,
            PAGE_FILE_SCHEMA,
            compression=COLUMN_CODECS,
            use_dictionary=["url", "final_url", "content_type", "body_codec"],
        ) as writer:
            for start in range(0, len(rows), ROWS_PER_GROUP):
                writer.write_table(make_page_table(rows[start : start + ROWS_PER_GROUP]))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        release_arrow_memory()
    return name


def make_page_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The Arrow table of page rows, in the page file's schema."""
    columns = {field.name: [row.get(field.name) for row in rows] for field in PAGE_FILE_SCHEMA}
    columns["fetched_at"] = [utc_naive(value) for value in columns["fetched_at"]]
    return pa.Table.from_pydict(columns, schema=PAGE_FILE_SCHEMA)


def release_arrow_memory() -> None:
    """Give the memory Arrow's allocator keeps after a write back to the system."""
    # pyarrow's default pool (mimalloc) otherwise keeps the pages of freed buffers: ~80 MiB after three
    # page files of 500 bodies each, in a process that writes one per batch.
    pa.default_memory_pool().release_unused()


def use_system_arrow_pool() -> bool:
    """Have Arrow allocate from the C heap in this process, unless ARROW_DEFAULT_MEMORY_POOL chose a pool."""
    # mimalloc keeps what a batch's page file and tables used until release_arrow_memory; the C heap gives
    # big (mmapped) buffers back as soon as they are freed.
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return False
    pa.set_memory_pool(pa.system_memory_pool())
    return True


def remove_page_file(pages_dir: Path, name: str) -> None:
    """Delete a page file whose rows were not committed."""
    (pages_dir / name).unlink(missing_ok=True)


def move_bodies_out(
    connection: duckdb.DuckDBPyConnection, run_id: str, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], Path | None, str | None]:
    """Write the rows' bodies to a page file beside the connection's database. Return the rows to store in
    raw_pages, the folder and the file's name; in memory, the rows as they were."""
    pages_dir = pages_dir_of(connection)
    if pages_dir is None or not rows:
        return rows, None, None
    name = write_page_file(pages_dir, run_id, rows)
    stored = [{**row, "body_compressed": None, "body_file": name} for row in rows]
    return stored, pages_dir, name


def read_page_bodies(pages_dir: Path, wanted: Iterable[tuple[str, str]]) -> dict[str, tuple[bytes, str]]:
    """Bodies (compressed, codec) of the wanted (url, page file) pairs; a missing file or URL is left out."""
    urls_by_file: dict[str, set[str]] = defaultdict(set)
    for url, name in wanted:
        urls_by_file[name].add(url)
    bodies: dict[str, tuple[bytes, str]] = {}
    for name, urls in urls_by_file.items():
        path = pages_dir / name
        if not path.is_file():
            continue
        table = pq.read_table(path, columns=["url", "body_compressed", "body_codec"])
        for url, body, codec in zip(
            table.column("url").to_pylist(),
            table.column("body_compressed").to_pylist(),
            table.column("body_codec").to_pylist(),
            strict=True,
        ):
            if url in urls and url not in bodies:  # a batch's first copy of a URL, as raw_pages keeps it
                bodies[url] = (body, codec)
    return bodies


def attach_page_bodies(
    db_path: str | Path, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fill `body_compressed` and `body_codec` of raw_pages rows whose body is in a page file; return the rows
    that have their body, and those whose page file is missing or lacks them."""
    wanted = [
        (row["url"], row["body_file"])
        for row in rows
        if row.get("body_compressed") is None and row.get("body_file")
    ]
    bodies = read_page_bodies(pages_dir_for(db_path), wanted) if wanted else {}
    complete, missing = [], []
    for row in rows:
        if row.get("body_compressed") is None:
            found = bodies.get(row["url"]) if row.get("body_file") else None
            if found is None:
                missing.append(row)
                continue
            row["body_compressed"], row["body_codec"] = found
        complete.append(row)
    return complete, missing


def select_stored_pages(connection: duckdb.DuckDBPyConnection, urls: list[str]) -> list[dict[str, Any]]:
    """The raw_pages rows of these URLs (body in `body_compressed`, or named by `body_file`)."""
    table = pa.table({"url": pa.array(sorted(set(urls)), pa.string())})
    connection.register("wanted_urls", table)
    try:
        return dict_rows(connection.execute(read_sql("select_stored_pages")))
    finally:
        connection.unregister("wanted_urls")
