"""The DuckDB CLI from PyPI (duckdb-cli) opens both warehouse files and can use the offline fts extension."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.seeded import SEED_TITLE, copy_seeded_warehouse
from warehouse.fts import find_fts_extension
from warehouse.snapshot import snapshot_path_for


def find_duckdb_cli() -> Path:
    """The `duckdb` executable installed into the project's environment by the duckdb-cli package."""
    beside = Path(sys.executable).parent / "duckdb"
    found = beside if beside.exists() else shutil.which("duckdb")
    assert found, "the duckdb CLI is missing: `pip install duckdb-cli` (a project dependency)"
    return Path(found)


def run_cli(database: Path, *sql: str) -> list[str]:
    """Run statements with the DuckDB CLI, read-only and as headerless CSV; return the output lines."""
    commands = [arg for statement in sql for arg in ("-c", statement)]
    completed = subprocess.run(
        [str(find_duckdb_cli()), "-readonly", "-csv", "-noheader", str(database), *commands],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


@pytest.fixture(scope="module")
def seeded(prefect_harness, tmp_path_factory):
    """The seeded warehouse's live file; its snapshot sits beside it."""
    return copy_seeded_warehouse(tmp_path_factory, "duckdb-cli")


def test_cli_is_the_same_duckdb_version():
    completed = subprocess.run([str(find_duckdb_cli()), "-version"], capture_output=True, text=True, timeout=60,
                               check=True)
    assert completed.stdout.split()[0] == f"v{duckdb.__version__}"


@pytest.mark.parametrize("which", ["snapshot", "live"])
def test_cli_counts_what_python_counts(seeded, which):
    path = snapshot_path_for(seeded) if which == "snapshot" else seeded
    with duckdb.connect(str(path), read_only=True) as connection:
        expected = connection.execute("SELECT count(*) FROM canonical_articles").fetchone()[0]
        storage = connection.execute(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory'"
        ).fetchone()[0]
    assert expected > 0
    assert storage.startswith("v1.")
    assert run_cli(path, "SELECT count(*) FROM canonical_articles") == [str(expected)]


def test_cli_searches_the_snapshot_with_the_packaged_fts(seeded):
    extension = str(find_fts_extension()).replace("'", "''")
    lines = run_cli(
        snapshot_path_for(seeded),
        "SET autoinstall_known_extensions = false",
        f"LOAD '{extension}'",
        "SELECT c.title FROM article_search AS s JOIN canonical_articles AS c USING (article_id) "
        "WHERE fts_main_article_search.match_bm25(s.article_id, 'Nusra readies Aleppo offensive') IS NOT NULL "
        "ORDER BY fts_main_article_search.match_bm25(s.article_id, 'Nusra readies Aleppo offensive') DESC LIMIT 1",
    )
    assert lines == [f'"{SEED_TITLE}"']
