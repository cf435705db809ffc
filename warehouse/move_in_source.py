"""The single-file warehouse a move reads: checked, its schema version read READ_ONLY, digested, and upgraded
in a temporary copy when older than version 10 (never in place)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.lake import connect_offline, quote_literal
from warehouse.location import is_single_file_warehouse
from warehouse.migrate import SINGLE_FILE_MIGRATIONS_DIR, apply_migrations, read_schema_version

SOURCE_ALIAS = "moving_from"
SINGLE_FILE_VERSION = 10  # the last schema of the single-file warehouse
LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")
DIGEST_CHUNK = 1 << 20


class MoveInError(RuntimeError):
    """A warehouse cannot be moved into the lake; the message is one line for the user."""


@dataclass(frozen=True)
class SourceFile:
    """The single-file warehouse being moved, as found before the move."""

    path: Path
    version: int
    digest: str
    size: int
    mtime: datetime


def check_source_file(path: Path) -> None:
    """Refuse in one line a --from path that is missing or not a DuckDB database."""
    if not path.exists():
        raise MoveInError(f"no warehouse file at {path}")
    if not path.is_file():
        raise MoveInError(f"{path} is not a file")
    if not is_single_file_warehouse(path):
        raise MoveInError(f"{path} is not a DuckDB database (not a single-file newsdesk warehouse)")


def describe_attach_error(path: Path, error: duckdb.Error) -> str:
    """An error attaching the old file as one line: who holds its lock, or what is wrong with it."""
    message = str(error)
    if "Could not set lock" in message or "Conflicting lock" in message:
        match = LOCK_HOLDER.search(message)
        holder = f"process {match.group(1)}" if match else "another process"
        return f"{path} is in use by {holder} (an old newsdesk ingest or serve?): stop it and run again"
    if "not a valid DuckDB database" in message:
        return f"{path} is not a DuckDB database (not a single-file newsdesk warehouse)"
    first = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    return f"{path} cannot be read: {first}"


def attach_source(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Attach the old file READ_ONLY as `moving_from`; a lock or a broken file becomes a MoveInError."""
    try:
        connection.execute(f"ATTACH {quote_literal(str(path))} AS {SOURCE_ALIAS} (READ_ONLY)")
    except duckdb.Error as error:
        raise MoveInError(describe_attach_error(path, error)) from error


def read_source_version(path: Path) -> int:
    """The old file's schema version, read through a read-only attach; refuse any but 1-10."""
    with contextlib.closing(connect_offline()) as connection:
        attach_source(connection, path)
        connection.execute(f"USE {SOURCE_ALIAS}")
        version = read_schema_version(connection)
    if version == 0:
        raise MoveInError(f"{path} is a DuckDB database but not a newsdesk warehouse (no schema_version)")
    if version > SINGLE_FILE_VERSION:
        raise MoveInError(
            f"{path} has schema version {version}, newer than any single-file warehouse "
            f"({SINGLE_FILE_VERSION}): this newsdesk cannot move it"
        )
    return version


def digest_file(path: Path) -> str:
    """The sha256 of a database file, and of its write-ahead log beside it when there is one."""
    digest = hashlib.sha256()
    for part in (path, path.with_name(path.name + ".wal")):
        if part.is_file():
            with open(part, "rb") as handle:
                while chunk := handle.read(DIGEST_CHUNK):
                    digest.update(chunk)
    return digest.hexdigest()


def inspect_source(path: Path) -> SourceFile:
    """Check the old file and read what the move records of it."""
    check_source_file(path)
    version = read_source_version(path)
    stat = path.stat()
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
    return SourceFile(Path(os.path.abspath(path)), version, digest_file(path), stat.st_size, mtime)


@contextlib.contextmanager
def readable_copy(source: SourceFile) -> Iterator[Path]:
    """The file to copy rows from: the old file itself at version 10, else an upgraded temporary copy."""
    if source.version == SINGLE_FILE_VERSION:
        yield source.path
        return
    with tempfile.TemporaryDirectory(prefix="newsdesk-move-") as folder:
        copy = Path(folder) / source.path.name
        shutil.copyfile(source.path, copy)
        wal = source.path.with_name(source.path.name + ".wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
        with contextlib.closing(duckdb.connect(str(copy))) as connection:
            apply_migrations(connection, SINGLE_FILE_MIGRATIONS_DIR)
        yield copy
