"""Past one machine: a Prefect server on PostgreSQL, two process workers on two shards, one lake, and
`newsdesk cluster status` reading them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cluster import (
    SHARD_DEPLOYMENTS,
    PostgresUnavailable,
    create_run,
    free_port,
    running_cluster,
    serving_hosts,
    start_postgres,
    wait_final,
)
from bench.site import build_site, write_sources
from flows.cli import main
from tests.test_lake_concurrency import NO_CORPUS, READER
from transforms.shards import shard_of
from warehouse.db import open_warehouse

REPO = Path(__file__).resolve().parent.parent
PAGES_PER_HOST, ITEMS_PER_FEED = 12, 4  # three feeds of four pages on each host


def hosts_on_both_shards(count: int) -> list[str]:
    """`count` loopback addresses (not 127.0.0.1) that fall on both shards of two."""
    hosts = [f"127.0.0.{n}" for n in range(2, 40)]
    first = [host for host in hosts if shard_of(f"http://{host}/", 2) == 1][: count // 2]
    second = [host for host in hosts if shard_of(f"http://{host}/", 2) == 2][: count - len(first)]
    return first + second


@pytest.fixture
def postgres(tmp_path):
    """PostgreSQL with a `prefect` database (pg_trgm) and a `lake` one; skips with the reason if it can't start."""
    try:
        server = start_postgres(tmp_path / "pgdata")
    except PostgresUnavailable as error:
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.server.cleanup()


def lake_rows(db: str) -> dict[str, list[tuple]]:
    """Entries' links, articles and runs as the lake holds them."""
    with open_warehouse(db, read_only=True) as connection:
        return {
            "links": connection.execute("SELECT link FROM entries").fetchall(),
            "articles": connection.execute("SELECT article_id, url FROM articles").fetchall(),
            "runs": connection.execute(
                "SELECT params->>'$.shard', status FROM runs WHERE flow = 'ingest' ORDER BY 1"
            ).fetchall(),
            "pending": connection.execute("SELECT count(*) FROM pending_entries").fetchall(),
        }


def create_lake(env: dict[str, str], db: str) -> None:
    """Make the lake once as docs/deploy.md says (`newsdesk maintain` migrates an empty catalog)."""
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "maintain", "--db", db],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def cluster_status(env: dict[str, str], db: str) -> dict:
    """`newsdesk cluster status --format json` in a process of its own, as an operator would run it."""
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "cluster", "status", "--db", db, "--format", "json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_two_workers_run_one_ingest_per_shard_into_one_lake_while_a_reader_queries(
    postgres, tmp_path, monkeypatch
):
    db = postgres.uri("lake")
    data_path = {"NEWSDESK_LAKE_DATA_PATH": str(tmp_path / "shared" / "lake.files")}
    monkeypatch.setenv("NEWSDESK_LAKE_DATA_PATH", data_path["NEWSDESK_LAKE_DATA_PATH"])
    with (
        serving_hosts(hosts_on_both_shards(4)) as (servers, _),
        running_cluster(postgres, tmp_path, workers=2, extra_env=data_path) as cluster,
    ):
        feeds, pages = [], set()
        for server in servers:
            site = build_site(PAGES_PER_HOST, server.origin, items_per_feed=ITEMS_PER_FEED, corpus=NO_CORPUS)
            server.publish(site)
            feeds += [server.origin + path for path in site.feed_paths]
            pages |= {server.origin + site.page_path(index) for index in range(PAGES_PER_HOST)}
        sources = write_sources(tmp_path / "sources.yaml", "", feeds, batch_size=10)
        create_lake(cluster.env, db)  # once, before the workers' first runs (docs/deploy.md)
        stop = tmp_path / "stop-reading"
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, db, str(stop)],
            cwd=REPO,
            env=cluster.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        runs = [
            create_run(cluster.api, name, {"sources": str(sources), "db": db}) for name in SHARD_DEPLOYMENTS
        ]
        states = wait_final(cluster.api, runs, timeout_s=600)
        stop.touch()
        out, err = reader.communicate(timeout=120)
        assert [state["type"] for state in states.values()] == ["COMPLETED", "COMPLETED"], (
            tmp_path / "worker-1.log"
        ).read_text(errors="replace")[-3000:]
        bad = create_run(
            cluster.api, SHARD_DEPLOYMENTS[0], {"sources": str(sources), "db": db, "shard": "3/2"}
        )
        refused = wait_final(cluster.api, [bad], timeout_s=300)[bad]
        status = cluster_status(cluster.env, db)
    assert reader.returncode == 0, err[-3000:]
    assert int(out.split()[0]) > 0  # the reader queried the lake while the runs wrote it
    rows = lake_rows(db)
    assert sorted(link for (link,) in rows["links"]) == sorted(pages)  # every page listed once
    assert sorted(url for _, url in rows["articles"]) == sorted(pages)  # and landed once
    assert rows["runs"] == [("1/2", "completed"), ("2/2", "completed")] and rows["pending"] == [(0,)]
    assert refused["type"] == "FAILED" and "shard 3 is not one of 1..2" in refused["message"]
    assert "\n" not in refused["message"]
    assert sorted(worker["name"] for worker in status["workers"]) == ["worker-1", "worker-2"]
    by_shard = {shard["shard"]: shard for shard in status["shards"]}
    assert by_shard["1/2"]["state"] == "completed" and by_shard["2/2"]["state"] == "completed"
    assert sum(shard["pages"] for shard in by_shard.values()) == len(pages)


def test_cluster_status_says_in_one_line_when_the_prefect_api_is_unreachable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    assert main(["cluster", "status", "--db", str(tmp_path / "news.duckdb")]) == 1
    error = capsys.readouterr().err
    assert (
        error.startswith("newsdesk: error: the Prefect API at http://127.0.0.1:") and error.count("\n") == 1
    )


def test_cluster_status_says_in_one_line_when_the_lake_is_unreachable(
    prefect_harness, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    assert main(["cluster", "status", "--db", str(tmp_path / "news.duckdb")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("newsdesk: error: the lake: no warehouse at ") and error.count("\n") == 1


def test_cluster_status_lists_shards_from_the_lake_and_workers_from_the_api(
    prefect_harness, tmp_path, capsys, monkeypatch
):
    from warehouse.db import write_session
    from warehouse.migrate import apply_migrations
    from warehouse.runs import begin_run, finish_run

    db = tmp_path / "news.duckdb"
    with write_session(db) as connection:
        apply_migrations(connection)
        begin_run(connection, "run-a", "ingest", {"shard": "1/2"})
        finish_run(connection, "run-a", "completed", {"pages_fetched": 7}, {"fetch:http_404": 2})
        begin_run(connection, "run-b", "ingest", {"shard": "2/2"})
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    assert main(["cluster", "status", "--db", str(db), "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    by_shard = {shard["shard"]: shard for shard in status["shards"]}
    assert by_shard["1/2"]["state"] == "completed" and by_shard["1/2"]["pages"] == 7
    assert by_shard["1/2"]["failures"] == 2 and by_shard["1/2"]["lag_s"] is not None
    assert by_shard["2/2"]["state"] == "running" and by_shard["2/2"]["lag_s"] is None
    assert isinstance(status["workers"], list)
    assert main(["cluster", "status", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "1/2" in table and "completed" in table


@pytest.mark.slow
def test_a_killed_worker_and_a_stopped_postgresql_leave_what_clean_runs_leave(tmp_path, monkeypatch):
    from bench import faults

    monkeypatch.setenv("NEWSDESK_LAKE_DATA_PATH", str(tmp_path / "unused"))  # measure() sets it; restored after
    try:
        line = faults.measure(faults.parse_args([]), tmp_path)
    except PostgresUnavailable as error:
        pytest.skip(str(error))
    assert line == "faults: worker_kill=ok postgres_stop=ok lost=0 doubled=0"
