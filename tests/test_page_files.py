"""Raw page bodies in Parquet files beside the warehouse (warehouse/page_files.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.ingest import ingest
from transforms.page_bodies import compress_body, decompress_body
from warehouse.db import open_warehouse
from warehouse.load import LoadBatch, load_batch
from warehouse.migrate import apply_migrations
from warehouse.page_files import (
    ROWS_PER_GROUP,
    attach_page_bodies,
    pages_dir_for,
    read_page_bodies,
    write_page_file,
)


def page_row(url: str, body: bytes) -> dict:
    """A raw_pages row as the fetch stage makes it."""
    return {
        "url": url,
        "final_url": url + "?from=feed",
        "status": 200,
        "content_type": "text/html",
        "fetched_at": datetime(2016, 6, 1, 9, 30),
        "body_compressed": compress_body(body),
        "body_codec": "zstd",
        "body_bytes": len(body),
        "body_hash": hashlib.sha256(body).hexdigest(),
        "run_id": "run-0001",
    }


def stored_rows(connection: duckdb.DuckDBPyConnection) -> list[dict]:
    """raw_pages as stored, one dict per row."""
    cursor = connection.execute("SELECT * FROM raw_pages ORDER BY url")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_pages_folder_sits_beside_the_lake_data_folder(tmp_path):
    assert pages_dir_for(tmp_path / "data" / "news.duckdb") == tmp_path / "data" / "news.lake.pages"
    assert pages_dir_for(tmp_path / "data" / "news.lake.sqlite") == tmp_path / "data" / "news.lake.pages"


def test_ingest_keeps_every_body_in_a_page_file_that_reads_back_to_the_fetched_bytes(
    prefect_harness, seed_site, tmp_path
):
    db = tmp_path / "news.duckdb"
    ingest(sources=str(seed_site.sources_path), db=str(db))
    with open_warehouse(db, read_only=True) as connection:
        rows = stored_rows(connection)
        files_in_sql = connection.execute(
            f"SELECT count(*) FROM read_parquet('{pages_dir_for(db).as_posix()}/*/*.parquet')"
        ).fetchone()[0]
    assert len(rows) == 35
    assert all(row["body_compressed"] is None and row["body_file"] for row in rows)
    assert files_in_sql == len(rows)  # any Parquet reader sees the pages
    complete, missing = attach_page_bodies(db, rows)
    assert not missing and len(complete) == len(rows)
    for row in complete:
        body = decompress_body(row["body_compressed"], row["body_codec"])
        assert hashlib.sha256(body).hexdigest() == row["body_hash"] and len(body) == row["body_bytes"]


def test_a_failed_load_leaves_no_page_file_and_no_row(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as connection:
        apply_migrations(connection)
        broken = LoadBatch(
            "run-0002",
            raw_pages=[page_row("https://a.example/1", b"<html>one</html>")],
            failures=[{"run_id": "run-0002", "stage": None, "reason": None}],  # NOT NULL columns
        )
        with pytest.raises(duckdb.ConstraintException):
            load_batch(connection, broken)
        assert stored_rows(connection) == []
    assert list(pages_dir_for(db).rglob("*.parquet")) == []


def test_page_file_is_self_describing_and_keeps_the_first_copy_of_a_url(tmp_path):
    first = page_row("https://a.example/1", b"first")
    second = page_row("https://a.example/1", b"second")
    other = page_row("https://a.example/2", b"other")
    name = write_page_file(tmp_path, "run-0001", [first, second, other])
    table = pq.read_table(tmp_path / name)
    assert table.column("final_url").to_pylist()[0] == "https://a.example/1?from=feed"
    assert table.column("fetched_at").to_pylist()[0] == datetime(2016, 6, 1, 9, 30)
    bodies = read_page_bodies(tmp_path, [("https://a.example/1", name), ("https://a.example/2", name)])
    assert {url: decompress_body(*found) for url, found in bodies.items()} == {
        "https://a.example/1": b"first",
        "https://a.example/2": b"other",
    }
    assert not list(tmp_path.rglob("*.partial"))


def test_a_big_batch_is_written_in_row_groups_that_read_back_in_order(tmp_path):
    rows = [page_row(f"https://a.example/{number}", b"page %d" % number) for number in range(2 * ROWS_PER_GROUP + 5)]
    name = write_page_file(tmp_path, "run-0001", rows)
    metadata = pq.ParquetFile(tmp_path / name).metadata
    assert metadata.num_row_groups == 3
    assert max(metadata.row_group(i).num_rows for i in range(3)) == ROWS_PER_GROUP
    table = pq.read_table(tmp_path / name)
    assert table.column("url").to_pylist() == [row["url"] for row in rows]
    bodies = read_page_bodies(tmp_path, [(row["url"], name) for row in rows])
    assert [decompress_body(*bodies[row["url"]]) for row in rows] == [b"page %d" % n for n in range(len(rows))]


def test_a_failed_write_leaves_no_file(tmp_path):
    bad = page_row("https://a.example/1", b"one")
    bad["status"] = "not a number"
    with pytest.raises((TypeError, ValueError)):
        write_page_file(tmp_path, "run-0001", [page_row("https://a.example/0", b"zero"), bad])
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_rows_whose_file_is_gone_or_lacks_the_page_are_returned_apart(tmp_path):
    name = write_page_file(pages_dir_for(tmp_path / "w.duckdb"), "run-0001", [page_row("https://a.example/1", b"one")])
    rows = [
        {"url": "https://a.example/1", "body_compressed": None, "body_codec": None, "body_file": name},
        {"url": "https://a.example/2", "body_compressed": None, "body_codec": None, "body_file": name},
        {"url": "https://a.example/3", "body_compressed": None, "body_codec": None, "body_file": "2016-06/gone.parquet"},
        {"url": "https://a.example/4", "body_compressed": b"kept", "body_codec": "zlib", "body_file": None},
    ]
    complete, missing = attach_page_bodies(tmp_path / "w.duckdb", rows)
    assert [row["url"] for row in complete] == ["https://a.example/1", "https://a.example/4"]
    assert decompress_body(complete[0]["body_compressed"], complete[0]["body_codec"]) == b"one"
    assert complete[1]["body_compressed"] == b"kept"
    assert [row["url"] for row in missing] == ["https://a.example/2", "https://a.example/3"]


@pytest.mark.parametrize(("chosen", "expected"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_the_ingest_process_gives_arrow_the_c_heap_unless_a_pool_was_chosen(chosen, expected):
    env = {key: value for key, value in os.environ.items() if key != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    code = (
        "import pyarrow as pa; from warehouse.page_files import use_system_arrow_pool; "
        "changed = use_system_arrow_pool(); print(changed, pa.default_memory_pool().backend_name)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.split() == [str(chosen is None), expected]
