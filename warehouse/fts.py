"""DuckDB's full-text search extension, loaded offline from the duckdb-extension-fts package."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import duckdb

from warehouse.sql import read_sql

FTS_PACKAGE = "duckdb_extension_fts"
SEARCH_TABLE = "article_search"
SEARCH_SCHEMA = f"fts_main_{SEARCH_TABLE}"
STATE_TABLE = "article_search_state"  # what each indexed article's title and text were (a fingerprint)
INFO_TABLE = "article_search_info"  # the options the index was built with
INDEX_ARGUMENTS = (
    f"'{SEARCH_TABLE}', 'article_id', 'title', 'text', "
    "stemmer = 'porter', stopwords = 'english', strip_accents = 1, lower = 1"
)
SEARCH_ROWS = (  # the rows of SEARCH_TABLE
    "SELECT article_id, coalesce(title, '') AS title, coalesce(text, '') AS text FROM canonical_articles"
)
log = logging.getLogger("newsdesk.warehouse")


class FtsUnavailable(RuntimeError):
    """The fts extension for this DuckDB version is not installed locally."""


def find_fts_extension() -> Path:
    """Return the fts extension file that duckdb-extension-fts ships for the running DuckDB version."""
    spec = importlib.util.find_spec(FTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FtsUnavailable("the fts extension is missing: install the duckdb-extension-fts package")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    version = f"v{duckdb.__version__}"
    path = package_dir / "extensions" / version / "fts.duckdb_extension"
    if not path.is_file():
        shipped = sorted(p.name for p in (package_dir / "extensions").glob("v*"))
        raise FtsUnavailable(
            f"duckdb-extension-fts ships no fts extension for DuckDB {version} (it has {shipped}); "
            "pin duckdb-extension-fts to the duckdb version"
        )
    return path


def load_fts(connection: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension from its local file, never from the network."""
    loaded = connection.execute(
        "SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'fts' AND loaded"
    ).fetchone()[0]
    if loaded:
        return
    # LOAD takes no parameters; the path comes from our own installed package, quoted as a SQL literal.
    literal = str(find_fts_extension()).replace("'", "''")
    connection.execute(f"LOAD '{literal}'")


def build_search_index(connection: duckdb.DuckDBPyConnection, previous: Path | None = None) -> int:
    """(Re)build the BM25 index over title and text of the canonical articles; return how many. From the
    `previous` snapshot's index, when it has one of the same options, only new or changed articles are
    tokenised: the others keep their postings."""
    load_fts(connection)
    connection.execute(f"CREATE OR REPLACE TABLE {SEARCH_TABLE} AS {SEARCH_ROWS} LIMIT 0")
    attached = previous is not None and attach_previous_index(connection, previous)
    if attached:  # the index's schema and macros, made over no rows; the merge fills its tables
        connection.execute(f"PRAGMA create_fts_index({INDEX_ARGUMENTS}, overwrite = 1)")
    connection.execute(f"INSERT INTO {SEARCH_TABLE} {SEARCH_ROWS}")
    connection.execute(
        f"CREATE OR REPLACE TABLE {STATE_TABLE} AS "
        f"SELECT article_id, md5(title || chr(0) || text) AS fingerprint FROM {SEARCH_TABLE}"
    )
    merged = False
    if attached:
        try:
            connection.execute(read_sql("merge_search_index"))
            merged = True
        except duckdb.Error as error:
            log.warning("the previous snapshot's index was not reused (%s): indexing every article", error)
        finally:
            connection.execute("DETACH previous")
    if not merged:
        connection.execute(f"PRAGMA create_fts_index({INDEX_ARGUMENTS}, overwrite = 1)")
    connection.execute(f"CREATE OR REPLACE TABLE {INFO_TABLE} AS SELECT ? AS options", [index_options()])
    return connection.execute(f"SELECT count(*) FROM {SEARCH_TABLE}").fetchone()[0]


def index_options() -> str:
    """What decides the index's terms: its arguments and the DuckDB (and so fts and stemmer) version."""
    return f"{INDEX_ARGUMENTS}|duckdb {duckdb.__version__}"


def attach_previous_index(connection: duckdb.DuckDBPyConnection, previous: Path) -> bool:
    """Attach `previous` read-only as `previous` if it holds a search index of these options; else False."""
    if not previous.is_file():
        return False
    literal = str(previous).replace("'", "''")
    try:
        connection.execute(f"ATTACH '{literal}' AS previous (READ_ONLY)")
    except duckdb.Error as error:
        log.warning("the previous snapshot cannot be read (%s): indexing every article", error)
        return False
    if read_index_options(connection, "previous") == index_options():
        return True
    connection.execute("DETACH previous")
    return False


def read_index_options(connection: duckdb.DuckDBPyConnection, database: str) -> str | None:
    """The options a database's search index was built with; None when it has none (or predates them)."""
    present = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name IN (?, ?)",
        [database, INFO_TABLE, STATE_TABLE],
    ).fetchone()[0]
    if present < 2:
        return None
    row = connection.execute(f"SELECT options FROM {database}.{INFO_TABLE}").fetchone()
    return row[0] if row else None


def has_search_index(connection: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether the database holds the search index (snapshots do, the live file does not)."""
    return bool(
        connection.execute(
            "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [SEARCH_SCHEMA]
        ).fetchone()[0]
    )
