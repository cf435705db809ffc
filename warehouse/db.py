"""DuckDB connections: short-lived writers that wait politely for the file lock, and read-only readers."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

log = logging.getLogger("newsdesk.warehouse")

LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


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


@contextmanager
def write_session(path: str | Path, wait_s: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Hold the write lock for one unit of work and release it right after."""
    connection = open_connection(path, read_only=False, wait_s=wait_s)
    try:
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
