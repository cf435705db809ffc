"""DuckDB's full-text search extension, loaded offline from the duckdb-extension-fts package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

FTS_PACKAGE = "duckdb_extension_fts"
SEARCH_TABLE = "article_search"
SEARCH_SCHEMA = f"fts_main_{SEARCH_TABLE}"


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


def build_search_index(connection: duckdb.DuckDBPyConnection) -> int:
    """(Re)build the BM25 index over title and text of the canonical articles; return how many."""
    load_fts(connection)
    connection.execute(
        f"CREATE OR REPLACE TABLE {SEARCH_TABLE} AS "
        "SELECT article_id, coalesce(title, '') AS title, text FROM canonical_articles"
    )
    connection.execute(
        f"PRAGMA create_fts_index('{SEARCH_TABLE}', 'article_id', 'title', 'text', "
        "stemmer = 'porter', stopwords = 'english', strip_accents = 1, lower = 1, overwrite = 1)"
    )
    return connection.execute(f"SELECT count(*) FROM {SEARCH_TABLE}").fetchone()[0]


def has_search_index(connection: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether the database holds the search index (snapshots do, the live file does not)."""
    return bool(
        connection.execute(
            "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [SEARCH_SCHEMA]
        ).fetchone()[0]
    )
