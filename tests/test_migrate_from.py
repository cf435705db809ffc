"""`newsdesk migrate --from`: a real single-file warehouse moved into a real lake, through the CLI entry."""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import zlib
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tests.single_file import FILE_BODY, INLINE_BODY, SEEN, build_single_file_warehouse
from tests.test_article_keys import UNKEYED
from warehouse.lake import current_snapshot, open_lake
from warehouse.location import catalog_path_for, lake_settings_for, pages_dir_for
from warehouse.page_files import read_page_bodies
from warehouse.search import search_articles

RENAMED = {"runs": "run_log"}  # old table -> the lake table it fills


def digest_tree(*paths: Path) -> dict[str, str]:
    """sha256 of every file at or under the paths."""
    found = {}
    for path in paths:
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            found[str(file)] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


@contextlib.contextmanager
def lake_and_old(db: Path, old: Path):
    """The lake read-only, with the old file attached READ_ONLY as `old`."""
    connection = open_lake(lake_settings_for(db), read_only=True)
    try:
        connection.execute(f"ATTACH '{old}' AS old (READ_ONLY)")
        yield connection
    finally:
        connection.close()


def old_tables(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The old file's tables, schema_version left out."""
    rows = connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'old' AND table_name <> 'schema_version'"
    ).fetchall()
    return sorted(row[0] for row in rows)


def same_rows(connection: duckdb.DuckDBPyConnection, table: str) -> tuple[list, list]:
    """Every row of an old table and of the lake table it filled, over the old table's columns, sorted."""
    columns = [row[0] for row in connection.execute(f"DESCRIBE old.{table}").fetchall()]
    listed = ", ".join(f'"{column}"' for column in columns)
    lake_table = RENAMED.get(table, table)
    old = connection.execute(f"SELECT {listed} FROM old.{table} ORDER BY ALL").fetchall()
    new = connection.execute(f"SELECT {listed} FROM lake.{lake_table} ORDER BY ALL").fetchall()
    return old, new


def run_migrate(capsys, *args: str) -> tuple[int, str, str]:
    """Run `newsdesk migrate ARGS` in this process; return its exit code, stdout and stderr."""
    code = main(["migrate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def old(tmp_path):
    """A schema-10 single-file warehouse at tmp_path/data/news.duckdb."""
    (tmp_path / "data").mkdir()
    return build_single_file_warehouse(tmp_path / "data" / "news.duckdb")


def test_move_copies_every_table_row_for_row_and_leaves_the_old_file_untouched(old, capsys):
    before = digest_tree(old.path, old.pages_dir)
    code, out, err = run_migrate(capsys, "--from", str(old.path))
    assert code == 0, err
    assert "moved 14 rows" in out and "next: `--db" in out and "DIFFERENT" not in out
    assert catalog_path_for(old.path).is_file()
    with lake_and_old(old.path, old.path) as connection:
        tables = old_tables(connection)
        wanted = {"articles", "entries", "feeds", "raw_pages", "article_topics", "runs", "failures"}
        assert wanted <= set(tables)
        for table in tables:
            old_rows, new_rows = same_rows(connection, table)
            assert new_rows == old_rows, table
        assert connection.execute("SELECT count(*) FROM lake.articles").fetchone()[0] == old.articles
    assert digest_tree(old.path, old.pages_dir) == before


def test_values_keep_their_types_timestamps_lists_json_and_blobs(old, capsys):
    assert run_migrate(capsys, "--from", str(old.path))[0] == 0
    with contextlib.closing(open_lake(lake_settings_for(old.path), read_only=True)) as lake:
        first_seen, categories, candidates = lake.execute(
            "SELECT first_seen_at, categories, date_candidates FROM articles WHERE article_id = 'a000001'"
        ).fetchone()
        assert first_seen == SEEN  # microseconds kept
        assert categories == ["world", "middle-east"]
        assert json.loads(candidates)[0]["source"] == "jsonld"
        evidence = lake.execute(
            "SELECT evidence FROM article_topics WHERE article_id = 'a000002'"
        ).fetchone()[0]
        assert json.loads(evidence) == {"forms": {"Syria": 2}, "first": 10}
        inline = lake.execute(
            "SELECT body_compressed, body_file FROM raw_pages WHERE url = ?", [old.inline_url]
        ).fetchone()
        assert zlib.decompress(inline[0]) == INLINE_BODY and inline[1] is None
        run = lake.execute("SELECT flow, status, counts FROM runs").fetchone()  # the view over run_log
        assert run[:2] == ("ingest", "completed") and json.loads(run[2]) == {"articles": 2}


def test_moved_articles_are_found_by_search(old, capsys):
    assert run_migrate(capsys, "--from", str(old.path))[0] == 0
    with contextlib.closing(open_lake(lake_settings_for(old.path), read_only=True)) as lake:
        hits = search_articles(lake, "unicode quotes story", limit=50)
        stored = lake.execute("SELECT count(*) FROM canonical_articles").fetchone()[0]
    assert stored > 0 and len(hits) == stored
    assert all(hit.has_all_words for hit in hits)


def test_page_bodies_are_read_from_the_lakes_pages_folder(old, capsys):
    assert run_migrate(capsys, "--from", str(old.path))[0] == 0
    lake_pages = pages_dir_for(old.path)
    assert lake_pages != old.pages_dir and (lake_pages / old.page_file).is_file()
    with contextlib.closing(open_lake(lake_settings_for(old.path), read_only=True)) as lake:
        name = lake.execute("SELECT body_file FROM raw_pages WHERE url = ?", [old.file_url]).fetchone()[0]
    assert name == old.page_file
    body, codec = read_page_bodies(lake_pages, [(old.file_url, name)])[old.file_url]
    assert codec == "zlib" and zlib.decompress(body) == FILE_BODY


def test_moving_the_same_file_again_changes_nothing(old, capsys):
    assert run_migrate(capsys, "--from", str(old.path))[0] == 0
    with contextlib.closing(open_lake(lake_settings_for(old.path), read_only=True)) as lake:
        snapshot = current_snapshot(lake)
    code, out, err = run_migrate(capsys, "--from", str(old.path), "--db", str(old.path))
    assert code == 0, err
    assert "moved into" in out and "already" in out and "nothing copied" in out
    with lake_and_old(old.path, old.path) as connection:
        assert current_snapshot(connection) == snapshot  # no commit at all
        assert connection.execute("SELECT count(*) FROM lake.moved_warehouses").fetchone()[0] == 1
        for table in old_tables(connection):
            old_rows, new_rows = same_rows(connection, table)
            assert new_rows == old_rows, table


def test_a_schema_9_file_is_upgraded_in_a_copy_and_moved(tmp_path, capsys):
    old = build_single_file_warehouse(tmp_path / "news.duckdb", version=9)
    before = digest_tree(old.path, old.pages_dir)
    code, out, err = run_migrate(capsys, "--from", str(old.path))
    assert code == 0, err
    assert "upgraded from schema 9" in out
    assert digest_tree(old.path, old.pages_dir) == before  # the user's file was not upgraded
    with contextlib.closing(duckdb.connect(str(old.path), read_only=True)) as connection:
        assert connection.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 9
    with lake_and_old(old.path, old.path) as connection:
        for table in old_tables(connection):
            old_rows, new_rows = same_rows(connection, table)
            assert new_rows == old_rows, table
        version = connection.execute("SELECT source_version FROM lake.moved_warehouses").fetchone()[0]
        assert version == 9


def test_a_lake_holding_rows_is_refused_unless_replace(tmp_path, capsys):
    first = build_single_file_warehouse(tmp_path / "one.duckdb")
    second = build_single_file_warehouse(tmp_path / "two.duckdb", extra_articles=5)
    target = str(tmp_path / "news.duckdb")
    assert run_migrate(capsys, "--from", str(first.path), "--db", target)[0] == 0
    code, out, err = run_migrate(capsys, "--from", str(second.path), "--db", target)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "already holds rows" in err and "--replace" in err
    code, out, err = run_migrate(capsys, "--from", str(second.path), "--db", target, "--replace")
    assert code == 0, err
    with lake_and_old(Path(target), second.path) as connection:
        for table in old_tables(connection):
            old_rows, new_rows = same_rows(connection, table)
            assert new_rows == old_rows, table
        assert connection.execute("SELECT count(*) FROM lake.moved_warehouses").fetchone()[0] == 2


def test_differing_counts_roll_everything_back(old, capsys, monkeypatch):
    import warehouse.move_in as move_in

    real = move_in.copy_statement
    monkeypatch.setattr(
        move_in,
        "copy_statement",
        lambda alias, table, copy: real(alias, table, copy) + (" WHERE false" if table == "failures" else ""),
    )
    code, out, err = run_migrate(capsys, "--from", str(old.path))
    assert code == 2 and err.strip().splitlines() == [
        "newsdesk: error: row counts differ between the old file and the lake: nothing was moved"
    ]
    assert "DIFFERENT" in out
    # A lake made by the failed move is removed again, page files and all: the old file still reads as unmoved.
    assert not catalog_path_for(old.path).exists() and not pages_dir_for(old.path).exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: None, "no warehouse file at"),
        (lambda path: path.write_text("not a database\n" * 10), "is not a DuckDB database"),
        (lambda path: duckdb.connect(str(path)).close(), "not a newsdesk warehouse"),
    ],
    ids=["missing", "not-duckdb", "not-newsdesk"],
)
def test_unusable_files_are_one_line_errors(tmp_path, capsys, make, message):
    path = tmp_path / "news.duckdb"
    make(path)
    code, out, err = run_migrate(capsys, "--from", str(path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert not catalog_path_for(path).exists()


def test_a_newer_schema_is_refused(old, capsys):
    with contextlib.closing(duckdb.connect(str(old.path))) as connection:
        connection.execute("INSERT INTO schema_version VALUES (11, 'future', now())")
    code, out, err = run_migrate(capsys, "--from", str(old.path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "schema version 11" in err
    assert not catalog_path_for(old.path).exists()


def test_a_file_in_use_names_the_process_holding_it(old, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(old.path)!r}); print('ready'); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        code, out, err = run_migrate(capsys, "--from", str(old.path))
    finally:
        holder.communicate("", timeout=30)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"is in use by process {holder.pid}" in err
    assert not catalog_path_for(old.path).exists()


def test_an_unwritable_lake_is_a_one_line_error(old, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the lake's folder would be")
    code, out, err = run_migrate(capsys, "--from", str(old.path), "--db", str(blocker / "news.duckdb"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the lake cannot be written" in err


def test_moved_articles_get_their_keys(old, capsys):
    # The load finds stored articles through article_keys (migration 0017): a moved article lacking its keys
    # would be loaded again.
    code, _, err = run_migrate(capsys, "--from", str(old.path))
    assert code == 0, err
    with lake_and_old(old.path, old.path) as connection:
        assert connection.execute("SELECT count(*) FROM lake.article_keys").fetchone()[0] == old.articles
        assert connection.execute(UNKEYED.replace("FROM article", "FROM lake.article")).fetchall() == []
