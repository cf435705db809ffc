"""DuckDB connections: short-lived writers that wait politely for the file lock, and read-only readers."""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

log = logging.getLogger("newsdesk.warehouse")

DEFAULT_MEMORY_LIMIT = "512MB"
LOAD_MEMORY_LIMIT = "64MB"
INDEX_MEMORY_LIMIT = "128MB"
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B)", re.IGNORECASE)
LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")

Connection = duckdb.DuckDBPyConnection  # so that flows name the type without importing duckdb
DatabaseError = duckdb.Error  # any error DuckDB raises


class WarehouseSettingError(ValueError):
    """A warehouse setting from the environment is not valid."""


class WarehouseBusy(RuntimeError):
    """The database file stayed locked by another process for longer than we were willing to wait."""


def is_lock_error(error: Exception) -> bool:
    """Tell whether a DuckDB error means another process holds the file lock."""
    message = str(error)
    return "Could not set lock" in message or "Conflicting lock" in message


def describe_lock_holder(error: Exception) -> str:
    """Name the process holding the lock, as far as DuckDB tells."""
    match = LOCK_HOLDER.search(str(error))
    return f"PID {match.group(1)}" if match else "another process"


def open_connection(path: str | Path, read_only: bool, wait_s: float = 120.0) -> duckdb.DuckDBPyConnection:
    """Open the database, retrying with capped exponential backoff while another process holds the lock."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise FileNotFoundError(f"no warehouse at {path} (run `newsdesk ingest` first)")
    deadline = time.monotonic() + wait_s
    delay_s = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if not is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{path} is locked by {describe_lock_holder(error)}; gave up after {wait_s:.0f} s"
                ) from error
            log.warning("%s is locked by %s; retrying in %.2f s", path, describe_lock_holder(error), delay_s)
            time.sleep(delay_s * (0.5 + random.random()))
            delay_s = min(delay_s * 2, 5.0)


def read_load_memory_limit() -> str:
    """DuckDB's memory limit for batch loads and retags: NEWSDESK_DUCKDB_MEMORY_LIMIT, else 64MB."""
    # Each load opens its own connection, so what DuckDB caches of the tables it reads (BASE_TABLE in
    # duckdb_memory()) is never read again; capped, it stops growing with the warehouse. A load of 500
    # articles over 19,500 stored ones: 143 MiB held until it closes at 256 MB, 93 at 64 MB, in the same
    # time; below ~64 MB its own new rows start to spill.
    return read_memory_limit(LOAD_MEMORY_LIMIT)


def read_index_memory_limit() -> str:
    """DuckDB's memory limit for the read snapshot's search index: NEWSDESK_DUCKDB_MEMORY_LIMIT, else
    128MB."""
    return read_memory_limit(INDEX_MEMORY_LIMIT)


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


def keep_row_groups(connection: duckdb.DuckDBPyConnection) -> None:
    """Stop this database instance's checkpoints from merging row groups (DuckDB's vacuum tasks)."""
    # Each batch load appends its own small row groups. DuckDB merges the trailing ones whenever they add up
    # to twice the one before them, so every doubling of the articles table rewrote all of its text in one
    # checkpoint: 290 MiB above the load's base at 15,800 articles, and up to 122,880 articles' worth later
    # on. Kept as loaded, a checkpoint writes only what changed. Row groups whose rows are all deleted are
    # still dropped; partly deleted ones keep their space.
    connection.execute("SET max_vacuum_tasks = 0")


@contextmanager
def write_session(
    path: str | Path, wait_s: float = 120.0, memory_limit: str | None = None, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Hold the write lock for one unit of work and release it right after; `memory_limit` beats the cap,
    `threads` DuckDB's one thread per core."""
    connection = open_connection(path, read_only=False, wait_s=wait_s)
    try:
        # DuckDB's default (80 % of RAM) lets a long run's cached blocks grow its process by gigabytes.
        limit_memory(connection, memory_limit)
        keep_row_groups(connection)
        if threads is not None:
            connection.execute(f"SET threads = {int(threads)}")
        yield connection
    finally:
        connection.close()


@contextmanager
def read_session(path: str | Path, wait_s: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a read-only session, closed on exit so that writers are not blocked."""
    connection = open_connection(path, read_only=True, wait_s=wait_s)
    try:
        yield connection
    finally:
        connection.close()


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
