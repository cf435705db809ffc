"""The command line: user errors are one line, queries are read-only, formats are honoured."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from warehouse.migrate import apply_migrations

NEWSDESK = [sys.executable, "-m", "flows.cli"]
REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSDESK, *args], capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.fixture
def small_db(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as connection:
        apply_migrations(connection)
        connection.execute("INSERT INTO topics VALUES ('syria', 'Syria', 'country', [], 'v1')")
    return path


def test_bad_flag_is_one_line():
    result = run("ingest", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip() == "newsdesk: error: No such option: --bogus (see `newsdesk ingest --help`)"
    assert "Traceback" not in result.stderr


def test_bad_sources_file_is_one_line(tmp_path):
    sources = tmp_path / "s.yaml"
    sources.write_text("feeds:\n  - url: gopher://old.example/\n", encoding="utf-8")
    result = run("ingest", "--sources", str(sources), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"newsdesk: error: {sources}: feeds[0].url: must be an http(s) URL, not 'gopher://old.example/'"
    ]
    assert not (tmp_path / "w.duckdb").exists()


def test_sql_on_missing_warehouse(tmp_path):
    result = run("sql", "select 1", "--db", str(tmp_path / "absent.duckdb"))
    assert result.returncode == 2
    assert "no warehouse at" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_sql_formats(small_db):
    as_json = run("sql", "select topic_id, label from topics", "--db", str(small_db), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [
        {"topic_id": "syria", "label": "Syria"}
    ]
    as_csv = run("sql", "select topic_id, label from topics", "--db", str(small_db), "--format", "csv")
    assert as_csv.stdout.splitlines() == ["topic_id,label", "syria,Syria"]


def test_sql_is_read_only(small_db):
    result = run("sql", "delete from topics", "--db", str(small_db))
    assert result.returncode == 1
    assert "read-only" in result.stderr
    with duckdb.connect(str(small_db), read_only=True) as connection:
        assert connection.execute("select count(*) from topics").fetchone()[0] == 1


def test_sql_error_is_one_line(small_db):
    result = run("sql", "select * from no_such_table", "--db", str(small_db))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "no_such_table" in result.stderr


def test_every_command_is_in_the_readme():
    from flows.cli import app

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = [command.name or command.callback.__name__ for command in app.registered_commands]
    missing = [name for name in names if f"newsdesk {name}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"
