"""`newsdesk cluster status`: workers on the pool (Prefect API), each shard's last run and lag (the lake)."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from flows.cli.app import DbOption, app, print_table

API_TIMEOUT_S = 10.0
cluster_app = typer.Typer(
    help="Several workers on one work pool: what they are doing (docs/deploy.md).", no_args_is_help=True
)
app.add_typer(cluster_app, name="cluster")


class StatusFormat(StrEnum):
    """How `newsdesk cluster status` prints."""

    table = "table"
    json = "json"


class Unreachable(Exception):
    """The Prefect API or the lake did not answer, said in one line."""


def fail(message: str) -> None:
    """Print a one-line error and exit with code 1."""
    print(f"newsdesk: error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def find_api_url(given: str | None) -> str:
    """The Prefect API: --api-url, else PREFECT_API_URL or the Prefect profile, else the local server."""
    if given:
        return given.rstrip("/")
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"].rstrip("/")
    from prefect.settings import get_current_settings

    from flows.settings.local_server import running_server_url

    url = get_current_settings().api.url or running_server_url()
    if not url:
        raise Unreachable(
            "no Prefect API: set PREFECT_API_URL (or --api-url), or run `newsdesk server start`"
        )
    return url.rstrip("/")


def post_api(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    """POST a filter to the Prefect API; None when the object it is under does not exist (404)."""
    reply = client.post(path, json=body)
    if reply.status_code == 404:
        return None
    reply.raise_for_status()
    return reply.json()


def read_workers(client: httpx.Client, pool: str) -> list[dict[str, Any]]:
    """The workers the pool has seen: name, status, last heartbeat (an unknown pool has none)."""
    found = post_api(client, f"/work_pools/{pool}/workers/filter", {"limit": 200}) or []
    return [
        {
            "name": worker["name"],
            "status": worker.get("status"),
            "last_heartbeat": worker.get("last_heartbeat_time"),
        }
        for worker in sorted(found, key=lambda worker: worker["name"])
    ]


def read_shard_deployments(client: httpx.Client, pool: str) -> dict[str, dict[str, Any]]:
    """Per shard, the pool's ingest deployment for it and the state of its latest flow run."""
    body = {"work_pools": {"name": {"any_": [pool]}}, "limit": 200}
    shards: dict[str, dict[str, Any]] = {}
    for deployment in post_api(client, "/deployments/filter", body) or []:
        shard = (deployment.get("parameters") or {}).get("shard")
        if not shard:
            continue
        latest_run = {
            "deployments": {"id": {"any_": [deployment["id"]]}},
            "sort": "EXPECTED_START_TIME_DESC",
            "limit": 1,
        }
        runs = post_api(client, "/flow_runs/filter", latest_run) or []
        latest = runs[0] if runs else {}
        shards[str(shard)] = {
            "deployment": deployment["name"],
            "prefect_state": latest.get("state_name"),
            "prefect_start": latest.get("start_time") or latest.get("expected_start_time"),
        }
    return shards


def read_prefect(api: str, pool: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Workers and shard deployments from the Prefect API; Unreachable in one line when it does not answer."""
    try:
        with httpx.Client(base_url=api, timeout=API_TIMEOUT_S) as client:
            return read_workers(client, pool), read_shard_deployments(client, pool)
    except httpx.HTTPError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise Unreachable(f"the Prefect API at {api} does not answer: {reason}") from error


def read_lake(db: Path) -> list[Any]:
    """Each shard's latest run from the lake; Unreachable in one line when it cannot be read."""
    from warehouse.cluster import read_shard_runs
    from warehouse.db import DatabaseError
    from warehouse.lake import LakeSettingError

    try:
        return read_shard_runs(str(db))
    except (OSError, DatabaseError, LakeSettingError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise Unreachable(f"the lake: {reason}") from error


def shard_order(shard: str) -> tuple[int, ...]:
    """Sort key of `K/N`: by N, then K (text that is not K/N sorts last)."""
    number, _, count = shard.partition("/")
    return (int(count), int(number)) if number.isdigit() and count.isdigit() else (1 << 30, 0)


def merge_shards(lake_runs: list[Any], deployments: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per shard seen by the lake or the pool: last run, its duration, pages, failures, and lag."""
    now = datetime.now(UTC).replace(tzinfo=None)
    by_shard = {run.shard: run for run in lake_runs}
    rows = []
    for shard in sorted(set(by_shard) | set(deployments), key=shard_order):
        run, deployment = by_shard.get(shard), deployments.get(shard, {})
        ended = run and run.finished_at
        rows.append(
            {
                "shard": shard,
                "deployment": deployment.get("deployment"),
                "state": run.status if run else None,
                "started_at": run.started_at.isoformat(timespec="seconds") if run else None,
                "duration_s": round((run.finished_at - run.started_at).total_seconds(), 1) if ended else None,
                "pages": run.pages if run else None,
                "failures": run.failures if run else None,
                "lag_s": round((now - run.completed_at).total_seconds())
                if run and run.completed_at
                else None,
                "prefect_state": deployment.get("prefect_state"),
            }
        )
    return rows


def print_status(api: str, pool: str, workers: list[dict[str, Any]], shards: list[dict[str, Any]]) -> None:
    """Print the workers and the shards as two tables."""
    table = Table(title=f"workers on pool {pool} ({api})", show_header=True)
    for column in ("name", "status", "last_heartbeat"):
        table.add_column(column)
    for worker in workers:
        table.add_row(*(str(worker[key] or "") for key in ("name", "status", "last_heartbeat")))
    print_table(table)
    table = Table(title="shards (lag: now - end of the last completed run)", show_header=True)
    columns = (
        "shard",
        "deployment",
        "state",
        "started_at",
        "duration_s",
        "pages",
        "failures",
        "lag_s",
        "prefect_state",
    )
    for column in columns:
        table.add_column(column)
    for shard in shards:
        table.add_row(*("" if shard[key] is None else str(shard[key]) for key in columns))
    print_table(table)


@cluster_app.command("status")
def cluster_status(
    db: DbOption = Path("data/news.lake.sqlite"),
    pool: Annotated[str, typer.Option("--pool", help="The work pool the workers poll.")] = "newsdesk",
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="The Prefect API (default: PREFECT_API_URL).")
    ] = None,
    output: Annotated[StatusFormat, typer.Option("--format", help="table or json.")] = StatusFormat.table,
) -> None:
    """Workers seen on the pool, and each shard's last run (state, start, duration, pages, failures, lag)."""
    try:
        api = find_api_url(api_url)
        workers, deployments = read_prefect(api, pool)
        shards = merge_shards(read_lake(db), deployments)
    except Unreachable as error:
        fail(str(error))
        return
    if output is StatusFormat.json:
        sys.stdout.write(json.dumps({"api": api, "pool": pool, "workers": workers, "shards": shards}) + "\n")
    else:
        print_status(api, pool, workers, shards)
