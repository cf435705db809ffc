"""The command line: user errors are one line, queries are read-only, formats are honoured."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.db import open_warehouse
from warehouse.migrate import apply_migrations

NEWSDESK = [sys.executable, "-m", "flows.cli"]
REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSDESK, *args], capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.fixture
def small_db(tmp_path):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as connection:
        apply_migrations(connection)
        connection.execute("INSERT INTO topics VALUES ('syria', 'Syria', 'country', [], 'v1')")
    return path


def test_bad_flag_is_one_line():
    result = run("ingest", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip() == "newsdesk: error: No such option: --bogus (see `newsdesk ingest --help`)"
    assert "Traceback" not in result.stderr


def test_bare_command_prints_its_help():
    result = run()
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: newsdesk [OPTIONS] COMMAND [ARGS]...")
    assert "ingest" in result.stdout and result.stderr == ""


def test_missing_argument_is_one_line():
    result = run("sql")
    assert result.returncode == 2
    assert result.stderr.strip() == "newsdesk: error: Missing argument 'query'. (see `newsdesk sql --help`)"


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
    with open_warehouse(small_db, read_only=True) as connection:
        assert connection.execute("select count(*) from topics").fetchone()[0] == 1


def test_sql_error_is_one_line(small_db):
    result = run("sql", "select * from no_such_table", "--db", str(small_db))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "no_such_table" in result.stderr


def test_every_command_is_in_the_readme():
    from flows.cli import app

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = [command.name or command.callback.__name__ for command in app.registered_commands if not command.hidden]
    missing = [name for name in names if f"newsdesk {name}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


# --db paths that cannot be a database file fail at once, in one line naming the path (no Prefect start).
DB_COMMANDS = [
    ["ingest"],
    ["sql", "select 1"],
    ["stats"],
    ["snapshot"],
    ["search", "aleppo"],
    ["export", "--to", "exports"],
    ["report"],
    ["feeds"],
    ["backfill", "--start", "2016-05-01", "--end", "2016-05-02"],
    ["replay"],
    ["retag"],
    ["maintain"],
    ["shell"],
]


@pytest.mark.parametrize("command", DB_COMMANDS, ids=lambda c: c[0])
def test_db_under_a_regular_file_is_one_line_before_anything_starts(tmp_path, capsys, command):
    from flows.cli import main

    blocker = tmp_path / "data"
    blocker.write_text("not a folder", encoding="utf-8")
    for db in (blocker / "news.duckdb", blocker / "sub" / "news.duckdb"):
        assert main([*command, "--db", str(db)]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("newsdesk: error: ") and "\n" not in error, error
        assert f"{blocker} is a file, not a folder" in error and str(db) in error
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize("command", DB_COMMANDS, ids=lambda c: c[0])
def test_db_that_is_a_folder_is_one_line(tmp_path, capsys, command):
    from flows.cli import main

    assert main([*command, "--db", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and f"{tmp_path} is a folder, not a warehouse file" in error


def test_ingest_db_under_a_file_fails_fast_without_tracebacks(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("x", encoding="utf-8")
    result = run("ingest", "--db", str(blocker / "news.duckdb"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert str(blocker) in result.stderr


def test_an_os_error_is_one_line_naming_its_path(tmp_path, capsys):
    from flows.cli import main
    from tests.seeded import make_small_warehouse

    db = make_small_warehouse(tmp_path / "news.duckdb")
    blocker = tmp_path / "reports"
    blocker.write_text("x", encoding="utf-8")
    assert main(["report", "--out", str(blocker / "r.html"), "--db", str(db)]) == 1
    assert capsys.readouterr().err.strip() == f"newsdesk: error: {blocker}: File exists"
    assert main(["report", "--out", str(blocker / "a" / "r.html"), "--db", str(db)]) == 1
    assert capsys.readouterr().err.strip() == f"newsdesk: error: {blocker / 'a'}: Not a directory"


# Output: flags look like flags, piped tables keep whole values, stats does not lead with continents.
def test_help_shows_flags_without_a_value(capsys):
    from flows.cli import app, main

    flags = {"ingest": "--force-poll", "backfill": "--all-hosts", "retag": "--force"}
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert main([name, "--help"]) == 0
        text = capsys.readouterr().out
        assert "<bool>" not in text, name
        flag = flags.get(name)
        if flag:
            line = next(line for line in text.splitlines() if line.strip().startswith(flag + " "))
            assert line.split()[1][0].isupper(), line  # the help text follows the flag, no value between


def test_piped_table_prints_whole_values(small_db):
    long_id = "d4be1a24ffa7e" + "0123456789abcdef" * 8
    words = " ".join(["word"] * 40)
    result = run("sql", f"select '{long_id}' as article_id, '{words}' as text", "--db", str(small_db))
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    rows = [line for line in result.stdout.splitlines() if long_id in line]
    assert len(rows) == 1 and words in rows[0]  # whole values, one line per row: not cut, not wrapped


def test_stats_ranks_by_kind_with_regions_last(tmp_path, capsys):
    from flows.cli import main
    from tests.seeded import make_small_warehouse

    db = make_small_warehouse(tmp_path / "news.duckdb")
    with open_warehouse(db) as connection:  # Asia on 3 stories, Syria on 2, Aleppo on 1 (a2 repeats a1)
        connection.execute("INSERT INTO topics VALUES ('asia', 'Asia', 'region', [], 't1')")
        connection.execute(
            "INSERT INTO article_topics (article_id, topic_id, score, evidence, taxonomy_version) "
            "VALUES ('a1', 'asia', 1, '{}', 't1'), ('a3', 'asia', 1, '{}', 't1'), ('a4', 'asia', 1, '{}', 't1')"
        )
    assert main(["stats", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    ranked = [(line.split()[1], line.split()[3], line.split()[7]) for line in lines
              if any(f" {name} " in line for name in ("asia", "syria", "aleppo"))]
    assert ranked == [("city", "aleppo", "1"), ("country", "syria", "2"), ("region", "asia", "3")]
