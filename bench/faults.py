"""Fault runs (issue 22): a worker killed mid-run and restarted; PostgreSQL stopped for 30 s mid-run.

    .venv/bin/python -m bench.faults            (40 feeds on 8 loopback hosts, 2 workers, ~7.5 minutes)

One PostgreSQL holds the Prefect database and four lake catalogs: `clean` (one clean run per shard, the
reference), `killed` (the worker process killed), `lost` (the worker and its flow run killed: a machine lost) and
`stopped` (PostgreSQL stopped). Each fault starts one run per shard on its own lake and strikes once the lake holds
a batch; the shard's next run follows, and the lake is compared with the clean one as
tests/test_lake_concurrency.py's `stored()` does. Runs send heartbeats every 30 s and an automation marks a run
Crashed after 90 s without one (docs/deploy.md; `--no-automation` leaves a lost run to the slot's lease). Last line:
`faults: worker_kill=ok|FAIL postgres_stop=ok|FAIL lost=L doubled=D` (worker_kill covers both kills).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from bench.cluster import (
    SHARD_DEPLOYMENTS,
    Cluster,
    Postgres,
    create_databases,
    create_run,
    loopback_hosts,
    read_run,
    run_prefect,
    running_cluster,
    running_postgres,
    serving_hosts,
    wait_final,
    wait_for,
)
from bench.scale import publish_sites, write_scale_sources

LAKES = ("clean", "killed", "lost", "stopped")
TERMINAL = ("Completed", "Failed", "Cancelled", "Crashed")
HEARTBEAT_S = 30  # PREFECT_FLOWS_HEARTBEAT_FREQUENCY (its least)
T0 = time.monotonic()


def say(text: str) -> None:
    """Print one line of what happened, with the seconds since the bench started."""
    print(f"[{time.monotonic() - T0:7.1f} s] {text}", flush=True)


def stored(db: str) -> dict[str, list[tuple]]:
    """What a lake holds that must not depend on how its runs went (tests/test_lake_concurrency.py)."""
    from tests.test_lake_concurrency import stored as lake_stored

    return lake_stored(db)


def count_articles(db: str) -> int:
    """Articles the lake holds now (0 while it cannot be read)."""
    from warehouse.db import open_warehouse

    try:
        with open_warehouse(db, read_only=True) as connection:
            return connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    except Exception:  # noqa: BLE001 - not made yet, or PostgreSQL is away: nothing loaded as far as we know
        return 0


def lake_runs(db: str) -> list[tuple]:
    """The lake's `runs` rows: shard, status, and the counts' error (if any)."""
    from warehouse.db import open_warehouse

    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(
            "SELECT params->>'$.shard', status, started_at FROM runs WHERE flow = 'ingest' ORDER BY started_at"
        ).fetchall()


def state_line(api: str, flow_run_id: str) -> str:
    """A flow run's state as `TYPE (name): message`, or why it could not be read."""
    try:
        state = read_run(api, flow_run_id).get("state") or {}
    except httpx.HTTPError as error:
        return f"unreadable ({type(error).__name__})"
    message = state.get("message") or ""
    lines = f" [{message.count(chr(10)) + 1} lines]" if "\n" in message else ""
    return f"{state.get('type')} ({state.get('name')}): {message[:200]}{lines}"


def shard_runs(cluster: Cluster, db: str, sources: Path) -> dict[str, str]:
    """One run per shard deployment on lake `db`; their ids by deployment."""
    return {
        name: create_run(cluster.api, name, {"sources": str(sources), "db": db}) for name in SHARD_DEPLOYMENTS
    }


def wait_mid_run(db: str, runs: dict[str, str], api: str) -> None:
    """Wait until the lake holds a batch while no run has ended yet (else the fault would come too late)."""

    def loaded() -> bool:
        ended = [
            name
            for name, run in runs.items()
            if (read_run(api, run).get("state") or {}).get("type") in ("COMPLETED", "FAILED", "CRASHED")
        ]
        if ended:
            raise RuntimeError(f"{ended} ended before the fault: make the runs longer (--delay)")
        return count_articles(db) > 0

    wait_for(loaded, 600, "a first batch in the lake", interval_s=0.2)


def finish_shards(cluster: Cluster, db: str, sources: Path, runs: dict[str, str], timeout_s: float) -> bool:
    """Wait for the runs; start the next run of each shard whose run did not complete; True once all have."""
    states = wait_final(cluster.api, list(runs.values()), timeout_s)
    for name, run in runs.items():
        say(f"{name}: {state_line(cluster.api, run)}")
    rerun = {
        name: create_run(cluster.api, name, {"sources": str(sources), "db": db})
        for name, run in runs.items()
        if states[run]["type"] != "COMPLETED"
    }
    started = time.monotonic()
    again = wait_final(cluster.api, list(rerun.values()), timeout_s) if rerun else {}
    for name, run in rerun.items():
        say(f"{name} next run: {state_line(cluster.api, run)} ({time.monotonic() - started:.1f} s)")
    return all(state["type"] == "COMPLETED" for state in again.values()) and len(states) == len(runs)


def flow_process(api: str, flow_run_id: str) -> psutil.Process:
    """The process of a running flow run (its infrastructure_pid, `host:pid`)."""
    found = wait_for(lambda: read_run(api, flow_run_id).get("infrastructure_pid"), 120, "the run's pid")
    return psutil.Process(int(str(found).rsplit(":", 1)[-1]))


def alive(process: psutil.Process) -> bool:
    """True while a process runs (not exited, not a zombie waiting to be reaped)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def owner_of(cluster: Cluster, process: psutil.Process) -> str:
    """The name of the worker that started a process."""
    for name, worker in cluster.workers.items():
        if process.pid in {child.pid for child in psutil.Process(worker.pid).children(recursive=True)}:
            return name
    raise RuntimeError(f"no worker started pid {process.pid}")


def last_logs(api: str, flow_run_id: str, count: int = 3) -> list[str]:
    """A flow run's last log lines as its process sent them to the API."""
    reply = httpx.post(
        f"{api}/logs/filter",
        json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "TIMESTAMP_DESC", "limit": count},
        timeout=30,
    )
    reply.raise_for_status()
    return [f"{row['timestamp'][11:19]} {row['message'][:160]!r}" for row in reversed(reply.json())]


def create_zombie_automation(cluster: Cluster, within_s: int) -> None:
    """Prefect's recipe for runs whose process is gone: no heartbeat for `within_s` marks the run Crashed."""
    automation = {
        "name": "crash-zombie-flow-runs",
        "trigger": {
            "type": "event",
            "posture": "Proactive",
            "after": ["prefect.flow-run.heartbeat"],
            "expect": ["prefect.flow-run.heartbeat", *(f"prefect.flow-run.{name}" for name in TERMINAL)],
            "match": {"prefect.resource.id": ["prefect.flow-run.*"]},
            "for_each": ["prefect.resource.id"],
            "threshold": 1,
            "within": within_s,
        },
        "actions": [
            {"type": "change-flow-run-state", "state": "CRASHED", "message": f"no heartbeat for {within_s} s"}
        ],
    }
    run_prefect(["automation", "create", "--from-json", json.dumps(automation)], cluster.env)


def kill_worker_mid_run(
    cluster: Cluster, db: str, sources: Path, args: argparse.Namespace, machine_lost: bool
) -> bool:
    """Kill -9 the worker running shard 1's run (with `machine_lost`, the run's own process too) and restart
    it; start the shard's next run at once, as its schedule would; True once every run of the lake completed."""
    runs = shard_runs(cluster, db, sources)
    victim = runs[SHARD_DEPLOYMENTS[0]]
    wait_mid_run(db, runs, cluster.api)
    process = flow_process(cluster.api, victim)
    worker = owner_of(cluster, process)
    if machine_lost:
        process.kill()
    cluster.kill_worker(worker)
    killed_at = time.monotonic()
    say(
        f"killed {worker}{' and its flow run' if machine_lost else ''} (kill -9) at {count_articles(db)} "
        f"articles; the flow run's process is {'alive' if alive(process) else 'gone'}; restarting {worker}"
    )
    cluster.start_worker(worker)
    following = create_run(cluster.api, SHARD_DEPLOYMENTS[0], {"sources": str(sources), "db": db})
    if machine_lost and args.no_automation:
        say(f"waiting for the slot's lease instead; the killed run is {state_line(cluster.api, victim)}")
    else:
        wait_final(cluster.api, [victim], args.timeout)
        say(
            f"the killed run ended {time.monotonic() - killed_at:.1f} s after the kill: "
            f"{state_line(cluster.api, victim)}"
        )
        say(f"the lake's runs rows: {[(shard, status) for shard, status, _ in lake_runs(db)]}")
        say(f"the killed run's last logs: {last_logs(cluster.api, victim)}")
    say(f"the shard's next run, created at the kill: {state_line(cluster.api, following)}")
    wait_for(
        lambda: (read_run(cluster.api, following).get("state") or {}).get("type") != "SCHEDULED",
        args.timeout,
        "the next run to leave Scheduled",
    )
    say(f"the next run started {time.monotonic() - killed_at:.1f} s after the kill")
    states = wait_final(cluster.api, [following, runs[SHARD_DEPLOYMENTS[1]]], args.timeout)
    say(
        f"next run of {SHARD_DEPLOYMENTS[0]}: {state_line(cluster.api, following)}; "
        f"{SHARD_DEPLOYMENTS[1]}: {states[runs[SHARD_DEPLOYMENTS[1]]]['type']}"
    )
    return all(state["type"] == "COMPLETED" for state in states.values())


def stop_postgres_mid_run(
    cluster: Cluster, postgres: Postgres, db: str, sources: Path, args: argparse.Namespace
) -> bool:
    """Stop PostgreSQL (the Prefect database and the lake catalog) for `--outage` seconds mid-run."""
    runs = shard_runs(cluster, db, sources)
    wait_mid_run(db, runs, cluster.api)
    loaded = count_articles(db)
    postgres.stop()
    say(f"stopped PostgreSQL at {loaded} articles")
    time.sleep(args.outage)
    postgres.start()
    restarted = time.monotonic()
    say(f"started PostgreSQL again after {args.outage:.0f} s")
    wait_final(cluster.api, list(runs.values()), args.timeout)
    say(f"both runs final {time.monotonic() - restarted:.1f} s after PostgreSQL came back")
    completed = finish_shards(cluster, db, sources, runs, args.timeout)
    say(f"the lake's runs rows: {[(shard, status) for shard, status, _ in lake_runs(db)]}")
    for run in runs.values():
        say(f"last logs: {last_logs(cluster.api, run)}")
    return completed


def compare(name: str, db: str, clean: dict, pages: set[str]) -> tuple[bool, int, int]:
    """Compare a lake with the clean one; its lost and doubled articles against the sites' pages."""
    rows = stored(db)
    from warehouse.db import open_warehouse

    with open_warehouse(db, read_only=True) as connection:
        urls = [url for (url,) in connection.execute("SELECT url FROM articles").fetchall()]
    lost, doubled = len(pages - set(urls)), len(urls) - len(set(urls))
    differs = [table for table in clean if rows[table] != clean[table]]
    say(
        f"{name}: {len(urls)} articles, lost {lost}, doubled {doubled}; "
        f"tables differing from the clean run: {differs or 'none'}"
    )
    return not differs and not lost and not doubled, lost, doubled


def run_faults(
    cluster: Cluster, postgres: Postgres, dbs: dict[str, str], sources: Path, args
) -> dict[str, bool]:
    """Clean runs, then each fault on its own lake; whether each fault's runs completed in the end."""
    finish_shards(cluster, dbs["clean"], sources, shard_runs(cluster, dbs["clean"], sources), args.timeout)
    say("fault 1a: kill -9 a worker mid-run, restart it")
    killed = kill_worker_mid_run(cluster, dbs["killed"], sources, args, machine_lost=False)
    say("fault 1b: kill -9 a worker and its flow run mid-run (the machine is lost), restart the worker")
    lost = kill_worker_mid_run(cluster, dbs["lost"], sources, args, machine_lost=True)
    say(f"fault 2: stop PostgreSQL for {args.outage:.0f} s mid-run")
    stopped = stop_postgres_mid_run(cluster, postgres, dbs["stopped"], sources, args)
    return {"killed": killed, "lost": lost, "stopped": stopped}


def measure(args: argparse.Namespace, folder: Path) -> str:
    """Run the clean runs and the faults; return the summary line."""
    data_path = str(folder / "shared" / "lake.files")
    os.environ["NEWSDESK_LAKE_DATA_PATH"] = data_path
    env = {"NEWSDESK_LAKE_DATA_PATH": data_path, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S)}
    with (
        running_postgres(folder / "pgdata") as postgres,
        serving_hosts(loopback_hosts(args.hosts)) as (servers, _),
    ):
        asyncio.run(create_databases(postgres, LAKES))
        feeds, pages = publish_sites(servers, args.feeds, args.items, args.pages_per_host)
        sources = write_scale_sources(folder / "sources.yaml", feeds, args.delay, args.batch_size)
        dbs = {lake: postgres.uri(lake) for lake in LAKES}
        with running_cluster(postgres, folder, args.workers, env) as cluster:
            from warehouse.db import write_session
            from warehouse.migrate import apply_migrations

            for db in dbs.values():
                with write_session(db) as connection:  # each lake made once, before its first runs
                    apply_migrations(connection)
            if not args.no_automation:
                create_zombie_automation(cluster, 3 * HEARTBEAT_S)
            say(
                f"clean runs: {len(feeds)} feeds, {len(pages)} pages, {args.hosts} hosts, {args.workers} workers"
            )
            completed = run_faults(cluster, postgres, dbs, sources, args)
            clean = stored(dbs["clean"])
            checks = {name: (completed[name], *compare(name, dbs[name], clean, pages)) for name in completed}
    verdict = {True: "ok", False: "FAIL"}
    killed = all(done and same for name, (done, same, _, _) in checks.items() if name != "stopped")
    stopped = all(checks["stopped"][:2])
    return (
        f"faults: worker_kill={verdict[killed]} postgres_stop={verdict[stopped]} "
        f"lost={sum(check[2] for check in checks.values())} doubled={sum(check[3] for check in checks.values())}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--pages-per-host", type=int, default=15, help="distinct pages on each host")
    parser.add_argument("--items", type=int, default=3, help="pages listed by each feed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.5, help="per_host_delay_s (makes a run last)")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument(
        "--no-automation", action="store_true", help="no zombie automation (the lease frees the slot)"
    )
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) in /tmp")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the fault bench in a fresh folder under /tmp and print what happened."""
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="newsdesk-faults-"))
    try:
        line = measure(args, folder)
    finally:
        if args.keep:
            say(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(line, flush=True)


if __name__ == "__main__":
    main()
