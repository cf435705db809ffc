"""`newsdesk shell`: the PyPI duckdb program on the lake, attached read-only, extensions from their files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main
from flows.cli.lake import find_duckdb_program
from warehouse.db import close_shared, write_session

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def lake(tmp_path) -> Path:
    """A lake with a small `articles` table of three rows."""
    db = tmp_path / "news.duckdb"
    with write_session(db) as connection:
        connection.execute("CREATE TABLE articles (article_id VARCHAR, title VARCHAR)")
        connection.execute(
            "INSERT INTO articles VALUES ('a1', 'Budget passes'), ('a2', 'Storm'), ('a3', 'Vote')"
        )
    close_shared()
    yield db
    close_shared()


def offline_env(tmp_path: Path) -> dict[str, str]:
    """The environment with an empty home: no ~/.duckdb extension cache or ~/.duckdbrc to lean on."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "HOME": str(home)}


def run_newsdesk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the newsdesk command line in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_args_after_the_separator_go_to_the_duckdb_program(lake, tmp_path) -> None:
    sql = "SELECT article_id, title FROM articles ORDER BY article_id"
    done = run_newsdesk(tmp_path, "shell", "--db", str(lake), "--", "-csv", "-c", sql)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["article_id,title", "a1,Budget passes", "a2,Storm", "a3,Vote"]
    assert not (tmp_path / "home" / ".duckdb").exists()  # nothing installed or downloaded


def test_the_lake_is_attached_read_only_and_in_use(lake, tmp_path) -> None:
    done = run_newsdesk(
        tmp_path, "shell", "--db", str(lake), "--", "-c", "INSERT INTO articles VALUES ('a4', 'x')"
    )
    assert done.returncode != 0
    assert "read-only" in done.stderr
    check = run_newsdesk(
        tmp_path, "shell", "--db", str(lake), "--", "-csv", "-noheader", "-c", "SELECT current_database()"
    )
    assert check.stdout.split() == ["lake"]


def test_the_printed_sql_sets_up_the_plain_duckdb_program(lake, tmp_path) -> None:
    printed = run_newsdesk(tmp_path, "shell", "--db", str(lake), "--print-sql")
    assert printed.returncode == 0, printed.stderr
    init = printed.stdout
    assert "SET autoinstall_known_extensions = false;" in init and "READ_ONLY true" in init
    assert str(lake.parent / "news.lake.sqlite") in init  # absolute: it works from any folder
    done = subprocess.run(
        [
            str(find_duckdb_program()),
            "-cmd",
            init,
            "-csv",
            "-noheader",
            "-c",
            "SELECT count(*) FROM articles",
        ],
        cwd=tmp_path,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout.split()) == (0, ["3"]), done.stderr


def test_no_lake_is_a_one_line_error(tmp_path, capsys) -> None:
    assert main(["shell", "--db", str(tmp_path / "none.duckdb"), "--", "-c", "SELECT 1"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"newsdesk: error: no warehouse at {tmp_path / 'none.lake.sqlite'} (run `newsdesk ingest` first)"
    )
