"""entry_keys (migration 0018): the integer keys a batch's load looks its stored feed entries up by, on a real
lake in tmp_path. Every entry the load inserts must get its key: a missing key would let an entry in twice."""

from __future__ import annotations

import shutil

from tests.test_load import entry_row
from warehouse.db import open_warehouse
from warehouse.load import LoadBatch, insert_rows, load_batch
from warehouse.migrate import MIGRATIONS_DIR, apply_migrations

# Stored entries whose (feed_url, guid) has no key: what the load would let in again.
UNKEYED = """
SELECT e.feed_url, e.guid FROM entries AS e
WHERE md5_number_upper(e.feed_url || chr(31) || e.guid) NOT IN (SELECT entry_key FROM entry_keys)
ORDER BY ALL
"""


def load_entries(connection, run_id: str, *rows: dict) -> dict[str, int]:
    """Load the entry rows as one batch."""
    return load_batch(connection, LoadBatch(run_id, entries=list(rows)))


def stored_entries(connection) -> list[tuple]:
    return connection.execute("SELECT feed_url, guid, title FROM entries ORDER BY ALL").fetchall()


def test_loaded_entries_have_their_keys_and_are_stored_once(connection):
    first = load_entries(
        connection, "r1", entry_row("g1", "https://a.example/1"), entry_row("g2", "https://a.example/2")
    )
    again = load_entries(
        connection,
        "r2",
        entry_row("g1", "https://a.example/1", title="changed"),  # stored: kept as it was
        entry_row("g3", "https://a.example/3"),
        entry_row("g3", "https://a.example/3", title="twice in the batch"),  # the batch's first row wins
    )
    assert (first["entries"], again["entries"]) == (2, 1)
    assert stored_entries(connection) == [("f", "g1", "T"), ("f", "g2", "T"), ("f", "g3", "T")]
    assert connection.execute("SELECT count(*) FROM entry_keys").fetchone() == (3,)
    assert connection.execute(UNKEYED).fetchall() == []


def test_migration_18_keys_the_entries_stored_before_it(tmp_path):
    before = tmp_path / "migrations-17"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("00*.sql"):
        if int(path.name[:4]) < 18:
            shutil.copy(path, before / path.name)
    with open_warehouse(tmp_path / "w.duckdb") as connection:
        assert apply_migrations(connection, before) == 17
        insert_rows(connection, "entries", [entry_row("g1", "https://a.example/1")])
        assert apply_migrations(connection) == 18
        assert connection.execute(UNKEYED).fetchall() == []
        assert load_entries(connection, "r2", entry_row("g1", "https://a.example/1"))["entries"] == 0


def test_a_key_without_its_entry_stored_keeps_no_entry_out(connection):
    # Another entry's key that equals the new one's (a shared 64-bit key): the load compares the strings.
    connection.execute("INSERT INTO entry_keys VALUES (md5_number_upper('f' || chr(31) || 'g1'))")
    assert load_entries(connection, "r1", entry_row("g1", "https://a.example/1"))["entries"] == 1
    assert stored_entries(connection) == [("f", "g1", "T")]
