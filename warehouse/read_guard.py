"""The read-only rule of the reading commands: statements checked from DuckDB's own parse, sessions locked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from warehouse.as_of import resolve_snapshot
from warehouse.db import read_session
from warehouse.postings import has_search_postings, install_search_macros

READING_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
# Table functions that change state or write files although they sit in a SELECT's FROM clause, and `query`
# / `json_execute_serialized_sql`, which run SQL text or plans that this check cannot see.
WRITING_TABLE_FUNCTIONS = frozenset(
    {
        "checkpoint",
        "force_checkpoint",
        "enable_logging",
        "disable_logging",
        "truncate_duckdb_logs",
        "enable_profiling",
        "disable_profiling",
        "query",
        "json_execute_serialized_sql",
    }
)
EXPORT_HINT = "`newsdesk sql` is read-only; write files with `newsdesk export`"


class ReadOnlyRefused(ValueError):
    """A statement given to a reading command could change a database or write a file."""


def describe_type(statement_type: duckdb.StatementType) -> str:
    """A statement type as the user wrote it: COPY, ATTACH, CREATE, …"""
    return statement_type.name.replace("_", " ")


def parse_statements(sql: str) -> list[Any]:
    """DuckDB's own split and parse of `sql`; an empty text is refused."""
    statements = duckdb.extract_statements(sql)
    if not statements:
        raise ReadOnlyRefused("the query is empty: give one SELECT (or EXPLAIN, DESCRIBE, SHOW)")
    return statements


def find_explained(statement: Any) -> list[Any]:
    """The statement(s) an EXPLAIN shows (EXPLAIN ANALYZE runs them): the first token suffix that parses."""
    text = statement.query
    for position, _kind in duckdb.tokenize(text)[1:]:
        try:
            inner = duckdb.extract_statements(text[position:])
        except duckdb.Error:
            continue
        if inner:
            return inner
    raise ReadOnlyRefused("cannot tell what this EXPLAIN runs; explain a SELECT")


def list_table_functions(tree: Any) -> Iterator[str]:
    """Names of the table functions anywhere in a serialized SELECT (subqueries and CTEs included)."""
    if isinstance(tree, dict):
        if tree.get("type") == "TABLE_FUNCTION":
            yield str(tree.get("function", {}).get("function_name", "")).lower()
        for value in tree.values():
            yield from list_table_functions(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from list_table_functions(value)


def check_select(statement: Any) -> None:
    """Refuse a SELECT that calls a table function with side effects, or one DuckDB cannot serialize."""
    with duckdb.connect() as scratch:
        serialized = scratch.execute("SELECT json_serialize_sql(?)", [statement.query]).fetchone()[0]
    tree = json.loads(serialized)
    if tree.get("error"):
        reason = tree.get("error_message")
        raise ReadOnlyRefused(f"cannot check this statement ({reason}); write it as a SELECT")
    writing = sorted(set(list_table_functions(tree)) & WRITING_TABLE_FUNCTIONS)
    if writing:
        reason = "it changes state or runs unchecked SQL"
        raise ReadOnlyRefused(f"{writing[0]}() is refused ({reason}): {EXPORT_HINT}")


def check_read_only(sql: str) -> None:
    """Pass only SELECTs (DESCRIBE, SHOW, SUMMARIZE, FROM-first, read pragmas) and EXPLAINs of them."""
    pending = list(parse_statements(sql))
    while pending:
        statement = pending.pop(0)
        if statement.type not in READING_TYPES:
            raise ReadOnlyRefused(f"{describe_type(statement.type)} statements are refused: {EXPORT_HINT}")
        if statement.type == duckdb.StatementType.EXPLAIN:
            pending.extend(find_explained(statement))
        else:
            check_select(statement)


def lock_session(connection: duckdb.DuckDBPyConnection) -> None:
    """No extension downloads, then freeze every setting so that no query can loosen the session."""
    connection.execute("SET autoinstall_known_extensions = false")
    connection.execute("SET allow_community_extensions = false")
    connection.execute("SET lock_configuration = true")


@contextmanager
def guarded_session(path: str | Path, as_of: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only session whose configuration is locked: what every reading command opens. `as_of` (a run
    id or a time) reads the lake as it was then."""
    version = None
    if as_of is not None:
        with read_session(path, shared=False) as connection:
            version = resolve_snapshot(connection, as_of)
    with read_session(path, snapshot_version=version, shared=False) as connection:
        if has_search_postings(connection):
            install_search_macros(connection)  # search_ranked(...) in the analyst's SQL
        lock_session(connection)
        yield connection
