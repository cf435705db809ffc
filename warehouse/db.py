"""Sessions on the warehouse (a DuckLake, see warehouse/location.py): writers and read-only readers."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from warehouse.lake import DEFAULT_ALIAS, LakeSettings, open_lake, write_with_retry
from warehouse.location import check_not_single_file, describe_warehouse, lake_settings_for

log = logging.getLogger("newsdesk.warehouse")

DEFAULT_MEMORY_LIMIT = "512MB"
LOAD_MEMORY_LIMIT = "64MB"
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B)", re.IGNORECASE)
MAX_SHARED = 4  # warehouses a thread keeps a connection to
# Per thread: cursors of one DuckDB instance used from two threads at once met "Resource deadlock avoided" in
# the lake's catalog (a batch planned in one thread while another loads).
THREAD_STATE = threading.local()

T = TypeVar("T")
TAKE_TICKET = "UPDATE write_ticket SET writes = writes + 1"
Connection = duckdb.DuckDBPyConnection  # so that flows name the type without importing duckdb
DatabaseError = duckdb.Error  # any error DuckDB raises


class WarehouseSettingError(ValueError):
    """A warehouse setting from the environment is not valid."""


class WarehouseBusy(RuntimeError):
    """The warehouse stayed busy for longer than we were willing to wait."""


def open_warehouse(
    db: str | Path, read_only: bool = False, snapshot_version: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A new connection with the warehouse's lake attached (as of a snapshot, when given) and in use."""
    check_not_single_file(db)
    settings = lake_settings_for(db)
    missing = FileNotFoundError(f"no warehouse at {describe_warehouse(db)} (run `newsdesk ingest` first)")
    if (read_only or snapshot_version is not None) and not lake_exists(settings):
        raise missing
    try:
        return open_lake(settings, read_only=read_only, snapshot_version=snapshot_version)
    except duckdb.InvalidInputException as error:  # a catalog file that no writer has made a lake in yet
        if "does not exist" in str(error):
            raise missing from error
        raise


def lake_exists(settings: LakeSettings) -> bool:
    """Tell whether a lake's catalog is there to read (a PostgreSQL one is taken to be)."""
    return settings.catalog == "postgres" or Path(settings.catalog_path).is_file()


def shared_connections() -> dict[tuple[str, bool], duckdb.DuckDBPyConnection]:
    """This thread's open connections, by (warehouse, read-only)."""
    if not hasattr(THREAD_STATE, "connections"):
        THREAD_STATE.connections = {}
    return THREAD_STATE.connections


def shared_instance(db: str | Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """This thread's connection to a warehouse, opened once: loading the lake's extensions costs ~0.1 s."""
    connections = shared_connections()
    key = (str(db), read_only)
    connection = connections.get(key)
    if connection is None:
        if len(connections) >= MAX_SHARED:
            connections.pop(next(iter(connections))).close()
        connection = connections[key] = open_warehouse(db, read_only=read_only)
    return connection


def close_shared() -> None:
    """Close every connection this thread keeps open."""
    connections = shared_connections()
    while connections:
        connections.popitem()[1].close()


def open_sibling_cursor(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Another cursor (its own transaction) on a session's connection, with the same database in use."""
    catalog = connection.execute("SELECT current_database()").fetchone()[0]
    cursor = connection.cursor()
    cursor.execute(f'USE "{catalog}"')
    return cursor


def open_cursor(db: str | Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A cursor (own transactions and temporary tables) on this thread's connection, with the lake in use."""
    cursor = shared_instance(db, read_only).cursor()
    cursor.execute(f"USE {DEFAULT_ALIAS}")
    return cursor


def read_load_memory_limit() -> str:
    """DuckDB's memory limit for batch loads and retags: NEWSDESK_DUCKDB_MEMORY_LIMIT, else 64MB."""
    # Each load opens its own connection, so what DuckDB caches of the tables it reads (BASE_TABLE in
    # duckdb_memory()) is never read again; capped, it stops growing with the warehouse. A load of 500
    # articles over 19,500 stored ones: 143 MiB held until it closes at 256 MB, 93 at 64 MB, in the same
    # time; below ~64 MB its own new rows start to spill.
    return read_memory_limit(LOAD_MEMORY_LIMIT)


def read_memory_limit(default: str = DEFAULT_MEMORY_LIMIT) -> str:
    """DuckDB's memory limit: NEWSDESK_DUCKDB_MEMORY_LIMIT, else `default` (512MB for pipeline writers)."""
    return os.environ.get("NEWSDESK_DUCKDB_MEMORY_LIMIT", "").strip() or default


def limit_memory(connection: duckdb.DuckDBPyConnection, limit: str | None = None) -> None:
    """Cap the database instance's memory; bigger joins and sorts spill to a temporary file instead."""
    limit = limit or read_memory_limit()
    if not MEMORY_SIZE.fullmatch(limit):
        raise WarehouseSettingError(
            f"NEWSDESK_DUCKDB_MEMORY_LIMIT must be a size such as 512MB or 2GB, not {limit!r}"
        )
    connection.execute(f"SET memory_limit = '{limit}'")


@contextmanager
def write_session(
    path: str | Path, wait_s: float = 120.0, memory_limit: str | None = None, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writing session on the warehouse for one unit of work; `memory_limit` beats the cap, `threads`
    DuckDB's one thread per core. Several sessions and processes may write at once (see docs/lake.md)."""
    connection = open_cursor(path, read_only=False)
    try:
        # DuckDB's default (80 % of RAM) lets a long run's cached blocks grow its process by gigabytes.
        limit_memory(connection, memory_limit)
        # The connection is shared: each session sets (or resets) what an earlier one may have changed.
        connection.execute(f"SET threads = {int(threads)}" if threads is not None else "RESET threads")
        yield connection
    finally:
        connection.close()


@contextmanager
def read_session(
    path: str | Path, wait_s: float = 120.0, snapshot_version: int | None = None, shared: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only session seeing every committed write (or the lake as of `snapshot_version`); `shared=False`
    gives it a connection of its own, closed on exit."""
    if shared and snapshot_version is None:
        connection = open_cursor(path, read_only=True)
    else:
        connection = open_warehouse(path, read_only=True, snapshot_version=snapshot_version)
    try:
        yield connection
    finally:
        connection.close()


def run_transaction(
    connection: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T]
) -> T:
    """Run work(connection) in one transaction, again from the start while another writer's commit conflicts
    with it (so the work must derive everything it writes from what it reads inside)."""

    def ticketed(connection: duckdb.DuckDBPyConnection) -> T:
        connection.execute(TAKE_TICKET)  # overlapping writers conflict: see migrations/0014_write_ticket.sql
        return work(connection)

    return write_with_retry(connection, ticketed)


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: committed on success, rolled back on any error."""
    connection.begin()
    try:
        yield connection
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
