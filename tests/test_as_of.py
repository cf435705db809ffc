"""`newsdesk sql --as-of`: the warehouse as a run left it, or as it was at a time, from the lake's snapshots."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from flows.cli import main
from tests.seeded import make_small_warehouse
from warehouse.db import run_transaction, write_session
from warehouse.runs import begin_run, finish_run


def add_article(db, article_id: str) -> None:
    """One more article, in a commit of its own."""
    with write_session(db) as connection:
        connection.execute(
            "INSERT INTO articles (article_id, canonical_url, url, final_url, source, text, word_count, "
            "content_hash, first_seen_at, updated_at, extractor_version, cleaner_version, run_id) "
            "SELECT $id, $url, $url, $url, 'three.example', 'text', 1, $id, now(), now(), 't', 't', 'r'",
            {"id": article_id, "url": f"https://three.example/{article_id}"},
        )


def record_run(db, run_id: str, finish: bool = True) -> None:
    """A run's rows as the flows write them: started, then (unless told) finished with its snapshot."""
    with write_session(db) as connection:
        run_transaction(connection, lambda c: begin_run(c, run_id, "ingest", {}))
        if finish:
            run_transaction(connection, lambda c: finish_run(c, run_id, "completed", {}, {}))


def count_articles(capsys, db, *extra: str) -> int:
    """`newsdesk sql` counting articles, as JSON, with extra flags."""
    assert (
        main(["sql", "SELECT count(*) AS n FROM articles", "--db", str(db), "--format", "json", *extra]) == 0
    )
    return json.loads(capsys.readouterr().out.strip())["n"]


@pytest.fixture
def grown(tmp_path):
    """A small warehouse (4 articles), a run recorded, then a fifth article and a second run, then a sixth."""
    db = make_small_warehouse(tmp_path / "news.duckdb")
    record_run(db, "run-one")
    time.sleep(0.05)
    moment = datetime.now(UTC)
    time.sleep(0.05)
    add_article(db, "a5")
    record_run(db, "run-two")
    add_article(db, "a6")
    record_run(db, "run-three", finish=False)
    return db, moment


def test_as_of_a_run_reads_the_warehouse_as_that_run_left_it(grown, capsys):
    db, _ = grown
    assert count_articles(capsys, db) == 6
    assert count_articles(capsys, db, "--as-of", "run-one") == 4
    assert count_articles(capsys, db, "--as-of", "run-two") == 5


def test_as_of_a_time_reads_the_last_snapshot_before_it(grown, capsys):
    db, moment = grown
    assert count_articles(capsys, db, "--as-of", moment.isoformat()) == 4
    assert count_articles(capsys, db, "--as-of", datetime.now(UTC).isoformat()) == 6


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("run-three", "run run-three has not finished"),
        ("not-a-run", "--as-of wants a run id"),
        ("1990-01-01", "keeps no snapshot from 1990-01-01"),
    ],
)
def test_a_bad_as_of_is_a_one_line_error(grown, capsys, value, message):
    db, _ = grown
    assert main(["sql", "SELECT 1", "--db", str(db), "--as-of", value]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_live_and_snapshot_are_kept_for_old_scripts_with_a_note(tmp_path, capsys):
    db = make_small_warehouse(tmp_path / "news.duckdb")
    assert main(["sql", "SELECT count(*) FROM articles", "--db", str(db), "--live", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "4" and "--live is no longer needed" in captured.err
    assert main(["snapshot", "--db", str(db)]) == 0
    assert "no longer needed" in capsys.readouterr().err
