"""The band index beside a lake (warehouse/band_index.py): the same candidates as the lake's band join, built
from the lake when missing or after a move-in, kept by every writer."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from warehouse.band_index import (
    BandIndexCorrupt,
    add_bands,
    close_indexes,
    find_index_path,
    forget_build,
    is_built,
    open_index,
    ready_index,
)
from warehouse.batch_queries import run_with
from warehouse.db import open_warehouse, run_transaction
from warehouse.migrate import apply_migrations
from warehouse.near_dupe_pairs import find_band_candidates
from warehouse.near_dupes import BAND_SCHEMA
from warehouse.sql import read_sql

DAY = datetime(2016, 5, 3, 9, 0)
WINDOW = timedelta(days=30)


def random_bands(rng: random.Random, prefix: str, articles: int, days: int) -> pa.Table:
    """Band rows of synthetic articles: 32 bands each, hashes from a small range so that many collide."""
    rows = []
    for number in range(articles):
        dated = DAY + timedelta(days=rng.randrange(days), seconds=rng.randrange(86_400))
        for band in range(32):
            rows.append(
                {
                    "band_hash": rng.randrange(-3_000, 3_000),
                    "band": band,
                    "article_id": f"{prefix}{number:05d}",
                    "dated_at": dated,
                }
            )
    return pa.Table.from_pylist(rows, schema=BAND_SCHEMA)


def store_bands(connection, bands: pa.Table) -> None:
    """Write band rows to the lake, as store_signatures does."""
    run_transaction(
        connection, lambda c: run_with(c, {"batch_bands": bands}, read_sql("insert_article_bands"))
    )


def test_index_finds_the_candidates_the_lake_join_finds(tmp_path):
    rng = random.Random(7)
    stored = random_bands(rng, "s", 400, 200)
    batch = random_bands(rng, "b", 60, 200)
    with contextlib.closing(open_warehouse(tmp_path / "news.duckdb")) as connection:
        apply_migrations(connection)
        store_bands(connection, stored)
        index = ready_index(connection)  # built from the stored rows
        assert index is not None and is_built(index)
        store_bands(connection, batch)
        add_bands(index, batch)
        joined = find_band_candidates(connection, batch, WINDOW, None)
        looked_up = find_band_candidates(connection, batch, WINDOW, index)
    close_indexes()
    assert len(joined) > 100  # the data makes many candidates, within and outside the batch
    assert {row[1][0] for row in joined} == {"s", "b"}
    assert sorted(looked_up) == sorted(joined)
    ids, dates = batch.column("article_id").to_pylist(), batch.column("dated_at").to_pylist()
    batch_dates = dict(zip(ids, dates, strict=True))
    assert all(abs(dated - batch_dates[article_id]) <= WINDOW for article_id, _, dated in looked_up)
    assert all(article_id != other_id for article_id, other_id, _ in looked_up)


def test_missing_index_is_built_from_the_lake_and_a_move_in_forgets_it(tmp_path):
    rng = random.Random(11)
    stored = random_bands(rng, "s", 50, 40)
    db = tmp_path / "news.duckdb"
    with contextlib.closing(open_warehouse(db)) as connection:
        apply_migrations(connection)
        store_bands(connection, stored)
        path = find_index_path(connection)
        assert path == tmp_path / "news.lake.bands.sqlite"
        assert not path.exists()
        index = ready_index(connection)
        default = sqlite3.connect(":memory:").execute("PRAGMA cache_size").fetchone()[0]
        assert index.execute("PRAGMA cache_size").fetchone()[0] == default  # the build's larger cache is let go
        rows = index.execute("SELECT count(*) FROM band_index").fetchone()[0]
        distinct = connection.execute(
            "SELECT count(*) FROM (SELECT DISTINCT band_hash, article_id FROM article_bands)"
        ).fetchone()[0]
        assert rows == distinct and rows > 1_000
        forget_build(connection)
        assert not is_built(open_index(path))
        store_bands(connection, random_bands(rng, "m", 5, 40))  # rows that reached the lake without the index
        index = ready_index(connection)
        assert is_built(index)
        moved = index.execute("SELECT count(DISTINCT article_id) FROM band_index WHERE article_id LIKE 'm%'")
        assert moved.fetchone()[0] == 5
    close_indexes()


@pytest.mark.parametrize(
    ("query", "parameters", "search"),
    [
        ("band_index_select", (0, 1), "USING PRIMARY KEY (band_hash=?)"),
        ("cluster_index_select", (), "USING PRIMARY KEY (cluster_id=?)"),
        ("cluster_index_select_articles", (), "USING INDEX cluster_index_by_article (article_id=?)"),
        ("signature_index_select", (), "USING INDEX sqlite_autoindex_signature_index_1 (article_id=?)"),
    ],
)
def test_lookup_seeks_each_key_instead_of_scanning_the_index(tmp_path, query, parameters, search):
    index = open_index(tmp_path / "x.bands.sqlite")
    plan = [row[3] for row in index.execute("EXPLAIN QUERY PLAN " + read_sql(query), parameters)]
    close_indexes()
    assert plan == ["SCAN p", f"SEARCH i {search}"]


def test_a_damaged_index_is_named_with_its_fix(tmp_path):
    db = tmp_path / "news.duckdb"
    with contextlib.closing(open_warehouse(db)) as connection:
        apply_migrations(connection)
        path = find_index_path(connection)
        path.write_bytes(b"this is no SQLite file" * 500)
        with pytest.raises(BandIndexCorrupt, match=r"news\.lake\.bands\.sqlite is damaged .*delete it"):
            ready_index(connection)
        path.unlink()
        assert is_built(ready_index(connection))  # deleted: rebuilt from the lake
    close_indexes()


def test_an_index_file_another_process_is_writing_is_waited_for(tmp_path):
    path = tmp_path / "news.lake.bands.sqlite"
    other = sqlite3.connect(path, isolation_level=None)  # another maker, mid-write, before WAL is set
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE IF NOT EXISTS band_index_state (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    outcome: list[object] = []

    def make() -> None:
        try:
            outcome.append(open_index(path).execute("PRAGMA journal_mode").fetchone()[0])
            close_indexes()
        except sqlite3.Error as error:
            outcome.append(error)

    thread = threading.Thread(target=make)
    thread.start()
    time.sleep(0.5)
    other.execute("COMMIT")
    other.close()
    thread.join()
    assert outcome == ["wal"]
