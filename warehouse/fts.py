"""DuckDB's full-text search extension (for its Porter `stem`), loaded offline from the duckdb-extension-fts
package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

FTS_PACKAGE = "duckdb_extension_fts"


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
