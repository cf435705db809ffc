"""prefect.yaml: what `newsdesk serve` builds from it, and a real server + worker running the backfill deployment."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from bench.cluster import is_healthy, stop_process, wait_for
from flows.serve import PREFECT_FILE, build_runner_deployments
from warehouse.db import open_warehouse

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPEC = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_prefect_yaml_targets_the_newsdesk_process_pool_with_a_local_pull_step() -> None:
    names = {(d["entrypoint"].split(":")[1], d["name"]) for d in SPEC["deployments"]}
    assert names == {
        ("ingest", "shard-1-of-2"),
        ("ingest", "shard-2-of-2"),
        ("backfill", "on-demand"),
        ("retag", "on-demand"),
        ("maintain", "daily"),
    }
    assert {d["work_pool"]["name"] for d in SPEC["deployments"]} == {"newsdesk"}
    assert list(SPEC["pull"][0]) == ["prefect.deployments.steps.set_working_directory"]
    shards = [d for d in SPEC["deployments"] if d["entrypoint"].endswith(":ingest")]
    assert [(d["name"], d["parameters"]["shard"]) for d in shards] == [
        ("shard-1-of-2", "1/2"),
        ("shard-2-of-2", "2/2"),
    ]
    for ingest in shards:  # one run per shard at a time, every 15 minutes
        assert ingest["concurrency_limit"] == 1
        assert ingest["schedules"] == [{"cron": "*/15 * * * *", "timezone": "UTC"}]


def test_serve_builds_the_schedules_and_parameters_of_prefect_yaml() -> None:
    deployments = {f"{d.flow_name}/{d.name}": d for d in build_runner_deployments()}
    assert set(deployments) == {
        "ingest/shard-1-of-2",
        "ingest/shard-2-of-2",
        "backfill/on-demand",
        "retag/on-demand",
        "maintain/daily",
    }
    for number in (1, 2):
        ingest = deployments[f"ingest/shard-{number}-of-2"]
        assert [(s.schedule.cron, s.schedule.timezone) for s in ingest.schedules] == [("*/15 * * * *", "UTC")]
        assert ingest.concurrency_limit == 1
        assert ingest.parameters == {
            "sources": str(REPO / "seeds" / "sources.yaml"),
            "db": str(REPO / "data" / "news.lake.sqlite"),
            "shard": f"{number}/2",
        }
    deployments = {d.flow_name: d for d in deployments.values()}
    assert not deployments["backfill"].schedules and not deployments["retag"].schedules
    maintain = deployments["maintain"]
    assert [(s.schedule.cron, s.schedule.timezone) for s in maintain.schedules] == [("30 3 * * *", "UTC")]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_env(home: Path, port: int) -> dict[str, str]:
    """The environment of every Prefect process of the test: its own home, server and API URL."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            # No scheduled ingest runs during the test: they would write the repository's data/ folder.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        }
    )
    return env


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path, signals: int) -> Iterator[subprocess.Popen]:
    """Start a long-running Prefect process in its own process group and always stop it."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop_process(process, signals)


def run_cli(args: list[str], env: dict[str, str], timeout_s: float = 180) -> str:
    """Run a prefect CLI command to completion and return its output; fail the test on a non-zero exit."""
    done = subprocess.run(
        [str(BIN / "prefect"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s
    )
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def flow_run_state(api: str, flow_run_id: str) -> str | None:
    """The state type of a flow run once it is final, else None."""
    state = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=10).json().get("state") or {}
    return state.get("type") if state.get("type") in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


@dataclass(frozen=True)
class PoolServer:
    """A real `prefect server start` with the newsdesk pool and the deployments of prefect.yaml."""

    env: dict[str, str]
    api: str
    logs: Path


@pytest.fixture(scope="module")
def pool_server(tmp_path_factory) -> Iterator[PoolServer]:
    """One server per module on a free 127.0.0.1 port, its own PREFECT_HOME, after `prefect deploy --all`."""
    logs = tmp_path_factory.mktemp("pool-server")
    port = free_port()
    env = prefect_env(logs / "prefect-home", port)
    api = env["PREFECT_API_URL"]
    server_command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with started(server_command, env, logs / "server.log", signals=2):
        wait_for(lambda: is_healthy(api), 180, "the Prefect server to start")
        run_cli(["work-pool", "create", "newsdesk", "--type", "process"], env)
        run_cli(["deploy", "--all", "--no-prompt"], env, timeout_s=300)
        yield PoolServer(env=env, api=api, logs=logs)


@pytest.mark.slow
def test_backfill_deployment_runs_on_a_real_server_and_worker(pool_server, tmp_path) -> None:
    env, api = pool_server.env, pool_server.api
    db = tmp_path / "news.duckdb"
    for name in ("ingest/shard-1-of-2", "ingest/shard-2-of-2"):
        ingest = httpx.get(f"{api}/deployments/name/{name}", timeout=10).json()
        assert ingest["global_concurrency_limit"]["limit"] == 1
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in ingest["schedules"]] == [
            ("*/15 * * * *", "UTC")
        ]
        assert ingest["parameters"]["shard"] == name[-6:].replace("-of-", "/")
    worker_command = [str(BIN / "prefect"), "worker", "start", "--pool", "newsdesk"]
    worker_log = tmp_path / "worker.log"
    with started(worker_command, env, worker_log, signals=2):
        output = run_cli(
            [
                "deployment",
                "run",
                "backfill/on-demand",
                "-p",
                "start=2016-05-23",
                "-p",
                "end=2016-05-24",
                "-p",
                f"db={db}",
                "-p",
                f"archive={REPO / 'seeds' / 'archive'}",
            ],
            env,
        )
        flow_run_id = UUID.search(output).group(0)
        final = wait_for(lambda: flow_run_state(api, flow_run_id), 600, "the backfill run to finish", 2)
        assert final == "COMPLETED", worker_log.read_text(errors="replace")[-4000:]
    with open_warehouse(db, read_only=True) as connection:
        urls = {row[0] for row in connection.execute("SELECT url FROM articles").fetchall()}
        runs = connection.execute("SELECT flow, status, params FROM runs ORDER BY started_at").fetchall()
    assert len(urls) == 4 and all("/2016-05-2" in url or "/2016/05/2" in url for url in urls)
    assert [(flow, status) for flow, status, _ in runs] == [
        ("backfill", "completed"),
        ("backfill-day", "completed"),
        ("backfill-day", "completed"),
    ]
    assert json.loads(runs[0][2])["start"] == "2016-05-23"


def pool_deployment_shapes(api: str) -> dict[str, tuple[str | None, int]]:
    """Each prefect.yaml deployment on the server: its work pool and how many pull steps it has."""
    shapes = {}
    for spec in SPEC["deployments"]:
        name = f"{spec['entrypoint'].split(':')[1]}/{spec['name']}"
        found = httpx.get(f"{api}/deployments/name/{name}", timeout=10).json()
        shapes[name] = (found.get("work_pool_name"), len(found.get("pull_steps") or []))
    return shapes


@pytest.mark.slow
def test_serve_refuses_to_overwrite_the_pool_deployments_and_names_them(pool_server, tmp_path) -> None:
    api = pool_server.api
    before = pool_deployment_shapes(api)
    assert set(before.values()) == {("newsdesk", 1)}
    log = tmp_path / "serve.log"
    serve_command = [str(BIN / "newsdesk"), "serve"]
    with started(serve_command, pool_server.env, log, signals=1) as serving:
        # Either serve refuses and exits, or (the old behaviour) it rewrites the deployments: stop at whichever.
        wait_for(
            lambda: serving.poll() is not None or pool_deployment_shapes(api) != before,
            180,
            "serve to exit or to register its deployments",
        )
    output = log.read_text(errors="replace")
    assert pool_deployment_shapes(api) == before, output[-3000:]
    assert serving.returncode == 2, output[-3000:]
    message = output.strip().splitlines()[-1]
    assert message.startswith("newsdesk: error: this Prefect server already has ")
    assert all(name in message for name in before)
    assert "prefect worker start --pool newsdesk" in message


@pytest.mark.slow
def test_serve_registers_deployments_of_other_names_beside_the_pool_ones(pool_server, tmp_path) -> None:
    api = pool_server.api
    before = pool_deployment_shapes(api)
    document = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
    for spec in document["deployments"]:
        spec["name"] = f"served-{spec['name']}"
    served_file = tmp_path / "prefect.yaml"
    served_file.write_text(yaml.safe_dump(document), encoding="utf-8")
    served = "ingest/served-shard-1-of-2"

    def registered() -> dict | None:
        reply = httpx.get(f"{api}/deployments/name/{served}", timeout=10)
        return reply.json() if reply.status_code == 200 else None

    log = tmp_path / "serve.log"
    with started(
        [str(BIN / "newsdesk"), "serve", "--prefect-file", str(served_file)], pool_server.env, log, signals=2
    ) as serving:
        found = wait_for(lambda: registered() or serving.poll() is not None, 180, "serve to register")
        assert isinstance(found, dict), log.read_text(errors="replace")[-3000:]
    assert found["work_pool_name"] is None
    assert [s["schedule"]["cron"] for s in found["schedules"]] == ["*/15 * * * *"]
    assert pool_deployment_shapes(api) == before
