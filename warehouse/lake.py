"""The warehouse as a DuckLake: one setting picks the catalog; DuckDB attaches it offline."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import random
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from warehouse.sql import read_sql

T = TypeVar("T")
log = logging.getLogger("newsdesk.warehouse")

CATALOGS = ("sqlite", "duckdb", "postgres")
DEFAULT_CATALOG_PATH = "data/news.lake.sqlite"
DEFAULT_ALIAS = "lake"
# Appends from several writers conflict on the catalog's snapshot id and are retried; ten tries (DuckLake's
# default) run out when a few writers commit every few milliseconds.
DEFAULT_MAX_RETRY_COUNT = 100
# Turned off so that a missing extension fails at once instead of trying the network.
OFFLINE_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
# The extension files load from their installed PyPI packages, beside duckdb's own library, which is loaded
# unchecked too; checking their signatures costs 0.3 s per new connection (ducklake and sqlite_scanner, 70 MB
# hashed). DuckDB turns it on at connect only; the reading commands refuse LOAD and lock their sessions.
SHIPPED_EXTENSIONS_CONFIG = {"allow_unsigned_extensions": True}
# extension name -> the PyPI package that ships its file (duckdb-extension-<name with dashes>)
EXTENSION_PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres": "duckdb_extension_postgres",
}
# SQLite answers a writer whose read snapshot went stale with "database is locked" at once (no busy wait can
# help), and DuckLake does not retry it, nor a delete or update that meets another transaction's insert on the
# same table ("Transaction conflict"): the whole transaction has to run again, on the new state. Rarely, while
# other processes make a new lake at once, a SQLite-catalog transaction names an inlined-data table that
# its read of the catalog file cannot see yet (seen once in CI: 4 processes migrating a new lake); a new
# transaction sees it.
RETRYABLE_MESSAGES = ("database is locked", "Transaction conflict")
UNSEEN_INLINED_TABLE = re.compile(r"ducklake_inlined_data_\d+_\d+ does not exist")
WRITE_ATTEMPTS = 30
CREATE_ATTEMPTS = 10
SQLITE_WAIT_S = 30.0
CREATE_RACE_MESSAGES = ("duplicate key value", "already exists", "database is locked")
CATALOG_EXTENSIONS = {"sqlite": "sqlite_scanner", "duckdb": None, "postgres": "postgres"}


class LakeSettingError(ValueError):
    """A lake setting is not valid."""


class LakeExtensionMissing(RuntimeError):
    """An extension the lake needs is not installed for this DuckDB version."""


@dataclass(frozen=True)
class LakeSettings:
    """Where the lake's catalog and data files live, and how a connection treats it."""

    catalog: str = "sqlite"  # sqlite | duckdb (a file each) | postgres (a libpq connection string)
    catalog_path: str = DEFAULT_CATALOG_PATH  # the file, or for postgres the connection string
    data_path: str = ""  # the Parquet files' folder; default: <catalog file without suffix>.files/ beside it
    alias: str = DEFAULT_ALIAS
    max_retry_count: int = DEFAULT_MAX_RETRY_COUNT
    options: dict[str, str] = field(default_factory=dict)  # more ATTACH options, e.g. DATA_INLINING_ROW_LIMIT

    def __post_init__(self) -> None:
        if self.catalog not in CATALOGS:
            raise LakeSettingError(f"lake catalog {self.catalog!r} is not one of {', '.join(CATALOGS)}")
        if not self.catalog_path:
            raise LakeSettingError("lake catalog_path is empty")
        if self.catalog == "postgres" and not self.data_path:
            raise LakeSettingError("a postgres lake catalog needs data_path (a folder every writer reaches)")
        if not self.alias.isidentifier():
            raise LakeSettingError(f"lake alias {self.alias!r} is not a plain SQL name")
        if self.max_retry_count < 0:
            raise LakeSettingError(f"lake max_retry_count {self.max_retry_count} is negative")


def resolve_data_path(settings: LakeSettings) -> str:
    """The folder of the lake's data files: the setting, else a folder beside the catalog file."""
    if settings.data_path:
        return settings.data_path
    catalog_file = Path(settings.catalog_path)
    return str(catalog_file.with_name(f"{catalog_file.stem}.files"))


def quote_literal(text: str) -> str:
    """A SQL string literal (ATTACH and LOAD take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def lake_uri(settings: LakeSettings) -> str:
    """The `ducklake:` URI ATTACH takes for the settings' catalog."""
    if settings.catalog == "duckdb":
        return f"ducklake:{settings.catalog_path}"
    return f"ducklake:{settings.catalog}:{settings.catalog_path}"


def attach_options(
    settings: LakeSettings, read_only: bool = False, snapshot_version: int | None = None
) -> dict[str, str]:
    """The ATTACH options (name -> SQL value) for the settings; a snapshot version implies read-only."""
    options = {"DATA_PATH": quote_literal(resolve_data_path(settings))}
    if settings.catalog != "postgres" and not settings.data_path:
        # The data folder sits beside the catalog file: a lake copied or moved as a folder keeps working.
        options["OVERRIDE_DATA_PATH"] = "true"
    options.update(settings.options)
    if snapshot_version is not None:
        options["SNAPSHOT_VERSION"] = str(int(snapshot_version))
        read_only = True
    if read_only:
        options["READ_ONLY"] = "true"
    return options


def attach_statement(
    settings: LakeSettings, read_only: bool = False, snapshot_version: int | None = None
) -> str:
    """The whole `ATTACH 'ducklake:…' AS alias (DATA_PATH …, …)` statement."""
    options = attach_options(settings, read_only, snapshot_version)
    listed = ", ".join(f"{name} {value}" for name, value in options.items())
    return f"ATTACH {quote_literal(lake_uri(settings))} AS {settings.alias} ({listed})"


def find_extension_file(name: str) -> Path:
    """The extension file that the duckdb-extension-<name> package ships for the running DuckDB."""
    package = EXTENSION_PACKAGES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LakeExtensionMissing(f"the {name} extension is missing: install {package.replace('_', '-')}")
    path = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    path = path / f"{name}.duckdb_extension"
    if not path.is_file():
        raise LakeExtensionMissing(f"{package} ships no extension for DuckDB {duckdb.__version__}: pin it")
    return path


def load_extension(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load one shipped extension from its local file, never from the network."""
    if name == "postgres":
        # The file is named postgres but its entry point is postgres_scanner's, so LOAD by path fails;
        # INSTALL from the file stores it under its real name in the extension directory, then LOAD finds it.
        connection.execute(f"INSTALL {quote_literal(str(find_extension_file(name)))}")
        connection.execute("LOAD postgres_scanner")
        return
    connection.execute(f"LOAD {quote_literal(str(find_extension_file(name)))}")


def make_local_folders(settings: LakeSettings) -> None:
    """Create the catalog file's folder and a local data folder (a URL such as s3://… is left alone)."""
    if settings.catalog != "postgres":
        Path(settings.catalog_path).parent.mkdir(parents=True, exist_ok=True)
    if settings.catalog == "sqlite":
        use_sqlite_wal(Path(settings.catalog_path))
    data_path = resolve_data_path(settings)
    if "://" not in data_path:
        Path(data_path).mkdir(parents=True, exist_ok=True)


def use_sqlite_wal(catalog_file: Path) -> None:
    """Put the SQLite catalog in WAL mode (kept in the file): readers and writers do not block each other.

    In SQLite's default rollback journal, a connection whose commit failed kept the file locked for others.
    """
    # Another process may be making or writing the catalog at the same moment. SQLite answers a journal-mode
    # switch meeting its write "database is locked" at once, without its busy timeout: wait it out here.
    deadline = time.monotonic() + SQLITE_WAIT_S
    while True:
        try:
            with contextlib.closing(sqlite3.connect(catalog_file, timeout=SQLITE_WAIT_S)) as catalog:
                if catalog.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    catalog.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "database is locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def connect_offline() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never downloads or auto-loads an extension, and loads the shipped
    extension files without checking their signatures."""
    return duckdb.connect(config={**OFFLINE_CONFIG, **SHIPPED_EXTENSIONS_CONFIG})


def open_lake(
    settings: LakeSettings, read_only: bool = False, snapshot_version: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached (as of a snapshot, when given) and in use."""
    if not read_only and snapshot_version is None:
        make_local_folders(settings)
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        connection = connect_offline()
        try:
            load_extension(connection, "ducklake")
            if CATALOG_EXTENSIONS[settings.catalog]:
                load_extension(connection, CATALOG_EXTENSIONS[settings.catalog])
            connection.execute(attach_statement(settings, read_only, snapshot_version))
            connection.execute(f"USE {settings.alias}")
            connection.execute(f"SET GLOBAL ducklake_max_retry_count = {int(settings.max_retry_count)}")
            # Parquet footers kept between statements (DuckLake never rewrites a data file; DuckDB checks the
            # file's modification time): a search at 1M articles reads ~60 files' footers, ~10 % of its time.
            connection.execute("SET GLOBAL parquet_metadata_cache = true")
            return connection
        except duckdb.Error as error:
            connection.close()
            # Two processes making a new lake at once: the loser's catalog tables clash; the lake exists now.
            if attempt == CREATE_ATTEMPTS or not any(text in str(error) for text in CREATE_RACE_MESSAGES):
                raise
            time.sleep(0.1 * attempt)
        except Exception:
            connection.close()
            raise
    raise AssertionError("unreachable")


def current_snapshot(connection: duckdb.DuckDBPyConnection, alias: str = DEFAULT_ALIAS) -> int:
    """The id of the lake's latest committed snapshot (what a run records after its commit)."""
    return connection.execute(read_sql("lake_current_snapshot"), {"lake": alias}).fetchone()[0]


def current_catalog(connection: duckdb.DuckDBPyConnection) -> str:
    """The name of the database in use (the lake's alias in a warehouse session)."""
    return connection.execute("SELECT current_database()").fetchone()[0]


def is_retryable(error: Exception) -> bool:
    """Tell whether a failed lake transaction may simply be run again."""
    if not isinstance(error, duckdb.Error):
        return False
    message = str(error)
    return any(text in message for text in RETRYABLE_MESSAGES) or bool(UNSEEN_INLINED_TABLE.search(message))


def write_with_retry(
    connection: duckdb.DuckDBPyConnection,
    write: Callable[[duckdb.DuckDBPyConnection], T],
    attempts: int = WRITE_ATTEMPTS,
    first_wait_s: float = 0.02,
) -> T:
    """Run write(connection) in one transaction; again, after a growing pause, while the catalog is busy."""
    wait_s = first_wait_s
    for attempt in range(1, attempts + 1):
        connection.execute("BEGIN")
        try:
            result = write(connection)
            connection.execute("COMMIT")
            return result
        except duckdb.Error as error:
            roll_back(connection)
            if attempt == attempts or not is_retryable(error):
                raise
            log.info("another writer committed first: running the transaction again (try %d)", attempt + 1)
        except BaseException:
            roll_back(connection)
            raise
        time.sleep(wait_s * (0.5 + random.random()))
        wait_s = min(wait_s * 2, 1.0)
    raise AssertionError("unreachable")


def roll_back(connection: duckdb.DuckDBPyConnection) -> None:
    """End the connection's transaction, if a failed COMMIT left one open."""
    with contextlib.suppress(duckdb.TransactionException):  # the failed COMMIT already ended it
        connection.execute("ROLLBACK")


@dataclass(frozen=True)
class LakeFiles:
    """The lake's Parquet files: those the latest snapshot reads, and all the catalog still keeps."""

    live_files: int
    stored_files: int
    stored_bytes: int


@dataclass(frozen=True)
class LakeUpkeep:
    """What one maintenance pass did."""

    rows_flushed: int
    files_merged: int
    snapshots_expired: int
    files_deleted: int
    orphans_deleted: int = 0


def count_lake_files(connection: duckdb.DuckDBPyConnection, alias: str = DEFAULT_ALIAS) -> LakeFiles:
    """Count the lake's data and deletion files, live and stored, and the stored ones' bytes."""
    live, stored, size = connection.execute(read_sql("lake_count_files"), {"lake": alias}).fetchone()
    return LakeFiles(live_files=int(live), stored_files=int(stored), stored_bytes=int(size))


def run_upkeep_step(connection: duckdb.DuckDBPyConnection, name: str, params: dict) -> list[tuple]:
    """One maintenance statement in its own transaction, run again while the catalog is busy (each is safe
    to repeat: what it already did is not done twice)."""
    return write_with_retry(connection, lambda session: session.execute(read_sql(name), params).fetchall())


def maintain_lake(
    connection: duckdb.DuckDBPyConnection,
    expire_before: datetime,
    alias: str = DEFAULT_ALIAS,
    orphans_before: datetime | None = None,
) -> LakeUpkeep:
    """Flush inlined rows, merge small files, expire snapshots older than a time, delete unneeded files, and
    with `orphans_before` the files no snapshot knows that are older than it."""
    lake = {"lake": alias}
    flushed = run_upkeep_step(connection, "lake_flush_inlined_data", lake)
    merged = run_upkeep_step(connection, "lake_merge_adjacent_files", lake)
    expired = run_upkeep_step(connection, "lake_expire_snapshots", {**lake, "older_than": expire_before})
    deleted = run_upkeep_step(connection, "lake_cleanup_old_files", lake)
    orphans: list[tuple] = []
    if orphans_before is not None:
        orphans = run_upkeep_step(
            connection, "lake_delete_orphaned_files", {**lake, "older_than": orphans_before}
        )
    return LakeUpkeep(
        rows_flushed=sum(int(row[2]) for row in flushed),
        files_merged=sum(int(row[2]) for row in merged),
        snapshots_expired=len(expired),
        files_deleted=len(deleted),
        orphans_deleted=len(orphans),
    )
