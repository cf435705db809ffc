"""`newsdesk server`: command-line flow runs reuse a standing local Prefect server; other commands never start one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from flows.settings.local_server import STATE_FILE, is_healthy, read_recorded
from flows.settings.prefect_runs import TEMPORARY_SERVER_HINT, standing_server_settings
from tests.conftest import REPO
from warehouse.db import open_warehouse

NEWSDESK = Path(sys.executable).parent / "newsdesk"

# Runs one CLI command, then reports which Prefect modules the process imported.
MODULE_PROBE = """
import json, sys
from flows.cli import main
code = main(sys.argv[1:])
loaded = sorted(name for name in sys.modules if name == "prefect" or name.startswith("prefect."))
print("PROBE " + json.dumps({"code": code, "prefect_modules": loaded}))
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli_env(home: Path) -> dict[str, str]:
    """An environment with no Prefect server configured and its own Prefect home."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    return env


def newsdesk(args: list[str], env: dict[str, str], timeout_s: float = 300) -> subprocess.CompletedProcess:
    """Run the installed `newsdesk` command to completion."""
    return subprocess.run([str(NEWSDESK), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout_s)


def run_probed(args: list[str], env: dict[str, str]) -> dict:
    """Run one CLI command in a fresh process; its exit code and the Prefect modules it imported."""
    done = subprocess.run([sys.executable, "-c", MODULE_PROBE, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, f"newsdesk {' '.join(args)} died:\n{done.stderr[-2000:]}"
    return json.loads(lines[-1].removeprefix("PROBE "))


def test_commands_without_orchestration_never_import_prefect(warehouse, tmp_path):
    home = tmp_path / "prefect-home"
    env = cli_env(home)
    db = str(warehouse)
    commands = [
        ["sql", "SELECT count(*) FROM articles", "--db", db, "--format", "json"],
        ["stats", "--db", db],
        ["feeds", "--db", db, "--format", "json"],
        ["snapshot", "--db", db],
        ["search", "election", "--db", db],
        ["export", "--to", str(tmp_path / "export"), "--db", db],
        ["report", "--db", db, "--out", str(tmp_path / "report.html")],
        ["shell", "--db", db, "--", "-c", "SELECT 1"],
        ["migrate", "--from", str(tmp_path / "missing.duckdb"), "--db", db],
    ]
    for command in commands:
        seen = run_probed(command, env)
        assert seen["prefect_modules"] == [], command
        assert seen["code"] in (0, 2), command  # done, or a one-line user error: never a crash
    assert not home.exists()  # no temporary server wrote its database there


def test_without_a_running_server_the_hint_names_the_command(tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    (tmp_path / STATE_FILE).write_text(
        json.dumps({"url": f"http://127.0.0.1:{free_port()}/api", "pid": 1, "log": ""}), encoding="utf-8"
    )  # a record left by a server that is gone: nothing answers there
    settings = temporary_settings(updates={PREFECT_HOME: str(tmp_path)}, restore_defaults={PREFECT_API_URL})
    with settings, standing_server_settings() as url:
        assert url is None
    assert capsys.readouterr().err.strip() == TEMPORARY_SERVER_HINT


@pytest.fixture(scope="module")
def standing_server(tmp_path_factory):
    """`newsdesk server start` on a free port with its own Prefect home; stopped by `newsdesk server stop`."""
    home = tmp_path_factory.mktemp("standing") / "prefect-home"
    env = cli_env(home)
    port = free_port()
    started = newsdesk(["server", "start", "--port", str(port)], env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield env, f"http://127.0.0.1:{port}/api"
    finally:
        newsdesk(["server", "stop"], env, timeout_s=120)


def ingest_flow_runs(api_url: str) -> list[dict]:
    """The flow runs of `ingest` on the server at `api_url`."""
    reply = httpx.post(f"{api_url}/flow_runs/filter", json={"flows": {"name": {"any_": ["ingest"]}}}, timeout=30)
    reply.raise_for_status()
    return reply.json()


@pytest.mark.slow
def test_ingest_from_the_command_line_runs_on_the_standing_server(standing_server, seed_site, tmp_path):
    env, api_url = standing_server
    recorded = read_recorded(Path(env["PREFECT_HOME"]))
    assert recorded is not None and recorded.url == api_url and is_healthy(api_url)
    again = newsdesk(["server", "start", "--port", str(free_port())], env)
    assert again.returncode == 0 and "already running" in again.stdout
    db = tmp_path / "news.duckdb"
    done = newsdesk(["ingest", "--sources", str(seed_site.sources_path), "--db", str(db)], env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert TEMPORARY_SERVER_HINT not in done.stderr
    runs = ingest_flow_runs(api_url)
    assert [run["state"]["type"] for run in runs] == ["COMPLETED"]
    with open_warehouse(db, read_only=True) as connection:
        assert connection.execute("SELECT flow, status FROM runs").fetchall() == [("ingest", "completed")]
        assert connection.execute("SELECT count(*) FROM articles").fetchone()[0] > 0


@pytest.mark.slow
def test_server_stop_ends_the_server_and_forgets_it(tmp_path):
    env = cli_env(tmp_path / "prefect-home")
    port = free_port()
    assert newsdesk(["server", "status"], env).returncode == 1
    started = newsdesk(["server", "start", "--port", str(port)], env)
    assert started.returncode == 0, started.stdout + started.stderr
    status = newsdesk(["server", "status"], env)
    assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
    stopped = newsdesk(["server", "stop"], env, timeout_s=120)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not is_healthy(f"http://127.0.0.1:{port}/api")
    assert not (tmp_path / "prefect-home" / STATE_FILE).exists()
    assert newsdesk(["server", "status"], env).returncode == 1
