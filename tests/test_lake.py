"""The DuckLake behaviours the warehouse will rely on, each on a real lake in tmp_path (warehouse/lake.py)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from tests.conftest import REPO
from warehouse.lake import (
    LakeSettingError,
    LakeSettings,
    attach_statement,
    current_snapshot,
    is_retryable,
    maintain_lake,
    open_lake,
    use_sqlite_wal,
    write_with_retry,
)

CATALOG_FILES = {"sqlite": "news.lake.sqlite", "duckdb": "news.lake.duckdb"}
WORKER_TIMEOUT_S = 300


def local_settings(tmp_path, catalog: str = "sqlite", **options) -> LakeSettings:
    """Settings for a lake whose catalog file and data folder sit in tmp_path."""
    return LakeSettings(catalog=catalog, catalog_path=str(tmp_path / CATALOG_FILES[catalog]), **options)


def make_rows_table(settings: LakeSettings) -> None:
    """Create the table the workers append to: an id and the batch it came in."""
    with open_lake(settings) as connection:
        connection.execute("CREATE TABLE rows (id BIGINT, batch BIGINT)")


def start_worker(*args: str) -> subprocess.Popen:
    """Start tests/lake_worker.py as its own Python process."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.lake_worker", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_appender(settings: LakeSettings, first_batch: int, batches: int, rows: int) -> subprocess.Popen:
    """A writer process committing `batches` batches of `rows` rows to the rows table."""
    fields = json.dumps(dataclasses.asdict(settings))
    return start_worker("append", fields, "rows", str(first_batch), str(batches), str(rows))


def finish_worker(process: subprocess.Popen) -> dict:
    """Wait for a worker; its JSON report, or a failure naming its stderr."""
    stdout, stderr = process.communicate(timeout=WORKER_TIMEOUT_S)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("catalog", ["sqlite", "duckdb"])
def test_lake_attaches_offline_with_a_local_catalog(tmp_path, catalog):
    """With auto-install off, the shipped extensions attach the lake; rows written read back from Parquet."""
    settings = local_settings(tmp_path, catalog)
    with open_lake(settings) as connection:
        connection.execute("CREATE TABLE articles (article_id BIGINT, title VARCHAR)")
        connection.execute("INSERT INTO articles SELECT i, 'title ' || i FROM range(100) t(i)")
        assert connection.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone() == (
            False,
        )
        assert connection.execute("SELECT current_database()").fetchone() == ("lake",)
        assert connection.execute("SELECT current_setting('parquet_metadata_cache')").fetchone() == (True,)
        # the shipped files load without their 0.3 s signature check (turned on at connect only)
        assert connection.execute("SELECT current_setting('allow_unsigned_extensions')").fetchone() == (True,)
    with open_lake(settings, read_only=True) as reader:
        assert reader.execute("SELECT count(*), max(title) FROM articles").fetchone() == (100, "title 99")
    assert (tmp_path / CATALOG_FILES[catalog]).is_file()
    assert list((tmp_path / "news.lake.files").rglob("*.parquet"))


def test_the_wal_switch_waits_out_another_process_writing_a_new_catalog(tmp_path):
    """SQLite refuses a journal-mode switch during another connection's write at once, whatever its busy
    timeout (a full-suite run met it while four processes made one lake): the switch waits for the write."""
    import sqlite3
    import threading

    catalog_file = tmp_path / "catalog.sqlite"
    writer = sqlite3.connect(catalog_file, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE made_first (x INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO made_first VALUES (1)")
    committing = threading.Timer(0.5, writer.execute, ("COMMIT",))
    committing.start()
    try:
        use_sqlite_wal(catalog_file)
    finally:
        committing.join()
        writer.close()
    reader = sqlite3.connect(catalog_file)
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reader.execute("SELECT x FROM made_first").fetchall() == [(1,)]  # the write was not lost
    reader.close()


def test_attach_statement_names_catalog_data_path_and_snapshot(tmp_path):
    """The ATTACH statement quotes the paths and pins a snapshot read-only; a data folder beside the catalog
    follows it when the lake is moved."""
    settings = LakeSettings(catalog_path=str(tmp_path / "it's.sqlite"))
    statement = attach_statement(settings, snapshot_version=3)
    assert statement == (
        f"ATTACH 'ducklake:sqlite:{tmp_path}/it''s.sqlite' AS lake "
        f"(DATA_PATH '{tmp_path}/it''s.files', OVERRIDE_DATA_PATH true, SNAPSHOT_VERSION 3, READ_ONLY true)"
    )
    shared = LakeSettings(catalog_path=str(tmp_path / "c.sqlite"), data_path="/shared/lake")
    assert "OVERRIDE_DATA_PATH" not in attach_statement(shared)


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"catalog": "mysql"}, "mysql"), ({"catalog": "postgres", "catalog_path": "dbname=x"}, "data_path")],
)
def test_invalid_lake_settings_fail_naming_the_setting(fields, named):
    """An unknown catalog, or a postgres catalog without a shared data path, is refused by name."""
    with pytest.raises(LakeSettingError, match=named):
        LakeSettings(**fields)


def test_two_writer_processes_append_every_row_once(tmp_path):
    """Two processes appending to one table at once through a SQLite catalog both commit everything."""
    settings = local_settings(tmp_path)
    make_rows_table(settings)
    writers = [start_appender(settings, first, batches=15, rows=40) for first in (0, 1000)]
    assert [finish_worker(writer) for writer in writers] == [{"committed": 15}, {"committed": 15}]
    with open_lake(settings, read_only=True) as reader:
        ids = [row[0] for row in reader.execute("SELECT id FROM rows ORDER BY id").fetchall()]
    expected = [
        batch * 40 + i for first in (0, 1000) for batch in range(first, first + 15) for i in range(40)
    ]
    assert ids == sorted(expected)


def test_reader_process_sees_only_whole_committed_batches_while_a_writer_appends(tmp_path):
    """A read-only reader process never errors and never sees half of a batch's transaction."""
    settings = local_settings(tmp_path)
    make_rows_table(settings)
    stop_file = tmp_path / "stop"
    reader = start_worker("read", json.dumps(dataclasses.asdict(settings)), "rows", "40", str(stop_file))
    writer = start_appender(settings, first_batch=0, batches=20, rows=40)
    finish_worker(writer)
    stop_file.touch()
    report = finish_worker(reader)
    assert report["errors"] == []
    assert report["partial"] == []
    assert report["batches"] == list(range(20))  # its last read, after the writer finished, saw every batch


def test_delete_racing_an_insert_on_one_table_conflicts_without_retry(tmp_path):
    """A DELETE committing after another transaction INSERTed into the same table fails: no retry saves it."""
    settings = local_settings(tmp_path, "duckdb", max_retry_count=100)
    make_rows_table(settings)
    with open_lake(settings) as connection:
        connection.execute("INSERT INTO lake.rows SELECT i, 0 FROM range(100) t(i)")
        deleter, inserter = connection.cursor(), connection.cursor()  # two transactions on one lake
        deleter.execute("BEGIN")
        deleter.execute("DELETE FROM lake.rows WHERE id < 10")
        inserter.execute("INSERT INTO lake.rows SELECT i, 1 FROM range(100, 200) t(i)")
        with pytest.raises(duckdb.TransactionException, match="another transaction has inserted into it"):
            deleter.execute("COMMIT")
        assert connection.execute("SELECT count(*), min(id) FROM lake.rows").fetchone() == (200, 0)


def test_inserts_racing_on_one_table_both_commit(tmp_path):
    """Two overlapping INSERT transactions on one table both commit: DuckLake retries a conflicting append."""
    settings = local_settings(tmp_path, "duckdb")
    make_rows_table(settings)
    with open_lake(settings) as connection:
        first, second = connection.cursor(), connection.cursor()
        first.execute("BEGIN")
        first.execute("INSERT INTO lake.rows SELECT i, 0 FROM range(100) t(i)")
        second.execute("INSERT INTO lake.rows SELECT i, 1 FROM range(100, 150) t(i)")
        first.execute("COMMIT")
        counts = connection.execute(
            "SELECT batch, count(*) FROM lake.rows GROUP BY batch ORDER BY batch"
        ).fetchall()
        assert counts == [(0, 100), (1, 50)]


def test_sqlite_catalog_refuses_a_stale_commit_and_write_with_retry_runs_it_again(tmp_path):
    """With a SQLite catalog a transaction that another commit overtook fails with "database is locked";
    write_with_retry runs it again on the new state, so neither write is lost."""
    settings = local_settings(tmp_path)
    make_rows_table(settings)
    with open_lake(settings) as deleter, open_lake(settings) as inserter:
        deleter.execute("INSERT INTO rows SELECT i, 0 FROM range(100) t(i)")
        deleter.execute("BEGIN")
        deleter.execute("DELETE FROM rows WHERE id < 10")
        inserter.execute("INSERT INTO rows SELECT i, 1 FROM range(100, 200) t(i)")
        with pytest.raises(duckdb.TransactionException, match="database is locked"):
            deleter.execute("COMMIT")
        tries = []

        def delete_first_ten(connection) -> None:
            tries.append(len(tries))
            connection.execute("DELETE FROM rows WHERE id < 10")
            if len(tries) == 1:  # overtaken once more, by a commit from another connection
                inserter.execute("INSERT INTO rows SELECT i, 2 FROM range(200, 250) t(i)")

        write_with_retry(deleter, delete_first_ten)
        assert tries == [0, 1]
        assert deleter.execute("SELECT count(*), min(id), max(id) FROM rows").fetchone() == (240, 10, 249)


def test_time_travel_reads_the_table_as_of_a_committed_snapshot(tmp_path):
    """The snapshot id read after a commit pins the table: by AT (VERSION) and by ATTACH (SNAPSHOT_VERSION)."""
    settings = local_settings(tmp_path)
    make_rows_table(settings)
    with open_lake(settings) as connection:
        connection.execute("INSERT INTO rows SELECT i, 0 FROM range(30) t(i)")
        first_run = current_snapshot(connection)
        connection.execute("INSERT INTO rows SELECT i, 1 FROM range(30, 80) t(i)")
        assert current_snapshot(connection) == first_run + 1
        assert connection.execute("SELECT count(*) FROM rows AT (VERSION => ?)", [first_run]).fetchone() == (
            30,
        )
        assert connection.execute("SELECT count(*) FROM rows").fetchone() == (80,)
        listed = connection.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()
        assert listed == (first_run + 1,)
    with open_lake(settings, snapshot_version=first_run) as pinned:
        assert pinned.execute("SELECT count(*), max(batch) FROM rows").fetchone() == (30, 0)
        with pytest.raises(duckdb.Error, match="read-only"):
            pinned.execute("INSERT INTO rows VALUES (1, 9)")


def test_maintenance_flushes_merges_expires_and_deletes_old_files(tmp_path):
    """One pass leaves one data file per table, the same rows, and no snapshot older than its cut-off."""
    settings = local_settings(tmp_path)
    make_rows_table(settings)
    with open_lake(settings) as connection:
        for batch in range(4):  # four files of 50 rows, then 5 rows kept inline in the catalog
            rows = pa.table(
                {
                    "id": pa.array(range(batch * 50, batch * 50 + 50), pa.int64()),
                    "batch": pa.array([batch] * 50, pa.int64()),
                }
            )
            connection.register("batch_rows", rows)
            connection.execute("INSERT INTO rows SELECT * FROM batch_rows")
            connection.unregister("batch_rows")
        connection.execute("INSERT INTO rows SELECT i, 4 FROM range(200, 205) t(i)")
        before = current_snapshot(connection)
        upkeep = maintain_lake(connection, expire_before=datetime.now(UTC))
        assert upkeep.rows_flushed == 5
        assert upkeep.files_merged == 5
        assert upkeep.snapshots_expired >= before  # every snapshot but the latest
        assert upkeep.files_deleted == 5
        files = connection.execute("SELECT data_file FROM ducklake_list_files('lake', 'rows')").fetchall()
        assert len(files) == 1
        assert connection.execute("SELECT count(*), count(DISTINCT id) FROM rows").fetchone() == (205, 205)
        with pytest.raises(duckdb.Error, match="No snapshot found"):
            connection.execute("SELECT count(*) FROM rows AT (VERSION => ?)", [before - 1]).fetchall()
    assert len(list((tmp_path / "news.lake.files").rglob("*.parquet"))) == 1


@pytest.mark.slow
def test_two_writer_processes_append_every_row_once_with_a_postgres_catalog(tmp_path, postgres_uri):
    """The same lake code with a PostgreSQL catalog: two writer processes both commit every row, once."""
    settings = LakeSettings(catalog="postgres", catalog_path=postgres_uri, data_path=str(tmp_path / "files"))
    make_rows_table(settings)
    writers = [start_appender(settings, first, batches=10, rows=40) for first in (0, 1000)]
    assert [finish_worker(writer) for writer in writers] == [{"committed": 10}, {"committed": 10}]
    with open_lake(settings, read_only=True) as reader:
        assert reader.execute("SELECT count(*), count(DISTINCT id) FROM rows").fetchone() == (800, 800)
        assert reader.execute("SELECT count(DISTINCT batch) FROM rows").fetchone() == (20,)


@pytest.mark.parametrize(
    ("message", "retryable"),
    [
        ("Catalog Error: Table with name ducklake_inlined_data_13_1 does not exist!", True),
        ("Catalog Error: Table with name articles does not exist!", False),
        ("TransactionContext Error: Failed to commit: database is locked", True),
        ("Constraint Error: Duplicate key", False),
    ],
)
def test_only_transient_catalog_errors_are_retried(message, retryable):
    """An inlined-data table another process's commit made but this transaction cannot see yet is run again;
    a missing table of the warehouse is a real error, raised at once."""
    assert is_retryable(duckdb.CatalogException(message)) is retryable


def test_write_with_retry_runs_a_transaction_again_after_an_unseen_inlined_table(tmp_path):
    """The transaction that met the error is rolled back whole; the next try commits once."""
    settings = local_settings(tmp_path)
    make_rows_table(settings)
    with open_lake(settings) as connection:
        tries = []

        def insert_rows(c) -> None:
            tries.append(len(tries))
            c.execute("INSERT INTO rows SELECT i, 0 FROM range(5) t(i)")
            if len(tries) == 1:
                raise duckdb.CatalogException("Table with name ducklake_inlined_data_1_1 does not exist!")

        write_with_retry(connection, insert_rows)
        assert tries == [0, 1]
        assert connection.execute("SELECT count(*) FROM rows").fetchone()[0] == 5
