"""The read-only rule: reading commands change no database and write no file, whatever the query says."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tests.seeded import make_small_warehouse
from warehouse.db import open_warehouse
from warehouse.read_guard import ReadOnlyRefused, check_read_only, guarded_session


@pytest.fixture
def live(tmp_path, monkeypatch) -> Path:
    """A small warehouse with one open failure; the test runs in its folder."""
    path = make_small_warehouse(tmp_path / "news.duckdb")
    with open_warehouse(path) as connection:
        connection.execute(
            "INSERT INTO failures (run_id, stage, url, reason, failed_at) "
            "VALUES ('run-1', 'fetch', 'https://one.example/gone', 'http_404', TIMESTAMP '2016-05-02 10:00')"
        )
    monkeypatch.chdir(tmp_path)
    return path


def read_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of a database file, sorted, by table."""
    with open_warehouse(path, read_only=True) as connection:
        names = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'lake' ORDER BY ALL"
        ).fetchall()
        return {
            f"{schema}.{name}": sorted(
                map(repr, connection.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall())
            )
            for schema, name in names
        }


def list_files(folder: Path) -> dict[str, int]:
    """Every file under a folder with its size."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def writing_statements(folder: Path, live: Path) -> list[str]:
    """Statements that would change a database or write a file if they ran."""
    return [
        f"attach '{live}' as w (READ_ONLY false); delete from w.failures",
        f"attach '{live}' as w; delete from w.failures",
        f"copy (select 1) to '{folder}/x.csv'",
        "copy (select * from failures) to 'relative.csv'",
        f"explain analyze copy (select 1) to '{folder}/explained.csv'",
        f"export database '{folder}/dump'",
        f"select * from enable_logging(storage = 'file', storage_path = '{folder}/logs')",
        "with s as (select * from enable_profiling()) select 1 from s",
        "set lock_configuration = false",
        "set enable_external_access = false",
        "checkpoint",
        "call force_checkpoint()",
        "select * from query('select 1')",
        "delete from failures",
        "update articles set title = 'changed'",
        "create table notes as select 1 as n",
        "pragma enable_profiling",
        "select 1; insert into topics values ('x', 'X', 'theme', [], 'v')",
        "install httpfs",
        "load fts",
        # Lake connections load extension files unsigned (warehouse/lake.py): a LOAD of a file must not run.
        f"load '{folder}/unsigned.duckdb_extension'",
    ]


def test_sql_refuses_every_writing_statement_and_changes_nothing(live, capsys):
    folder = live.parent
    rows_before = read_rows(live)
    files_before = list_files(folder)
    for statement in writing_statements(folder, live):
        code = main(["sql", statement, "--db", str(live)])
        error = capsys.readouterr().err.strip()
        assert code == 1, statement
        assert error.startswith("newsdesk: error: ") and "\n" not in error, (statement, error)
        assert "refused" in error, (statement, error)
        assert read_rows(live) == rows_before, statement
        assert list_files(folder) == files_before, statement


def test_a_refusal_names_the_statement_and_points_to_export(live, capsys):
    assert main(["sql", "copy (select 1) to 'x.csv'", "--db", str(live)]) == 1
    error = capsys.readouterr().err.strip()
    assert error == (
        "newsdesk: error: COPY statements are refused: `newsdesk sql` is read-only; "
        "write files with `newsdesk export`"
    )


@pytest.mark.parametrize("query", ["", "   ", "/* only a comment */", ";"])
def test_empty_sql_is_one_line(live, capsys, query):
    assert main(["sql", query, "--db", str(live)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("newsdesk: error: the query is empty") and "\n" not in error


def test_reading_statements_still_run(live, capsys):
    (live.parent / "my-list.csv").write_text("source\none.example\n", encoding="utf-8")
    queries = {
        "select count(*) as n from failures": "1",
        "from articles select count(*) as n": "4",
        "describe articles": "article_id",
        "show tables": "articles",
        "summarize topics": "topic_id",
        "pragma table_info('articles')": "canonical_url",
        "explain select * from articles": "physical_plan",
        "explain analyze select count(*) from articles": "analyzed_plan",
        "select count(*) as n from read_csv('my-list.csv') join articles using (source)": "2",
        "select * from pragma_table_info('topics')": "taxonomy_version",
        "with t as (select 1 as one) select one from t union all select 2": "2",
    }
    for query, expected in queries.items():
        code = main(["sql", query, "--db", str(live), "--format", "csv"])
        captured = capsys.readouterr()
        assert code == 0, (query, captured.err)
        assert expected in captured.out, (query, captured.out)


def test_the_session_cannot_be_loosened(live):
    with guarded_session(live) as connection:
        with pytest.raises(duckdb.Error, match="locked"):
            connection.execute("SET lock_configuration = false")
        with pytest.raises(duckdb.Error, match="locked"):
            connection.execute("SET autoinstall_known_extensions = true")
        assert connection.execute("SELECT count(*) FROM articles").fetchone()[0] == 4


@pytest.mark.parametrize(
    "statement",
    [
        "explain analyze delete from failures",
        "explain (format json) copy (select 1) to 'x.csv'",
        "explain analyze select * from checkpoint()",
        "select (select count(*) from force_checkpoint())",
        "pivot topics on kind",
    ],
)
def test_what_an_explain_or_a_subquery_would_run_is_checked(statement):
    with pytest.raises(ReadOnlyRefused):
        check_read_only(statement)


def test_search_with_hostile_words_changes_nothing(live, capsys):
    folder = live.parent
    rows_before, files_before = read_rows(live), list_files(folder)
    for words in ["aleppo'); delete from failures; --", f"x'; copy articles to '{folder}/leak.csv'; --"]:
        for extra in ([], ["--topic", "syria'; drop table topics; --"]):
            main(["search", words, "--db", str(live), *extra])
            capsys.readouterr()
            assert read_rows(live) == rows_before
            assert list_files(folder) == files_before


def test_stats_and_report_change_nothing(live, capsys):
    folder = live.parent
    rows_before, files_before = read_rows(live), list_files(folder)
    assert main(["stats", "--db", str(live)]) == 0
    assert read_rows(live) == rows_before and list_files(folder) == files_before
    code = main(["report", "--db", str(live), "--topic", "x'; delete from failures; --", "--out", "r.html"])
    assert code == 2 and "unknown topic" in capsys.readouterr().err
    assert main(["report", "--db", str(live), "--out", "r.html"]) == 0
    written = set(list_files(folder)) - set(files_before)
    assert written == {"r.html", "r.png"}
    assert read_rows(live) == rows_before
